"""Gemini generateContent / streamGenerateContent (?alt=sse: SSE with CRLF
event boundaries, as Google sends; else one JSON array streamed in pieces).
usageMetadata: candidatesTokenCount excludes thoughtsTokenCount."""
from .common import Event, Reply, dumps, error_info, json_reply, next_id, sse, usage_log

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
          404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def error(req, status):
    obj = {"error": {"code": status, "message": error_info(status)[1],
                     "status": STATUS.get(status, "UNKNOWN")}}
    return json_reply(obj, status=status)


def _usage(plan, visible):
    u = {"promptTokenCount": plan.prompt, "candidatesTokenCount": visible,
         "totalTokenCount": plan.prompt + visible + (plan.reasoning or 0)}
    if plan.cached is not None:
        u["cachedContentTokenCount"] = plan.cached
    if plan.reasoning is not None:
        u["thoughtsTokenCount"] = plan.reasoning
    if visible == plan.visible and plan.total != plan.prompt + plan.completion:
        u["totalTokenCount"] = plan.total  # x-mock-total
    return u, usage_log(plan.prompt, visible, u["totalTokenCount"], plan.cached, None,
                        plan.reasoning)


def generate(req):
    plan = req.plan((req.body.get("generationConfig") or {}).get("maxOutputTokens"))
    rid, model = next_id("mock-resp-"), req.response_model

    def obj(text, visible, finish):
        cand = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            cand["finishReason"] = "STOP"
        o = {"candidates": [cand]}
        logged = None
        if not plan.no_usage:
            o["usageMetadata"], logged = _usage(plan, visible)
        o.update(modelVersion=model, responseId=rid)
        return o, logged
    if not req.stream:
        o, logged = obj(plan.text(), plan.visible, True)
        return json_reply(o, usage=logged)
    tokens = plan.tokens() or [""]
    sse_mode = req.query.get("alt") == ["sse"]
    events = []
    for i, t in enumerate(tokens):
        o, logged = obj(t, min(i + 1, plan.visible), i == len(tokens) - 1)
        if sse_mode:
            data = sse(o, eol="\r\n")
        else:
            data = (("[" if i == 0 else ",\r\n") + dumps(o)).encode()
        events.append(Event(data, logged, content=bool(t)))
    if not sse_mode:
        events.append(Event(b"]"))
    return Reply(ctype="text/event-stream" if sse_mode else "application/json", events=events)


def models(req, names):
    data = [{"name": "models/" + n, "displayName": n, "supportedGenerationMethods":
             ["generateContent", "streamGenerateContent"]} for n in names if "gemini" in n]
    return json_reply({"models": data})
