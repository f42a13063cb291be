#!/usr/bin/python3
"""shim_llm_server.py - a small OpenAI-compatible server for the shim's
integration tests: /v1/chat/completions (plain JSON, or SSE when "stream"
is true, with a usage chunk when stream_options.include_usage), and a
non-LLM GET /health. Every response is logged as one JSON line with what
was sent: models, token counts, content chunks and the exact bytes read
and written on the wire, so tests compare ring records with it.

    shim_llm_server.py --port N [--log FILE] [--bind ADDR]
"""
import argparse
import http.server
import json
import sys
import threading
import time

RESPONSE_MODEL_SUFFIX = "-2024-07-18"
STREAM_WORDS = ["Hello", " from", " the", " test", " server"]
CHUNK_GAP_S = 0.004


class CountingReader:
    def __init__(self, raw):
        self.raw, self.n = raw, 0

    def readline(self, *a):
        b = self.raw.readline(*a)
        self.n += len(b)
        return b

    def read(self, *a):
        b = self.raw.read(*a)
        self.n += len(b)
        return b

    def __getattr__(self, k):
        return getattr(self.raw, k)


class CountingWriter:
    def __init__(self, raw):
        self.raw, self.n = raw, 0

    def write(self, b):
        self.n += len(b)
        return self.raw.write(b)

    def __getattr__(self, k):
        return getattr(self.raw, k)


def prompt_tokens_of(req):
    """Deterministic, request-dependent token count."""
    return 5 + len(json.dumps(req.get("messages", []))) % 40


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shim-test"
    sys_version = ""
    log_lock = threading.Lock()
    log_file = None

    def setup(self):
        super().setup()
        self.rfile = CountingReader(self.rfile)
        self.wfile = CountingWriter(self.wfile)

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        self.rfile.n = self.wfile.n = 0
        self.entry = None
        super().handle_one_request()
        if self.entry is not None:
            self.wfile.flush()
            self.entry["bytes_received"] = self.rfile.n
            self.entry["bytes_sent"] = self.wfile.n
            line = json.dumps(self.entry, sort_keys=True)
            with self.log_lock:
                if self.log_file:
                    self.log_file.write(line + "\n")
                    self.log_file.flush()

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.entry = {"path": self.path, "method": "GET", "status": 200}

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        model = req.get("model", "")
        entry = {
            "path": self.path, "method": "POST", "model": model,
            "response_model": model + RESPONSE_MODEL_SUFFIX,
            "prompt_tokens": prompt_tokens_of(req),
            "request_id": self.headers.get("x-request-id", ""),
            "user_agent": self.headers.get("user-agent", ""),
            "stream": bool(req.get("stream")),
        }
        if not self.path.endswith("/chat/completions"):
            entry["status"] = 404
            self.send_error(404)
            self.entry = entry
            return
        if req.get("stream"):
            self.stream(req, entry)
        else:
            self.plain(req, entry)
        self.entry = entry

    def usage(self, entry, completion):
        entry["completion_tokens"] = completion
        entry["total_tokens"] = entry["prompt_tokens"] + completion
        return {"prompt_tokens": entry["prompt_tokens"], "completion_tokens": completion,
                "total_tokens": entry["total_tokens"]}

    def plain(self, req, entry):
        text = "".join(STREAM_WORDS)
        body = json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
            "model": entry["response_model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": self.usage(entry, len(STREAM_WORDS)),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        entry.update(status=200, chunks=0)

    def chunk(self, data):
        payload = ("data: " + data + "\n\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def stream(self, req, entry):
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                "model": entry["response_model"]}
        events = 0
        for i, word in enumerate(STREAM_WORDS):
            time.sleep(CHUNK_GAP_S)
            delta = {"content": word} if i else {"role": "assistant", "content": word}
            self.chunk(json.dumps(dict(base, choices=[{"index": 0, "delta": delta,
                                                       "finish_reason": None}])))
            events += 1
        self.chunk(json.dumps(dict(base, choices=[{"index": 0, "delta": {},
                                                   "finish_reason": "stop"}])))
        events += 1
        usage = self.usage(entry, len(STREAM_WORDS))
        if include_usage:
            self.chunk(json.dumps(dict(base, choices=[], usage=usage)))
            events += 1
        else:
            for k in ("completion_tokens", "total_tokens"):
                entry.pop(k)
        self.chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        entry.update(status=200, content_chunks=len(STREAM_WORDS), data_events=events,
                     include_usage=include_usage)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--log")
    a = ap.parse_args()
    Handler.log_file = open(a.log, "a") if a.log else None
    srv = http.server.ThreadingHTTPServer((a.bind, a.port), Handler)
    srv.daemon_threads = True
    sys.stdout.write("ready %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
