#!/usr/bin/python3
"""gz_server.py - an LLM server that compresses as the providers do, for the
compressed-body tests: the reply (OpenAI, Anthropic, Ollama, ... shapes and
exact token numbers from demo/formats) is compressed when the client accepts
it: a JSON body whole, an SSE or NDJSON stream event by event with a flush
after each (gzip/deflate sync flush, brotli flush, zstd block flush), sent
chunked. Compressed request bodies are decoded before dispatch.

Coding: the first of br, gzip, zstd, deflate the client's Accept-Encoding
names (providers prefer br), or the one the x-test-encoding header forces
(gzip, x-gzip, deflate, deflate-raw, br, zstd, identity).
Faults (x-test-fault): bomb (a JSON body that decodes to 64 MiB of spaces
before the JSON), corrupt (gzip only: an invalid first deflate block), cut
(a stream closed after half its events).

Usage: gz_server.py [--port N] [--log FILE] [--tls CERT KEY]
One JSON line per exchange in the log: what was put on the wire.
"""
import argparse
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import brotli
import zstandard

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "demo"))
from formats import dispatch  # noqa: E402
from formats.common import Req  # noqa: E402
from llm_server import Handler as DemoHandler  # noqa: E402

PREFERENCE = ("br", "gzip", "zstd", "deflate")
BOMB_BYTES = 64 << 20


class Coder:
    """One response body's compressor: feed() returns bytes to send now
    (flushed, so the client can decode them at once), end() the rest."""

    def __init__(self, coding):
        self.coding = coding
        if coding in ("gzip", "x-gzip"):
            self.c = zlib.compressobj(6, zlib.DEFLATED, 31)
        elif coding == "deflate":
            self.c = zlib.compressobj(6, zlib.DEFLATED, 15)
        elif coding == "deflate-raw":
            self.c = zlib.compressobj(6, zlib.DEFLATED, -15)
        elif coding == "br":
            self.c = brotli.Compressor()
        elif coding == "zstd":
            self.c = zstandard.ZstdCompressor().compressobj()
        else:
            self.c = None

    def feed(self, data):
        if self.c is None:
            return data
        if self.coding == "br":
            return self.c.process(data) + self.c.flush()
        if self.coding == "zstd":
            return self.c.compress(data) + self.c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)

    def end(self):
        if self.c is None:
            return b""
        return self.c.finish() if self.coding == "br" else self.c.flush()

    def whole(self, data):
        if self.c is None:
            return data
        if self.coding == "br":
            return brotli.compress(data)
        return self.c.compress(data) + self.end()


def decode_request(coding, raw):
    coding = coding.strip().lower()
    if coding in ("gzip", "x-gzip"):
        return gzip.decompress(raw)
    if coding == "deflate":
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return zlib.decompress(raw, -15)
    if coding == "br":
        return brotli.decompress(raw)
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return raw


def choose(headers):
    forced = headers.get("x-test-encoding")
    if forced:
        return None if forced == "identity" else forced
    accepted = [a.split(";")[0].strip().lower()
                for a in headers.get("accept-encoding", "").split(",")]
    for c in PREFERENCE:
        if c in accepted:
            return c
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        if isinstance(self.connection, socket.socket):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    read_body = DemoHandler.read_body  # Content-Length or chunked, as the demo server

    def do_POST(self):
        raw = self.read_body()
        req_coding = self.headers.get("Content-Encoding", "identity")
        body = decode_request(req_coding, raw)
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Req("POST", url.path, parse_qs(url.query), headers, body, "gz-default")
        reply = dispatch(req)
        coding = choose(headers) if reply.status == 200 else None
        fault = headers.get("x-test-fault")
        log = {"request_id": headers.get("x-request-id"), "path": url.path,
               "model": req.model, "response_model": reply.model,
               "request_coding": req_coding, "coding": coding or "identity",
               "accept_encoding": headers.get("accept-encoding"),
               "fault": fault, "stream": reply.events is not None,
               "content_chunks": 0, "events": 0, "usage": {}, "compressed_bytes": 0}
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.ctype)
        wire = "deflate" if coding == "deflate-raw" else coding
        if wire:
            self.send_header("Content-Encoding", wire)
            self.send_header("Vary", "Accept-Encoding")
        if "x-request-id" in headers:
            self.send_header("x-request-id", headers["x-request-id"])
        coder = Coder(coding)
        try:
            if reply.events is None:
                self.send_whole(reply, coder, fault, log)
            else:
                self.send_stream(reply, coder, fault, log)
        except (BrokenPipeError, ConnectionResetError):
            log["client_gone"] = True
            self.close_connection = True
        self.server.log(log)

    def send_whole(self, reply, coder, fault, log):
        data = reply.body or b""
        log["usage"] = dict(reply.usage)
        if fault == "bomb":
            data = b" " * BOMB_BYTES + data  # valid JSON, absurd size, usage at the end
            log["usage"] = {}
        out = coder.whole(data)
        if fault == "corrupt" and self.headers.get("x-test-encoding") == "gzip":
            # the first deflate block says BTYPE 11 (reserved): invalid at once
            out = out[:10] + b"\x07" + out[11:]
            log["usage"] = {}
        log["compressed_bytes"] = len(out)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def send_stream(self, reply, coder, fault, log):
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        events = reply.events
        if fault == "cut":
            events = events[:max(1, len(events) // 2)]
        for ev in events:
            out = coder.feed(ev.data)
            log["compressed_bytes"] += len(out)
            if out:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(out), out))
                self.wfile.flush()
            log["events"] += 1
            log["content_chunks"] += int(bool(ev.content))
            if ev.usage:
                log["usage"].update(ev.usage)
        if fault == "cut":
            self.close_connection = True
            log["usage"] = {}
            return
        tail = coder.end()
        log["compressed_bytes"] += len(tail)
        if tail:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(tail), tail))
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, log_path, tls):
        self.lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        super().__init__(addr, Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self.socket = ctx.wrap_socket(self.socket, server_side=True)

    def log(self, line):
        if self.log_file:
            with self.lock:
                self.log_file.write(json.dumps(line, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), a.log, a.tls)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
