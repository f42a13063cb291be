#!/usr/bin/python3
"""tokenring demo/test LLM server: OpenAI, DashScope, Anthropic, Ollama and
Gemini formats with exact, deterministic token numbers (see
formats/common.py), error and abort triggers, and a JSON log of exactly what
it sent. Python standard library only.

Usage: llm_server.py [--host H] [--port N] [--log FILE] [--latency-ms MS]
                     [--token-delay-ms MS] [--default-model NAME]
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formats import dispatch  # noqa: E402
from formats.common import Req  # noqa: E402

ABORT_MODES = ("reset", "hang", "exit")


class Sent:
    """What one exchange put on the wire, for the log."""

    def __init__(self):
        self.usage, self.content_chunks, self.events = {}, 0, 0
        self.body_bytes, self.wire_bytes = 0, 0
        self.aborted, self.client_gone, self.stream_error = None, False, None
        self.t0 = time.monotonic()
        self.ttfb = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tokenring-mock/0.1"

    def log_message(self, *args):  # quiet: the --log file says what happened
        pass

    def setup(self):
        super().setup()  # as real servers do: no Nagle delay on small writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.serve()

    do_POST = do_HEAD = do_OPTIONS = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def serve(self):
        cfg = self.server.cfg
        sent = Sent()
        raw = self.read_body()
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Req(self.command, url.path, parse_qs(url.query), headers, raw, cfg.default_model)
        reply = dispatch(req)
        delay = req.mock("latency-ms")
        delay = cfg.latency_ms if delay is None else delay
        if delay > 0:
            time.sleep(delay / 1000.0)
        try:
            self.send_reply(req, reply, sent)
        except (BrokenPipeError, ConnectionResetError):
            sent.client_gone = True
            self.close_connection = True
        self.server.log(req, reply, sent, len(raw))
        if sent.aborted == "exit":
            os._exit(0)

    def _write(self, sent, data, body_len):
        self.wfile.write(data)
        sent.wire_bytes += len(data)
        sent.body_bytes += body_len

    def _abort(self, req, sent, where):
        """x-mock-abort-mode: close (FIN, default), reset (RST), hang (send
        nothing more for x-mock-hang-ms, default 10000, then close), exit (the
        server process exits, after logging)."""
        mode = req.headers.get("x-mock-abort-mode", "close").lower()
        sent.aborted = where if mode not in ABORT_MODES else mode
        self.close_connection = True
        if mode == "hang":
            hang = req.mock("hang-ms")
            time.sleep((10000 if hang is None else hang) / 1000.0)
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def send_reply(self, req, reply, sent):
        status = reply.status
        no_body = status in (204, 304) or status < 200
        self.send_response(status)
        if not no_body:
            self.send_header("Content-Type", reply.ctype)
        for name, value in reply.headers:
            self.send_header(name, value)
        if "x-request-id" in req.headers:
            self.send_header("x-request-id", req.headers["x-request-id"])
        abort_after = req.mock("abort-after")
        abort_after = None if abort_after is None else int(abort_after)
        if reply.events is None:
            body = b"" if no_body else (reply.body or b"")
            if not no_body:
                self.send_header("Content-Length", str(len(body)))
            if self.command == "HEAD" or no_body:
                return self._end_headers(sent)
            sent.usage = dict(reply.usage)
            cut = abort_after is not None and abort_after < len(body)
            self._end_headers(sent, body[:abort_after] if cut else body)
            return self._abort(req, sent, "body") if cut else None
        chunked = self.request_version != "HTTP/1.0"
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._end_headers(sent)
        if self.command == "HEAD":
            return
        token_delay = req.mock("token-delay-ms")
        token_delay = self.server.cfg.token_delay_ms if token_delay is None else token_delay
        for i, ev in enumerate(reply.events):
            if abort_after is not None and i >= abort_after:
                return self._abort(req, sent, "stream")
            if i and token_delay > 0:
                time.sleep(token_delay / 1000.0)
            frame = b"%x\r\n%s\r\n" % (len(ev.data), ev.data) if chunked else ev.data
            self._write(sent, frame, len(ev.data))
            sent.events += 1
            sent.content_chunks += ev.content
            if ev.usage:
                sent.usage.update(ev.usage)
            sent.stream_error = ev.error or sent.stream_error
        if chunked:
            self._write(sent, b"0\r\n\r\n", 0)

    def _end_headers(self, sent, body=b""):
        """Send the head, and a plain body with it in one write (as servers do)."""
        head = b"".join(self._headers_buffer) + b"\r\n"
        self._headers_buffer = []
        self._write(sent, head + body, len(body))
        sent.ttfb = time.monotonic()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, cfg):
        self.cfg = cfg
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.log_lock = threading.Lock()
        self.log_file = None
        if cfg.log == "-":
            self.log_file = sys.stdout
        elif cfg.log:
            self.log_file = open(cfg.log, "a", buffering=1)
        super().__init__(addr, Handler)

    def log(self, req, reply, sent, request_bytes):
        if not self.log_file:
            return
        u = sent.usage
        line = {
            "ts": round(time.time(), 6), "method": req.method, "path": req.path,
            "status": reply.status, "format": reply.fmt, "model": req.model,
            "response_model": reply.model, "stream": reply.events is not None,
            "prompt_tokens": u.get("prompt"), "completion_tokens": u.get("completion"),
            "total_tokens": u.get("total"), "cached_tokens": u.get("cached"),
            "cache_creation_tokens": u.get("cache_creation"),
            "reasoning_tokens": u.get("reasoning"),
            "content_chunks": sent.content_chunks, "events": sent.events,
            "body_bytes": sent.body_bytes, "wire_bytes": sent.wire_bytes,
            "request_bytes": request_bytes, "request_id": req.headers.get("x-request-id"),
            "aborted": sent.aborted, "client_gone": sent.client_gone,
            "stream_error": sent.stream_error,
            "ttfb_ms": round((sent.ttfb - sent.t0) * 1000, 3) if sent.ttfb else None,
            "duration_ms": round((time.monotonic() - sent.t0) * 1000, 3),
        }
        with self.log_lock:
            self.log_file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.log_file.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0: pick a free port")
    ap.add_argument("--log", help="append one JSON line per exchange to FILE (-: stdout)")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="time before the first byte")
    ap.add_argument("--token-delay-ms", type=float, default=0.0, help="time between stream chunks")
    ap.add_argument("--default-model", default="mock-default",
                    help="model answered when the request names none")
    cfg = ap.parse_args(argv)
    server = Server((cfg.host, cfg.port), cfg)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
