"""Routing: which format answers a request, and the error triggers
(header x-mock-status: NNN, or model error-NNN; bad JSON is a 400)."""
import re

from . import anthropic, dashscope, gemini, ollama, openai
from .common import Event, Reply, error_info, sse

MODELS = ["gpt-4o-mini", "gpt-4o", "o3-mini", "qwen-turbo", "qwen-plus",
          "claude-3-5-haiku-latest", "llama3.2", "gemini-1.5-flash", "text-embedding-3-small"]
GEMINI = re.compile(r"^/v1(?:beta)?/models/([^/:]+):(generateContent|streamGenerateContent)$")
ALLOW = ("Allow", "GET, HEAD, POST, OPTIONS")
NO_BODY = (204, 205, 304)

# POST path -> (format name, answer, error)
POST = {
    "/v1/chat/completions": ("openai", openai.chat, openai.error),
    "/v1/completions": ("openai", openai.completions, openai.error),
    "/v1/embeddings": ("openai", openai.embeddings, openai.error),
    "/v1/responses": ("openai-responses", openai.responses, openai.error),
    "/compatible-mode/v1/chat/completions": ("dashscope-compatible", openai.chat, openai.error),
    "/compatible-mode/v1/completions": ("dashscope-compatible", openai.completions, openai.error),
    "/compatible-mode/v1/embeddings": ("dashscope-compatible", openai.embeddings, openai.error),
    "/api/v1/services/aigc/text-generation/generation":
        ("dashscope", dashscope.generation, dashscope.error),
    "/v1/messages": ("anthropic", anthropic.messages, anthropic.error),
    "/api/chat": ("ollama", ollama.chat, ollama.error),
    "/api/generate": ("ollama", ollama.generate, ollama.error),
}
GATEWAY = ("gateway", openai.chat, openai.error)
# GET path -> (format name, answer(req, model names))
GET = {
    "/v1/models": ("openai", openai.models),
    "/compatible-mode/v1/models": ("dashscope-compatible", openai.models),
    "/api/tags": ("ollama", ollama.tags),
    "/v1beta/models": ("gemini", gemini.models),
}


def _get(req):
    status = req.trigger_status()
    if status:
        return _named(openai.error(req, status), "none")
    if req.path in GET:
        name, answer = GET[req.path]
        reply = answer(req, MODELS)
        reply.fmt = name
        return reply
    if req.path in ("/", "/healthz"):
        return Reply(ctype="text/plain; charset=utf-8", body=b"ok\n", fmt="health")
    if req.path in POST or GEMINI.match(req.path):
        reply = _named(openai.error(req, 405), "none")
        reply.headers.append(("Allow", "POST, OPTIONS"))
        return reply
    return _named(openai.error(req, 404), "none")


def _route_post(req):
    m = GEMINI.match(req.path)
    if m:
        req.model = req.model or m.group(1)
        req.stream = m.group(2) == "streamGenerateContent"
        return ("gemini", gemini.generate, gemini.error)
    if req.path in POST:
        return POST[req.path]
    if req.raw and not req.bad_json and req.body:
        return GATEWAY  # gateways route by any path: answer OpenAI-format
    return None


def _named(reply, name):
    reply.fmt = name
    return reply


def dispatch(req):
    if req.method in ("GET", "HEAD"):
        return _get(req)
    if req.method == "OPTIONS":
        return Reply(status=204, body=b"", fmt="options", headers=[ALLOW])
    if req.method != "POST":
        reply = _named(openai.error(req, 405), "none")
        reply.headers.append(ALLOW)
        return reply
    route = _route_post(req)
    if route is None:
        return _named(openai.error(req, 404), "none")
    name, answer, err = route
    status = req.trigger_status()
    if status in NO_BODY:
        return Reply(status=status, body=b"", fmt=name)
    if status:
        reply = _named(err(req, status), name)
        if status == 429:
            reply.headers.append(("Retry-After", "1"))
        return reply
    reply = _named(answer(req), name)
    reply.model = req.response_model
    cut = req.mock("stream-error-after")
    if reply.events is not None and cut is not None:
        status = req.mock("stream-error-status") or 500
        reply.events = reply.events[:cut] + [Event(_error_event(name, req, err, status, cut), error=status)]
    return reply


def _error_event(name, req, err, status, cut):
    """A provider-shaped error in the middle of a stream (after `cut` chunks)."""
    body = err(req, status).body.decode()
    if name == "anthropic":
        return sse(body, event="error")
    if name == "openai-responses":
        etype, msg = error_info(status)
        return sse({"type": "error", "code": etype, "message": msg, "param": None}, event="error")
    if name == "ollama":
        return (body + "\n").encode()
    if name == "dashscope":
        return ("id:%d\nevent:error\n:HTTP_STATUS/%d\ndata:%s\n\n" % (cut + 1, status, body)).encode()
    if name == "gemini" and req.query.get("alt") != ["sse"]:
        return (("[" if cut == 0 else ",\r\n") + body + "]").encode()
    return sse(body, eol="\r\n" if name == "gemini" else "\n")
