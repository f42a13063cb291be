#!/usr/bin/env python3
"""fake_providers.py - one local HTTP/1.1 server that answers as the
providers of issue 18 do on the wire, for clients under the shim:

  Bedrock runtime  POST /model/{id}/converse, /converse-stream, /invoke,
                   /invoke-with-response-stream (the streams in AWS's binary
                   event-stream framing: prelude, string headers, payload,
                   both CRC32s; InvokeModel's chunks as base64 of Anthropic's
                   events, the last with amazon-bedrock-invocationMetrics;
                   InvokeModel's counts in X-Amzn-Bedrock-*-Token-Count
                   headers, a mistral.* model's body without usage)
  Vertex AI        POST .../publishers/anthropic/models/{m}:rawPredict,
                   :streamRawPredict (Anthropic's body and SSE events)
  Cohere           POST /v2/chat (JSON, or SSE with stream), /v2/embed

Token counts follow fixed rules the tests recompute: input = words of the
request's text, output = words of the reply. Every answer is logged as a
JSON line (path, input, output, chunks) to --log.
Usage: fake_providers.py --port 0 --log FILE [--tls CERT KEY]
(prints "listening on PORT"; with --tls it serves HTTPS with that pair)
"""
import argparse
import base64
import json
import re
import ssl
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = ["Rot,", "Grün", "und", "Blau."]


def evs_message(headers, payload):
    """One AWS event-stream message with string headers."""
    h = b""
    for name, value in headers:
        v = value.encode()
        h += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(v)) + v
    prelude = struct.pack(">II", len(h) + len(payload) + 16, len(h))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + h + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def evs_event(etype, obj):
    return evs_message([(":event-type", etype), (":content-type", "application/json"),
                        (":message-type", "event")],
                       json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())


def words(o):
    """Words of every "text"/"content" string in a request body."""
    if isinstance(o, dict):
        return sum(words(v) if k not in ("text", "content") or not isinstance(v, str)
                   else len(v.split()) for k, v in o.items())
    if isinstance(o, list):
        return sum(words(v) for v in o)
    return 0


def anthropic_events(model, n_in):
    """Anthropic's stream events for REPLY (as Vertex and Bedrock relay them)."""
    ev = [{"type": "message_start", "message": {"id": "msg_fake_01", "type": "message",
           "role": "assistant", "model": model, "content": [], "stop_reason": None,
           "stop_sequence": None, "usage": {"input_tokens": n_in, "output_tokens": 1}}},
          {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    for i, w in enumerate(REPLY):
        ev.append({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": (" " if i else "") + w}})
    ev += [{"type": "content_block_stop", "index": 0},
           {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(REPLY)}},
           {"type": "message_stop"}]
    return ev


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-providers/1"

    def log_message(self, *a):
        pass

    def log_answer(self, n_in, n_out, chunks):
        with self.server.lock, open(self.server.log, "a") as f:
            f.write(json.dumps({"path": self.path, "request_id": self.headers.get("x-request-id"),
                                "input": n_in, "output": n_out, "chunks": chunks}) + "\n")

    def send_json(self, obj, ctype="application/json", headers=()):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        for name, value in headers:
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_chunked(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        n_in = words(req.get("messages", req.get("texts", [])))
        if isinstance(req.get("prompt"), str):  # Bedrock InvokeModel, Mistral and Llama bodies
            n_in = len(req["prompt"].split())
        m = re.match(r"^/model/([^/]+)/(converse|converse-stream|invoke|invoke-with-response-stream)$",
                     self.path)
        if m:
            return getattr(self, "bedrock_" + m.group(2).replace("-", "_"))(n_in)
        m = re.search(r"/publishers/anthropic/models/([^/:]+):(rawPredict|streamRawPredict)$", self.path)
        if m:
            return self.vertex(m.group(1).replace("@", "-"), n_in, m.group(2) == "streamRawPredict")
        if self.path == "/v2/chat":
            return self.cohere_chat(n_in, req.get("stream", False))
        if self.path == "/v2/embed":
            return self.cohere_embed(req)
        self.send_error(404)

    # --- Bedrock
    def bedrock_converse(self, n_in):
        self.log_answer(n_in, len(REPLY), 0)
        self.send_json({"metrics": {"latencyMs": 12}, "output": {"message": {
            "content": [{"text": " ".join(REPLY)}], "role": "assistant"}}, "stopReason": "end_turn",
            "usage": {"inputTokens": n_in, "outputTokens": len(REPLY),
                      "totalTokens": n_in + len(REPLY)}})

    def bedrock_converse_stream(self, n_in):
        self.start_chunked("application/vnd.amazon.eventstream")
        self.chunk(evs_event("messageStart", {"p": "abcdefgh", "role": "assistant"}))
        for i, w in enumerate(REPLY):
            self.chunk(evs_event("contentBlockDelta", {"contentBlockIndex": 0,
                                                       "delta": {"text": (" " if i else "") + w},
                                                       "p": "abcd"[:i + 1]}))
        self.chunk(evs_event("contentBlockStop", {"contentBlockIndex": 0, "p": "abc"}))
        self.chunk(evs_event("messageStop", {"p": "ab", "stopReason": "end_turn"}))
        self.chunk(evs_event("metadata", {"metrics": {"latencyMs": 21}, "p": "a", "usage": {
            "inputTokens": n_in, "outputTokens": len(REPLY), "totalTokens": n_in + len(REPLY)}}))
        self.end_chunked()
        self.log_answer(n_in, len(REPLY), len(REPLY))

    def bedrock_invoke(self, n_in):
        # Bedrock reports the counts in headers on every InvokeModel answer;
        # Mistral's body carries none of its own
        counts = [("X-Amzn-Bedrock-Input-Token-Count", n_in),
                  ("X-Amzn-Bedrock-Output-Token-Count", len(REPLY))]
        self.log_answer(n_in, len(REPLY), 0)
        if self.path.startswith("/model/mistral."):
            return self.send_json({"outputs": [{"text": " " + " ".join(REPLY), "stop_reason": "stop"}]},
                                  headers=counts)
        self.send_json({"id": "msg_bdrk_01", "type": "message", "role": "assistant",
                        "model": "claude-3-haiku-20240307",
                        "content": [{"type": "text", "text": " ".join(REPLY)}],
                        "stop_reason": "end_turn", "stop_sequence": None,
                        "usage": {"input_tokens": n_in, "output_tokens": len(REPLY)}}, headers=counts)

    def bedrock_invoke_with_response_stream(self, n_in):
        self.start_chunked("application/vnd.amazon.eventstream")
        events = anthropic_events("claude-3-haiku-20240307", n_in)
        events[-1]["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": n_in, "outputTokenCount": len(REPLY),
            "invocationLatency": 30, "firstByteLatency": 10}
        for e in events:
            b64 = base64.b64encode(json.dumps(e, separators=(",", ":")).encode()).decode()
            self.chunk(evs_event("chunk", {"bytes": b64, "p": "abcdef"}))
        self.end_chunked()
        self.log_answer(n_in, len(REPLY), len(REPLY))

    # --- Anthropic on Vertex AI
    def vertex(self, model, n_in, stream):
        if not stream:
            self.log_answer(n_in, len(REPLY), 0)
            return self.send_json({"id": "msg_vrtx_01", "type": "message", "role": "assistant",
                                   "model": model, "content": [{"type": "text", "text": " ".join(REPLY)}],
                                   "stop_reason": "end_turn", "stop_sequence": None,
                                   "usage": {"input_tokens": n_in, "output_tokens": len(REPLY)}})
        self.start_chunked("text/event-stream; charset=utf-8")
        for e in anthropic_events(model, n_in):
            self.chunk(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), json.dumps(
                e, ensure_ascii=False, separators=(",", ":")).encode()))
        self.end_chunked()
        self.log_answer(n_in, len(REPLY), len(REPLY))

    # --- Cohere v2
    def cohere_chat(self, n_in, stream):
        usage = {"billed_units": {"input_tokens": n_in, "output_tokens": len(REPLY)},
                 "tokens": {"input_tokens": n_in + 500, "output_tokens": len(REPLY) + 2}}
        if not stream:
            self.log_answer(n_in, len(REPLY), 0)
            return self.send_json({"id": "c14c80c3", "finish_reason": "COMPLETE", "message": {
                "role": "assistant", "content": [{"type": "text", "text": " ".join(REPLY)}]},
                "usage": usage})
        self.start_chunked("text/event-stream")
        ev = [{"id": "29f14a5a", "type": "message-start", "delta": {"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
              {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}]
        ev += [{"type": "content-delta", "index": 0, "delta": {"message": {"content": {
            "text": (" " if i else "") + w}}}} for i, w in enumerate(REPLY)]
        ev += [{"type": "content-end", "index": 0},
               {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": usage}}]
        for e in ev:
            self.chunk(b"event: %s\ndata: %s\n\n" % (e["type"].encode(), json.dumps(
                e, ensure_ascii=False, separators=(",", ":")).encode()))
        self.end_chunked()
        self.log_answer(n_in, len(REPLY), len(REPLY))

    def cohere_embed(self, req):
        n_in = sum(len(t.split()) for t in req.get("texts", []))
        self.log_answer(n_in, 0, 0)
        self.send_json({"id": "da6e531f", "embeddings": {"float": [[0.01, -0.02]] * len(req["texts"])},
                        "texts": req["texts"], "meta": {"api_version": {"version": "2"},
                        "billed_units": {"input_tokens": n_in}}, "response_type": "embeddings_by_type"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.log = a.log
    srv.lock = threading.Lock()
    print("listening on %d" % srv.server_port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
