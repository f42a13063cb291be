"""Shared pieces of the demo server's formats: the parsed request, the
deterministic token plan, and the reply (plain body or list of stream events).

Token rules (so tests can predict every number):
  prompt tokens     = whitespace-separated words in every string under the
                      body's text keys (messages, content, text, parts,
                      prompt, input, system, contents, instructions)
  visible tokens    = the request's max-tokens field (per format) or 8
  reasoning tokens  = header x-mock-reasoning (0 when absent)
  cached tokens     = header x-mock-cached; cache creation: x-mock-cache-creation
  total             = header x-mock-total, else prompt + completion
"""
import itertools
import json
import re
import time

DEFAULT_TOKENS = 8
MAX_TOKENS_CAP = 4096
TEXT_KEYS = {"messages", "content", "text", "parts", "prompt", "input",
             "system", "contents", "instructions", "systemInstruction"}
WORDS = ("The quick brown fox jumps over the lazy dog while a mock model "
         "streams exact tokens for tokenring to count").split()
_ids = itertools.count(1)

# status -> (OpenAI error type, short message)
ERRORS = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "Incorrect API key provided"),
    403: ("permission_error", "Permission denied"),
    404: ("not_found_error", "The model does not exist"),
    405: ("invalid_request_error", "Method not allowed"),
    408: ("timeout_error", "Request timed out"),
    429: ("rate_limit_error", "Rate limit reached, retry later"),
    500: ("server_error", "The server had an error processing the request"),
    502: ("server_error", "Bad gateway"),
    503: ("overloaded_error", "The engine is currently overloaded"),
    529: ("overloaded_error", "Overloaded"),
}


def error_info(status):
    return ERRORS.get(status, ("api_error", "Mock error %d" % status))


def next_id(prefix):
    return "%s%06d" % (prefix, next(_ids))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def count_words(value):
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(v) for v in value)
    if isinstance(value, dict):
        return sum(count_words(v) for k, v in value.items() if k in TEXT_KEYS)
    return 0


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _number(value):
    """int, else float (for milliseconds), else None."""
    n = _int(value)
    if n is None:
        try:
            n = float(value)
        except (TypeError, ValueError):
            return None
    return n


def dig(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


class Req:
    """A parsed request: what the formats need to answer it."""

    def __init__(self, method, path, query, headers, raw, default_model):
        self.method, self.path, self.query = method, path, query
        self.headers = headers  # lower-cased names
        self.raw = raw
        self.body, self.bad_json = None, False
        if raw:
            try:
                self.body = json.loads(raw)
            except ValueError:
                self.bad_json = True
        if not isinstance(self.body, dict):
            self.body = {} if self.body is None else {"input": self.body}
        self.model = self.body.get("model") if isinstance(self.body.get("model"), str) else None
        self.default_model = default_model
        self.stream = self.body.get("stream") is True

    def mock(self, name):
        return _number(self.headers.get("x-mock-" + name))

    @property
    def model_or_default(self):
        return self.model or self.default_model

    @property
    def response_model(self):
        return self.headers.get("x-mock-response-model") or self.model_or_default

    def trigger_status(self):
        """The error status asked for by header x-mock-status or model error-NNN."""
        status = self.mock("status")
        if status is None and self.model:
            m = re.fullmatch(r"error-(\d{3})", self.model)
            status = int(m.group(1)) if m else None
        if status is None and self.bad_json:
            status = 400
        return status if status and status != 200 else None

    def plan(self, max_tokens):
        """Token numbers for this request; max_tokens: the format's field value."""
        visible = _int(max_tokens)
        visible = DEFAULT_TOKENS if visible is None else max(0, min(visible, MAX_TOKENS_CAP))
        return Plan(count_words({k: v for k, v in self.body.items() if k in TEXT_KEYS}),
                    visible, self.mock("reasoning"), self.mock("cached"),
                    self.mock("cache-creation"), self.mock("total"),
                    self.headers.get("x-mock-no-usage") not in (None, "", "0"))


class Plan:
    def __init__(self, prompt, visible, reasoning, cached, cache_creation, total, no_usage):
        self.prompt, self.visible = prompt, visible
        self.reasoning, self.cached, self.cache_creation = reasoning, cached, cache_creation
        self.completion = visible + (reasoning or 0)
        self.total = total if total is not None else self.prompt + self.completion
        self.no_usage = no_usage

    def tokens(self):
        """The visible completion, one word (with its trailing space) per token."""
        n = self.visible
        return [WORDS[i % len(WORDS)] + (" " if i < n - 1 else "") for i in range(n)]

    def text(self):
        return "".join(self.tokens())


class Event:
    """One stream chunk: its bytes, the usage numbers it carries, whether it
    carries generated content."""
    __slots__ = ("data", "usage", "content", "error")

    def __init__(self, data, usage=None, content=False, error=None):
        self.data, self.usage, self.content, self.error = data, usage, content, error


class Reply:
    def __init__(self, status=200, ctype="application/json", body=None, usage=None,
                 events=None, headers=None, model=None, fmt=""):
        self.status, self.ctype, self.body = status, ctype, body
        self.usage = usage or {}
        self.events = events  # list of Event for streams, else None
        self.headers = list(headers or [])
        self.model, self.fmt = model, fmt


def json_reply(obj, usage=None, status=200):
    return Reply(status=status, body=dumps(obj).encode(), usage=usage)


def sse(obj, event=None, eol="\n"):
    head = "event: %s%s" % (event, eol) if event else ""
    payload = obj if isinstance(obj, str) else dumps(obj)
    return (head + "data: " + payload + eol + eol).encode()


def usage_log(prompt=None, completion=None, total=None, cached=None,
              cache_creation=None, reasoning=None):
    """The log's usage fields, keeping only those put in the response."""
    d = dict(prompt=prompt, completion=completion, total=total, cached=cached,
             cache_creation=cache_creation, reasoning=reasoning)
    return {k: v for k, v in d.items() if v is not None}


def now():
    return int(time.time())
