#!/usr/bin/env python3
"""Records exchanges with demo/llm_server.py (an independent implementation
of the provider formats) into corpus cases named demo_*: the request bytes we
send, the response bytes it sends, and NAME.expect built from the server's
own log line (the numbers it put on the wire, its count of content chunks).
So the corpus test checks the parser against a second writer of each format.
Re-run after the demo server changes; the output is committed."""
import json, os, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

# name, path, body, extra headers, provider, operation, openai_style
SPECS = [
    ("demo_chat", "/v1/chat/completions", {"model": "gpt-4o", "messages": [{"role": "user", "content": "one two three"}]},
     {"x-mock-cached": "3", "x-mock-reasoning": "2"}, "openai", "chat", True),
    ("demo_chat_stream_usage", "/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True,
     "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 5},
     {}, "openai", "chat", True),
    ("demo_chat_stream_nousage", "/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True,
     "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 4}, {}, "openai", "chat", True),
    ("demo_completions_stream", "/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "say a b c",
     "stream": True, "stream_options": {"include_usage": True}, "max_tokens": 3}, {}, "openai", "text_completion", True),
    ("demo_embeddings", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "the food was good"},
     {}, "openai", "embeddings", True),
    ("demo_responses", "/v1/responses", {"model": "o4-mini", "input": "tell a story", "max_output_tokens": 6},
     {"x-mock-reasoning": "4", "x-mock-cached": "1"}, "openai", "responses", True),
    ("demo_responses_stream", "/v1/responses", {"model": "o4-mini", "input": "tell a story", "stream": True,
     "max_output_tokens": 3}, {}, "openai", "responses", True),
    ("demo_dashscope_compat_stream", "/compatible-mode/v1/chat/completions", {"model": "qwen-plus", "stream": True,
     "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "ni hao"}], "max_tokens": 4},
     {}, "dashscope", "chat", True),
    ("demo_dashscope_native", "/api/v1/services/aigc/text-generation/generation", {"model": "qwen-turbo",
     "input": {"messages": [{"role": "user", "content": "hello"}]}, "parameters": {"max_tokens": 5}},
     {}, "dashscope", "chat", False),
    ("demo_dashscope_native_stream", "/api/v1/services/aigc/text-generation/generation", {"model": "qwen-turbo",
     "input": {"messages": [{"role": "user", "content": "hello"}]}, "parameters": {"max_tokens": 4, "incremental_output": True}},
     {"X-DashScope-SSE": "enable"}, "dashscope", "chat", False),
    ("demo_anthropic", "/v1/messages", {"model": "claude-sonnet-4-20250514", "max_tokens": 7,
     "messages": [{"role": "user", "content": "hello claude"}]},
     {"x-mock-cached": "5", "x-mock-cache-creation": "9", "anthropic-version": "2023-06-01"}, "anthropic", "chat", False),
    ("demo_anthropic_stream", "/v1/messages", {"model": "claude-3-5-haiku-latest", "max_tokens": 4, "stream": True,
     "messages": [{"role": "user", "content": "hello"}]}, {}, "anthropic", "chat", False),
    ("demo_ollama_chat_stream", "/api/chat", {"model": "llama3.2", "messages": [{"role": "user", "content": "why blue"}],
     "options": {"num_predict": 4}}, {}, "ollama", "chat", False),
    ("demo_ollama_generate", "/api/generate", {"model": "llama3.2", "prompt": "why is it", "stream": False,
     "options": {"num_predict": 6}}, {}, "ollama", "text_completion", False),
    ("demo_gemini", "/v1beta/models/gemini-2.5-flash:generateContent", {"contents": [{"parts": [{"text": "explain ai"}]}],
     "generationConfig": {"maxOutputTokens": 5}}, {"x-mock-reasoning": "7", "x-mock-cached": "2"}, "gemini", "generate_content", False),
    ("demo_gemini_stream_sse", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
     {"contents": [{"parts": [{"text": "write"}]}], "generationConfig": {"maxOutputTokens": 3}}, {}, "gemini", "generate_content", False),
    ("demo_gemini_stream_array", "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
     {"contents": [{"parts": [{"text": "write"}]}], "generationConfig": {"maxOutputTokens": 3}}, {}, "gemini", "generate_content", False),
    ("demo_gateway", "/openai", {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "a b"}]},
     {"x-mock-total": "99"}, "openai", "chat", True),
    ("demo_error_429", "/v1/chat/completions", {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]},
     {"x-mock-status": "429"}, "openai", "chat", True),
    ("demo_no_usage", "/v1/messages", {"model": "claude-3-5-haiku-latest", "max_tokens": 2,
     "messages": [{"role": "user", "content": "x"}]}, {"x-mock-no-usage": "1"}, "anthropic", "chat", False),
    # closed mid-stream by the server: interrupted, emitted at close
    ("demo_chat_stream_aborted", "/v1/chat/completions", {"model": "gpt-4o", "stream": True,
     "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "x"}], "max_tokens": 6},
     {"x-mock-abort-after": "3"}, "openai", "chat", True, {"abort": True}),
    ("demo_ollama_stream_aborted", "/api/chat", {"model": "llama3.2", "messages": [{"role": "user", "content": "x"}],
     "options": {"num_predict": 5}}, {"x-mock-abort-after": "2"}, "ollama", "chat", False, {"abort": True}),
    # an HTTP/1.0 client gets a close-delimited stream: complete at close
    ("demo_anthropic_stream_http10", "/v1/messages", {"model": "claude-3-5-haiku-latest", "max_tokens": 3,
     "stream": True, "messages": [{"role": "user", "content": "hi"}]}, {}, "anthropic", "chat", False,
     {"http10": True}),
]


def request_bytes(i, path, body, headers, opts):
    b = json.dumps(body).encode()
    h = [f"POST {path} HTTP/1.{0 if opts.get('http10') else 1}", "Host: demo", "User-Agent: record-demo/1", f"x-request-id: demo-{i}",
         "Content-Type: application/json", f"Content-Length: {len(b)}", "Connection: close"]
    h += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + b


def exchange(port, data):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def expect(spec, log, i, rs):
    name, path, body, headers, provider, op, openai_style = spec[:7]
    opts = spec[7] if len(spec) > 7 else {}
    stream = bool(log["stream"]) and log["status"] == 200
    tokens = {k: log[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
                                   "cache_creation_tokens", "reasoning_tokens")}
    if opts.get("abort"):
        usage = "interrupted"  # tokens never count when the stream was cut
    elif tokens["prompt_tokens"] is not None or tokens["completion_tokens"] is not None:
        usage = "available"
    elif stream and openai_style and not body.get("stream_options", {}).get("include_usage"):
        usage = "not_requested"
    else:
        usage = "missing"
    e = dict(method="POST", path=path, authority="demo", status=log["status"],
             request_model=log["model"] or "",
             # the server may know a model its body does not carry (DashScope native)
             response_model=(log["response_model"] or "") if b'"model' in rs else "",
             provider=provider, operation=op, usage=usage, request_id=f"demo-{i}",
             user_agent="record-demo/1", flags="LLM,STREAM" if stream else "LLM")
    if opts:
        e["at_close"] = 1  # no framing ends the response: the close does
    if opts.get("abort"):
        e["flags"] += ",CONN_CLOSED"
    if usage == "available":
        for key, field in (("prompt", "prompt_tokens"), ("completion", "completion_tokens"),
                           ("total", "total_tokens"), ("cached", "cached_tokens"),
                           ("cache_creation", "cache_creation_tokens"), ("reasoning", "reasoning_tokens")):
            e[key] = tokens[field] or 0
    if stream:
        e["chunks"] = log["content_chunks"]
    return e


def main():
    log_path = tempfile.mktemp(suffix=".jsonl")
    srv = subprocess.Popen([sys.executable, os.path.join(ROOT, "demo", "llm_server.py"), "--port", "0",
                            "--log", log_path], stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline().split()[-1])
        for i, spec in enumerate(SPECS):
            rq = request_bytes(i, spec[1], spec[2], spec[3], spec[7] if len(spec) > 7 else {})
            rs = exchange(port, rq)
            time.sleep(0.05)
            log = [json.loads(l) for l in open(log_path)][-1]
            assert log["request_id"] == f"demo-{i}", log
            name = spec[0]
            open(os.path.join(HERE, name + ".req"), "wb").write(rq)
            open(os.path.join(HERE, name + ".resp"), "wb").write(rs)
            with open(os.path.join(HERE, name + ".expect"), "w") as f:
                for k, v in expect(spec, log, i, rs).items():
                    f.write(f"{k}={v}\n")
    finally:
        srv.terminate()
        srv.wait()
        os.unlink(log_path)
    print(len(SPECS), "demo cases")


main()
