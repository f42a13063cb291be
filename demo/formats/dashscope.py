"""DashScope native text generation: usage input_tokens / output_tokens;
SSE (header X-DashScope-SSE: enable, or Accept: text/event-stream) with
`id:`, `event:result`, `:HTTP_STATUS/200` and `data:` lines, cumulative
usage in every event, cumulative text unless parameters.incremental_output."""
from .common import Event, Reply, dumps, error_info, json_reply, next_id, usage_log

CODES = {400: "InvalidParameter", 401: "InvalidApiKey", 403: "AccessDenied",
         404: "ModelNotFound", 429: "Throttling.RateLimit", 500: "InternalError",
         503: "ServiceUnavailable"}


def error(req, status):
    obj = {"code": CODES.get(status, "InternalError"), "message": error_info(status)[1],
           "request_id": next_id("mock-req-")}
    return json_reply(obj, status=status)


def is_stream(req):
    return (req.headers.get("x-dashscope-sse", "").lower() == "enable"
            or "text/event-stream" in req.headers.get("accept", ""))


def generation(req):
    params = req.body.get("parameters") or {}
    plan = req.plan(params.get("max_tokens"))
    req.stream = is_stream(req)
    rid = next_id("mock-req-")
    as_message = params.get("result_format") == "message"

    def obj(text, visible, finish):
        if as_message:
            out = {"choices": [{"finish_reason": finish,
                                "message": {"role": "assistant", "content": text}}]}
        else:
            out = {"text": text, "finish_reason": finish}
        o = {"output": out}
        logged = None
        if not plan.no_usage:
            total = plan.total if visible == plan.visible else plan.prompt + visible
            o["usage"] = {"total_tokens": total, "output_tokens": visible,
                          "input_tokens": plan.prompt}
            if plan.cached is not None:
                o["usage"]["prompt_tokens_details"] = {"cached_tokens": plan.cached}
            logged = usage_log(plan.prompt, visible, total, plan.cached)
        o["request_id"] = rid
        return o, logged
    if not req.stream:
        o, logged = obj(plan.text(), plan.visible, "stop")
        return json_reply(o, usage=logged)
    tokens, events = plan.tokens() or [""], []
    for i, t in enumerate(tokens):
        last = i == len(tokens) - 1
        text = t if params.get("incremental_output") else "".join(tokens[:i + 1])
        o, logged = obj(text, min(i + 1, plan.visible), "stop" if last else "null")
        data = "id:%d\nevent:result\n:HTTP_STATUS/200\ndata:%s\n\n" % (i + 1, dumps(o))
        events.append(Event(data.encode(), logged, content=bool(t)))
    return Reply(ctype="text/event-stream;charset=UTF-8", events=events)
