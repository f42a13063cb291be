"""Routing: which format answers a request, and the error triggers."""
import re

from . import openai
from .common import Reply, json_reply

MODELS = ["gpt-4o-mini", "gpt-4o", "o3-mini", "qwen-turbo", "qwen-plus",
          "claude-3-5-haiku-latest", "llama3.2", "gemini-1.5-flash", "text-embedding-3-small"]
GEMINI = re.compile(r"^/v1(?:beta)?/models/([^/:]+):(generateContent|streamGenerateContent)$")

# path -> (format name, answer function, error function)
POST = {
    "/v1/chat/completions": ("openai", openai.chat, openai.error),
    "/v1/completions": ("openai", openai.completions, openai.error),
    "/v1/embeddings": ("openai", openai.embeddings, openai.error),
    "/v1/responses": ("openai-responses", openai.responses, openai.error),
    "/compatible-mode/v1/chat/completions": ("dashscope-compatible", openai.chat, openai.error),
    "/compatible-mode/v1/completions": ("dashscope-compatible", openai.completions, openai.error),
    "/compatible-mode/v1/embeddings": ("dashscope-compatible", openai.embeddings, openai.error),
}
NO_BODY = (204, 205, 304)


def register(path, name, answer, err):
    POST[path] = (name, answer, err)


def _get(req):
    if req.path in ("/v1/models", "/compatible-mode/v1/models"):
        return openai.models(req, MODELS)
    for path, (_, answer, _) in GET.items():
        if req.path == path:
            return answer(req, MODELS)
    if req.path in ("/", "/healthz"):
        return Reply(ctype="text/plain; charset=utf-8", body=b"ok\n", fmt="health")
    return openai.error(req, 404, fmt="none")


GET = {}


def _route_post(req):
    m = GEMINI.match(req.path)
    if m and "gemini" in EXTRA:
        req.model = req.model or m.group(1)
        req.stream = m.group(2) == "streamGenerateContent"
        return EXTRA["gemini"]
    if req.path in POST:
        return POST[req.path]
    if req.raw and not req.bad_json and (req.model or req.body):
        return ("gateway", openai.chat, openai.error)
    return None


EXTRA = {}


def dispatch(req):
    if req.method in ("GET", "HEAD"):
        reply = _get(req)
    elif req.method == "OPTIONS":
        reply = Reply(status=204, body=b"", fmt="options",
                      headers=[("Allow", "GET, HEAD, POST, OPTIONS")])
    elif req.method != "POST":
        reply = openai.error(req, 405, fmt="none")
        reply.headers.append(("Allow", "GET, HEAD, POST, OPTIONS"))
    else:
        route = _route_post(req)
        if route is None:
            return openai.error(req, 404, fmt="none")
        name, answer, err = route
        status = req.trigger_status()
        if status in NO_BODY:
            reply = Reply(status=status, body=b"", fmt=name)
        elif status:
            reply = err(req, status)
            reply.fmt = name
            if status == 429:
                reply.headers.append(("Retry-After", "1"))
        else:
            reply = answer(req)
            reply.fmt = name
            reply.model = req.response_model if reply.model is None else reply.model
    return reply


__all__ = ["dispatch", "register", "MODELS", "json_reply"]
