"""demo/llm_server.py as an HTTP server: provider-shaped errors, aborts (FIN,
RST, hang, exit, client gone), keep-alive, HTTP/1.0, chunked requests,
100-continue, latency. Run: /usr/bin/python3 test_llm_http.py -v (in tests/demo)."""
import http.client
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import tt, _IDS, MSGS, Case, Server, raw  # noqa: E402


def setUpModule():
    Case.srv = Server()


def tearDownModule():
    Case.srv.stop()


class Errors(Case):
    def test_provider_shaped_errors(self):
        cases = [
            ("/v1/chat/completions", {"model": "error-429", "messages": MSGS}, {}, 429,
             {"error": {"message": "Rate limit reached, retry later", "type": "rate_limit_error",
                        "param": None, "code": "rate_limit_exceeded"}}),
            ("/v1/messages", {"model": "claude-3-5-haiku-latest", "messages": MSGS}, {"x-mock-status": "401"}, 401,
             {"type": "error", "error": {"type": "authentication_error", "message": "Incorrect API key provided"}}),
            ("/api/chat", {"model": "error-404", "messages": MSGS}, {}, 404,
             {"error": 'model "error-404" not found, try pulling it first'}),
            ("/v1beta/models/gemini-1.5-flash:generateContent", {"contents": []}, {"x-mock-status": "503"}, 503,
             {"error": {"code": 503, "message": "The engine is currently overloaded", "status": "UNAVAILABLE"}}),
            ("/v1/chat/completions", b"{not json", {}, 400, None),
        ]
        for path, body, hdrs, status, want in cases:
            r, log = self.post(path, body, dict(hdrs, **{"x-mock-cached": "3"}))
            self.assertPlain(r, log, status)
            if want:
                self.assertEqual(r.json(), want)
            self.assertUsageLog(log)
            self.assertLog(log, response_model=None)
            self.assertEqual("retry-after" in r.headers, status == 429)
        r, log = self.post("/api/v1/services/aigc/text-generation/generation", {"model": "error-500"})
        self.assertEqual((r.status, r.json()["code"]), (500, "InternalError"))

    def test_error_mid_stream(self):
        hdrs = {"x-mock-stream-error-after": "2", "x-mock-stream-error-status": "529"}
        for path, body, last in [
                ("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS, "stream": True},
                 b'data: {"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}\n\n'),
                ("/v1/messages", {"model": "claude-3-5-haiku-latest", "messages": MSGS, "stream": True},
                 b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'),
                ("/api/chat", {"model": "llama3.2", "messages": MSGS}, b'{"error":"Overloaded"}\n')]:
            r, log = self.post(path, body, hdrs)
            chunks = self.assertStream(r, log, "")
            self.assertEqual((len(chunks), chunks[-1]), (3, last))
            self.assertLog(log, stream_error=529)

    def test_method_not_allowed_and_unknown_get(self):
        r = raw(self.srv.port, "PUT", "/v1/chat/completions", b"{}")
        self.assertEqual((r.status, r.headers["allow"]), (405, "GET, HEAD, POST, OPTIONS"))
        self.assertEqual(raw(self.srv.port, "GET", "/nope").status, 404)
        r = raw(self.srv.port, "HEAD", "/v1/chat/completions")
        self.assertEqual((r.status, r.headers["allow"], r.body), (405, "POST, OPTIONS", b""))
        self.assertEqual(int(r.headers["content-length"]), len(raw(self.srv.port, "GET", "/v1/messages").body))
        self.assertEqual(raw(self.srv.port, "GET", "/v1/models", headers={"x-mock-status": "503"}).status, 503)


class Abort(Case):
    BODY = {"model": "gpt-4o", "messages": MSGS, "stream": True}

    def test_stream_abort_after_n(self):
        r, log = self.post("/v1/chat/completions", self.BODY, {"x-mock-abort-after": "2"})
        chunks, done = r.chunks()
        self.assertEqual((len(chunks), done, r.reset), (2, False, False))
        self.assertLog(log, aborted="stream", events=2, content_chunks=1, wire_bytes=len(r.data))

    def test_stream_abort_with_reset(self):
        r, log = self.post("/v1/messages", dict(self.BODY, model="claude-3-5-haiku-latest"),
                           {"x-mock-abort-after": "1", "x-mock-abort-mode": "reset"})
        self.assertFalse(r.chunks()[1])
        self.assertLog(log, aborted="reset", events=1, completion_tokens=1, prompt_tokens=6)

    def test_plain_abort_mid_body(self):
        r, log = self.post("/v1/chat/completions", dict(self.BODY, stream=False), {"x-mock-abort-after": "10"})
        self.assertEqual(len(r.body), 10)
        self.assertGreater(int(r.headers["content-length"]), 10)
        self.assertLog(log, aborted="body", body_bytes=10)

    def test_hang_then_close(self):
        rid = "hang-%d" % next(_IDS)
        # Read to the close, however long the machine takes: one event, then
        # nothing until the server gives up (the hang is proven by its log).
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=60)
        body = json.dumps(self.BODY).encode()
        s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nx-request-id: %s\r\nx-mock-abort-after: 1\r\n"
                  b"x-mock-abort-mode: hang\r\nx-mock-hang-ms: 300\r\nContent-Length: %d\r\n\r\n%s"
                  % (rid.encode(), len(body), body))
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got.count(b'"done":false'), 1)
        s.close()
        log = self.srv.log_for(rid)
        self.assertLog(log, aborted="hang", events=1)
        self.assertGreaterEqual(log["duration_ms"], 300)

    def test_server_exit_mid_stream(self):
        own = Server()
        try:
            r = raw(own.port, "POST", "/v1/chat/completions", self.BODY,
                    {"x-mock-abort-after": "3", "x-mock-abort-mode": "exit", "x-request-id": "die"})
            self.assertEqual((len(r.chunks()[0]), r.chunks()[1]), (3, False))
            self.assertEqual(own.proc.wait(5), 0)
            self.assertLog(own.log_for("die"), aborted="exit", events=3, content_chunks=2)
        finally:
            own.stop()

    def test_client_gone_mid_stream(self):
        rid = "gone-%d" % next(_IDS)
        body = json.dumps(dict(self.BODY, max_tokens=50)).encode()
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-request-id: %s\r\n"
                  b"x-mock-token-delay-ms: 20\r\nContent-Length: %d\r\n\r\n%s" % (rid.encode(), len(body), body))
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()
        log = self.srv.log_for(rid)
        self.assertTrue(log["client_gone"])
        self.assertLess(log["events"], 53)


class Http(Case):
    def test_keepalive_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        seen = set()
        for method, path, body, hdrs, status in [
                ("POST", "/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS}, {}, 200),
                ("POST", "/v1/chat/completions", dict(model="gpt-4o", messages=MSGS, stream=True), {}, 200),
                ("POST", "/v1/messages", {"model": "error-429", "messages": MSGS}, {}, 429),
                ("HEAD", "/v1/models", None, {}, 200),
                ("POST", "/v1/chat/completions", {"model": "x"}, {"x-mock-status": "204"}, 204),
                ("OPTIONS", "/v1/chat/completions", None, {}, 204),
                ("POST", "/api/generate", {"model": "llama3.2", "prompt": "a"}, {}, 200)]:
            conn.request(method, path, json.dumps(body) if body else None, hdrs)
            resp = conn.getresponse()
            data = resp.read()
            self.assertEqual(resp.status, status)
            if status == 204 or method == "HEAD":
                self.assertEqual(data, b"")
            seen.add(conn.sock.getsockname())
        self.assertEqual(len(seen), 1)
        conn.close()

    def test_pipelined_requests_answered_in_order(self):
        reqs = b""
        for i, path in enumerate(["/v1/chat/completions", "/api/chat", "/v1/messages"]):
            body = json.dumps({"model": "m%d" % i, "messages": MSGS, "stream": i > 0}).encode()
            reqs += b"POST %s HTTP/1.1\r\nHost: x\r\nx-request-id: pipe-%d\r\n%sContent-Length: %d\r\n\r\n%s" % (
                path.encode(), i, b"Connection: close\r\n" if i == 2 else b"", len(body), body)
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(reqs)
        data = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            data += got
        s.close()
        ids = [line.split(b": ")[1] for line in data.split(b"\r\n") if line.startswith(b"x-request-id")]
        self.assertEqual(ids, [b"pipe-0", b"pipe-1", b"pipe-2"])
        self.assertEqual(data.count(b"HTTP/1.1 200 OK\r\n"), 3)
        self.assertTrue(data.endswith(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n\r\n0\r\n\r\n"))

    def test_ipv6_listen(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            own = Server("--host", "::1")
        except RuntimeError as e:
            self.skipTest("cannot listen on ::1: %s" % e)
        try:
            s = socket.create_connection(("::1", own.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(4096).endswith(b"\r\n\r\nok\n"))
            s.close()
        finally:
            own.stop()

    def test_http10_stream_is_close_delimited(self):
        r = raw(self.srv.port, "POST", "/api/chat", {"model": "llama3.2", "messages": MSGS}, version="HTTP/1.0")
        self.assertEqual(r.headers.get("connection"), "close")
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertEqual([json.loads(x)["done"] for x in r.body.splitlines()], [False] * 8 + [True])

    def test_chunked_request_and_expect_continue(self):
        body = json.dumps({"model": "gpt-4o", "messages": MSGS}).encode()
        r, log = self.post("/v1/chat/completions", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
                           {"Transfer-Encoding": "chunked", "Content-Length": None})
        self.assertEqual(r.json()["usage"]["prompt_tokens"], 6)
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        self.assertEqual(s.recv(4096), b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()

    def test_latency_and_token_delay(self):
        t0 = time.monotonic()
        self.post("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS}, {"x-mock-latency-ms": "150"})
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        t0 = time.monotonic()
        r, log = self.post("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS, "max_tokens": 3,
                                                    "stream": True}, {"x-mock-token-delay-ms": "40"})
        self.assertGreaterEqual(time.monotonic() - t0, 0.04 * (log["events"] - 1))


if __name__ == "__main__":
    tt.main()
