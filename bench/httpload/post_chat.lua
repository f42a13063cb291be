-- wrk script: every request is a small OpenAI chat completion POST.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench-model","messages":[{"role":"user","content":"hello there"}]}'
