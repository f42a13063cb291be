"""Ollama /api/chat and /api/generate: NDJSON streams by default,
prompt_eval_count / eval_count on the final done:true object."""
from .common import Event, Reply, dumps, error_info, json_reply, usage_log

CREATED = "2024-01-01T00:00:00.000000Z"


def error(req, status):
    msg = error_info(status)[1]
    if status == 404:
        msg = 'model "%s" not found, try pulling it first' % req.model_or_default
    return json_reply({"error": msg}, status=status)


def _answer(req, key):
    plan = req.plan((req.body.get("options") or {}).get("num_predict"))
    stream = req.body.get("stream") is not False
    model = req.response_model

    def obj(text, done):
        o = {"model": model, "created_at": CREATED}
        o.update({"message": {"role": "assistant", "content": text}} if key == "message"
                 else {"response": text})
        o["done"] = done
        return o
    final = obj("" if stream else plan.text(), True)
    final["done_reason"] = "stop"
    final.update(total_duration=(plan.completion + 1) * 1000000, load_duration=1000000)
    logged = None
    if not plan.no_usage:
        final.update(prompt_eval_count=plan.prompt, prompt_eval_duration=plan.prompt * 100000,
                     eval_count=plan.completion, eval_duration=plan.completion * 1000000)
        logged = usage_log(prompt=plan.prompt, completion=plan.completion)
    if not stream:
        return json_reply(final, usage=logged)
    events = [Event((dumps(obj(t, False)) + "\n").encode(), content=True) for t in plan.tokens()]
    events.append(Event((dumps(final) + "\n").encode(), usage=logged))
    return Reply(ctype="application/x-ndjson", events=events)


def chat(req):
    return _answer(req, "message")


def generate(req):
    return _answer(req, "response")


def tags(req, names):
    models = [{"name": n + ":latest", "model": n + ":latest", "modified_at": CREATED,
               "size": 1000000, "digest": "0" * 64} for n in names]
    return json_reply({"models": models})
