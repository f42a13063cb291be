"""Anthropic messages: input_tokens in message_start, output_tokens in
message_delta; cache_read_input_tokens / cache_creation_input_tokens."""
from .common import Event, Reply, error_info, json_reply, next_id, sse, usage_log

TYPES = {"server_error": "api_error", "timeout_error": "api_error"}


def error(req, status):
    etype, msg = error_info(status)
    obj = {"type": "error", "error": {"type": TYPES.get(etype, etype), "message": msg}}
    return json_reply(obj, status=status)


def messages(req):
    plan = req.plan(req.body.get("max_tokens"))
    cached, creation = plan.cached or 0, plan.cache_creation or 0
    usage = {"input_tokens": plan.prompt, "cache_creation_input_tokens": creation,
             "cache_read_input_tokens": cached, "output_tokens": plan.completion}
    msg = {"id": next_id("msg_mock"), "type": "message", "role": "assistant",
           "model": req.response_model, "content": [{"type": "text", "text": plan.text()}],
           "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}
    logged = usage_log(prompt=plan.prompt, completion=plan.completion, cached=cached,
                       cache_creation=creation)
    if plan.no_usage:
        del msg["usage"]
        logged = None
    if not req.stream:
        return json_reply(msg, usage=logged)
    start = dict(msg, content=[], stop_reason=None)
    first = None
    if not plan.no_usage:  # message_start carries output_tokens 1, as the real API does
        start["usage"] = dict(usage, output_tokens=1)
        first = dict(logged, completion=1)

    def ev(etype, usage_=None, content=False, **fields):
        return Event(sse(dict({"type": etype}, **fields), event=etype), usage_, content)
    events = [ev("message_start", first, message=start),
              ev("content_block_start", index=0, content_block={"type": "text", "text": ""}),
              ev("ping")]
    events += [ev("content_block_delta", None, True, index=0,
                  delta={"type": "text_delta", "text": t}) for t in plan.tokens()]
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    end = {} if plan.no_usage else {"usage": {"output_tokens": plan.completion}}
    events += [ev("content_block_stop", index=0),
               ev("message_delta", None if plan.no_usage else {"completion": plan.completion},
                  delta=delta, **end),
               ev("message_stop")]
    return Reply(ctype="text/event-stream; charset=utf-8", events=events)
