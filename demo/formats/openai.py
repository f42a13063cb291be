"""OpenAI formats: chat completions, completions, embeddings, responses,
models. DashScope compatible-mode and gateway paths answer with these too."""
from .common import (Event, Reply, error_info, json_reply, next_id, now,
                     sse, usage_log)

SSE = "text/event-stream; charset=utf-8"
CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def error(req, status):
    etype, msg = error_info(status)
    obj = {"error": {"message": msg, "type": etype, "param": None, "code": CODES.get(status)}}
    return json_reply(obj, status=status)


def usage(plan):
    u = {"prompt_tokens": plan.prompt, "completion_tokens": plan.completion,
         "total_tokens": plan.total}
    if plan.cached is not None:
        u["prompt_tokens_details"] = {"cached_tokens": plan.cached}
    if plan.reasoning is not None:
        u["completion_tokens_details"] = {"reasoning_tokens": plan.reasoning}
    return u, usage_log(plan.prompt, plan.completion, plan.total, plan.cached,
                        None, plan.reasoning)


def _max_tokens(req):
    b = req.body
    return b.get("max_completion_tokens", b.get("max_tokens"))


def _plain(req, plan, obj):
    u, logged = usage(plan)
    if not plan.no_usage:
        obj["usage"] = u
    return json_reply(obj, usage=None if plan.no_usage else logged)


def _stream(req, plan, base, first, piece, last):
    """OpenAI SSE: first chunk, one chunk per token, last chunk, usage chunk
    only with stream_options.include_usage, then [DONE]."""
    include = (req.body.get("stream_options") or {}).get("include_usage") is True
    include = include and not plan.no_usage

    def chunk(choices, **extra):
        obj = dict(base, choices=choices)
        if include:
            obj["usage"] = None
        obj.update(extra)
        return sse(obj)

    events = [Event(chunk(first))] if first else []
    events += [Event(chunk([piece(t)]), content=True) for t in plan.tokens()]
    events.append(Event(chunk([last])))
    if include:
        u, logged = usage(plan)
        events.append(Event(chunk([], usage=u), usage=logged))
    events.append(Event(sse("[DONE]")))
    return Reply(ctype=SSE, events=events)


def chat(req):
    plan = req.plan(_max_tokens(req))
    base = {"id": next_id("chatcmpl-mock"), "object": "chat.completion", "created": now(),
            "model": req.response_model, "system_fingerprint": "fp_mock"}
    if not req.stream:
        msg = {"role": "assistant", "content": plan.text(), "refusal": None}
        base["choices"] = [{"index": 0, "message": msg, "logprobs": None,
                            "finish_reason": "stop"}]
        return _plain(req, plan, base)
    base["object"] = "chat.completion.chunk"

    def choice(delta, finish=None):
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return _stream(req, plan, base, [choice({"role": "assistant", "content": "", "refusal": None})],
                   lambda t: choice({"content": t}), choice({}, "stop"))


def completions(req):
    plan = req.plan(_max_tokens(req))
    base = {"id": next_id("cmpl-mock"), "object": "text_completion", "created": now(),
            "model": req.response_model, "system_fingerprint": "fp_mock"}

    def choice(text, finish=None):
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
    if not req.stream:
        base["choices"] = [choice(plan.text(), "stop")]
        return _plain(req, plan, base)
    return _stream(req, plan, base, None, choice, choice("", "stop"))


def embeddings(req):
    items = req.body.get("input")
    items = items if isinstance(items, list) and not all(isinstance(i, int) for i in items) else [items]
    plan = req.plan(0)
    dims = req.body.get("dimensions") if isinstance(req.body.get("dimensions"), int) else 8
    data = [{"object": "embedding", "index": i,
             "embedding": [round(((i + 1) * (d + 3) % 17) / 17.0 - 0.5, 6) for d in range(dims)]}
            for i in range(len(items))]
    obj = {"object": "list", "data": data, "model": req.response_model}
    logged = usage_log(prompt=plan.prompt, total=plan.prompt if req.mock("total") is None
                       else plan.total)
    if not plan.no_usage:
        obj["usage"] = {"prompt_tokens": logged["prompt"], "total_tokens": logged["total"]}
    return json_reply(obj, usage=None if plan.no_usage else logged)


def models(req, names):
    data = [{"id": n, "object": "model", "created": 1700000000, "owned_by": "tokenring-mock"}
            for n in names]
    return json_reply({"object": "list", "data": data})


def _responses_usage(plan):
    u = {"input_tokens": plan.prompt,
         "input_tokens_details": {"cached_tokens": plan.cached or 0},
         "output_tokens": plan.completion,
         "output_tokens_details": {"reasoning_tokens": plan.reasoning or 0},
         "total_tokens": plan.total}
    return u, usage_log(plan.prompt, plan.completion, plan.total, plan.cached or 0,
                        None, plan.reasoning or 0)


def responses(req):
    plan = req.plan(req.body.get("max_output_tokens"))
    rid, mid = next_id("resp_mock"), next_id("msg_mock")
    part = {"type": "output_text", "text": plan.text(), "annotations": []}
    item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
            "content": [part]}
    resp = {"id": rid, "object": "response", "created_at": now(), "status": "completed",
            "error": None, "model": req.response_model, "output": [item], "usage": None}
    u, logged = _responses_usage(plan)
    if not plan.no_usage:
        resp["usage"] = u
    logged = None if plan.no_usage else logged
    if not req.stream:
        return json_reply(resp, usage=logged)
    seq = iter(range(1 << 30))

    def ev(etype, content=False, usage_=None, **fields):
        obj = dict({"type": etype, "sequence_number": next(seq)}, **fields)
        return Event(sse(obj, event=etype), usage=usage_, content=content)
    start = dict(resp, status="in_progress", output=[], usage=None)
    empty_item = dict(item, status="in_progress", content=[])
    where = {"item_id": mid, "output_index": 0, "content_index": 0}
    events = [ev("response.created", response=start),
              ev("response.in_progress", response=start),
              ev("response.output_item.added", output_index=0, item=empty_item),
              ev("response.content_part.added", part=dict(part, text=""), **where)]
    events += [ev("response.output_text.delta", True, delta=t, **where) for t in plan.tokens()]
    events += [ev("response.output_text.done", text=part["text"], **where),
               ev("response.content_part.done", part=part, **where),
               ev("response.output_item.done", output_index=0, item=item),
               ev("response.completed", usage_=logged, response=resp)]
    return Reply(ctype=SSE, events=events)

