"""demo/llm_server.py, format by format: exact bodies, stream framing (one
HTTP chunk per event), usage numbers equal to the server's log, errors,
aborts. Run: /usr/bin/python3 -m unittest -v test_llm_server (in tests/demo)."""
import http.client
import itertools
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, raw, sse_data, sse_events  # noqa: E402

SRV = None
_ids = itertools.count()
# 6 words: what every test's prompt counts to
MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one two three four"}]


def setUpModule():
    global SRV
    SRV = Server()


def tearDownModule():
    SRV.stop()


class Case(unittest.TestCase):
    def post(self, path, body, headers=None, **kw):
        """Raw POST with a fresh x-request-id; returns (Raw, its log line)."""
        rid = "%s-%d" % (self._testMethodName, next(_ids))
        r = raw(SRV.port, "POST", path, body, dict(headers or {}, **{"x-request-id": rid}), **kw)
        return r, SRV.log_for(rid)

    def assertLog(self, log, **want):
        self.assertEqual({k: log[k] for k in want}, want)

    def assertPlain(self, r, log, status=200):
        self.assertEqual(r.status, status)
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        self.assertEqual(r.headers["x-request-id"], log["request_id"])
        self.assertLog(log, status=status, stream=False, body_bytes=len(r.body),
                       wire_bytes=len(r.data), content_chunks=0, events=0, aborted=None)

    def assertStream(self, r, log, ctype):
        """Chunked, terminated, and the log's counts equal the chunks."""
        chunks, done = r.chunks()
        self.assertTrue(done)
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", r.headers)
        self.assertTrue(r.headers["content-type"].startswith(ctype), r.headers["content-type"])
        self.assertLog(log, status=200, stream=True, events=len(chunks), aborted=None,
                       body_bytes=sum(map(len, chunks)), wire_bytes=len(r.data))
        return chunks

    def assertOneEventPerChunk(self, chunks, eol=b"\n\n"):
        for c in chunks:
            self.assertTrue(c.endswith(eol) and c.count(eol) == 1, c)

    def assertUsageLog(self, log, prompt=None, completion=None, total=None, cached=None,
                       cache_creation=None, reasoning=None):
        self.assertLog(log, prompt_tokens=prompt, completion_tokens=completion,
                       total_tokens=total, cached_tokens=cached,
                       cache_creation_tokens=cache_creation, reasoning_tokens=reasoning)


class OpenAI(Case):
    def test_chat_plain_exact(self):
        r, log = self.post("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": MSGS, "max_tokens": 5})
        self.assertPlain(r, log)
        b = r.json()
        self.assertEqual((b["object"], b["model"]), ("chat.completion", "gpt-4o-mini"))
        self.assertEqual(b["choices"][0]["message"]["content"], "The quick brown fox jumps")
        self.assertEqual(b["choices"][0]["finish_reason"], "stop")
        self.assertEqual(b["usage"], {"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11})
        self.assertUsageLog(log, 6, 5, 11)
        self.assertLog(log, model="gpt-4o-mini", response_model="gpt-4o-mini", format="openai",
                       request_bytes=int(len(json.dumps({"model": "gpt-4o-mini", "messages": MSGS, "max_tokens": 5}))))

    def test_chat_stream_include_usage(self):
        r, log = self.post("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS, "max_tokens": 3,
                                                    "stream": True, "stream_options": {"include_usage": True}})
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertOneEventPerChunk(chunks)
        self.assertEqual(chunks[-1], b"data: [DONE]\n\n")
        objs = [json.loads(c[len(b"data: "):]) for c in chunks[:-1]]
        deltas = [o["choices"][0]["delta"].get("content") for o in objs if o["choices"]]
        self.assertEqual(deltas, ["", "The ", "quick ", "brown", None])
        self.assertEqual(objs[-1]["choices"], [])
        self.assertEqual(objs[-1]["usage"], {"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9})
        self.assertTrue(all(o["usage"] is None for o in objs[:-1]))
        self.assertUsageLog(log, 6, 3, 9)
        self.assertLog(log, content_chunks=3)

    def test_chat_stream_without_usage(self):
        r, log = self.post("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS, "stream": True})
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertFalse(any(b'"usage"' in c for c in chunks))
        self.assertUsageLog(log)
        self.assertLog(log, content_chunks=8, events=11)

    def test_cached_reasoning_total_headers(self):
        hdrs = {"x-mock-cached": "2", "x-mock-reasoning": "5", "x-mock-total": "99"}
        want = {"prompt_tokens": 6, "completion_tokens": 8, "total_tokens": 99,
                "prompt_tokens_details": {"cached_tokens": 2},
                "completion_tokens_details": {"reasoning_tokens": 5}}
        for stream in (False, True):
            body = {"model": "o3-mini", "messages": MSGS, "max_completion_tokens": 3, "stream": stream,
                    "stream_options": {"include_usage": True}}
            r, log = self.post("/v1/chat/completions", body, hdrs)
            usage = sse_data(r.body if not stream else b"".join(r.chunks()[0]))[-1]["usage"] if stream \
                else r.json()["usage"]
            self.assertEqual(usage, want)
            self.assertUsageLog(log, 6, 8, 99, cached=2, reasoning=5)

    def test_no_usage_header(self):
        r, log = self.post("/v1/chat/completions", {"model": "gpt-4o", "messages": MSGS}, {"x-mock-no-usage": "1"})
        self.assertPlain(r, log)
        self.assertNotIn("usage", r.json())
        self.assertUsageLog(log)

    def test_completions_plain_and_stream(self):
        r, log = self.post("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "a b c", "max_tokens": 2})
        self.assertPlain(r, log)
        self.assertEqual(r.json()["choices"][0]["text"], "The quick")
        self.assertEqual(r.json()["usage"], {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        r, log = self.post("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": ["a b", "c"],
                                               "max_tokens": 2, "stream": True,
                                               "stream_options": {"include_usage": True}})
        chunks = self.assertStream(r, log, "text/event-stream")
        objs = sse_data(b"".join(chunks))
        self.assertEqual([o["choices"][0]["text"] for o in objs if o["choices"]], ["The ", "quick", ""])
        self.assertEqual(objs[-1]["usage"]["total_tokens"], 5)
        self.assertUsageLog(log, 3, 2, 5)

    def test_embeddings(self):
        r, log = self.post("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a b", "c d e"],
                                              "dimensions": 4})
        self.assertPlain(r, log)
        b = r.json()
        self.assertEqual([len(d["embedding"]) for d in b["data"]], [4, 4])
        self.assertEqual(b["usage"], {"prompt_tokens": 5, "total_tokens": 5})
        self.assertUsageLog(log, 5, None, 5)

    def test_responses_plain_and_stream(self):
        body = {"model": "gpt-4o", "instructions": "be brief", "input": "one two three", "max_output_tokens": 4}
        want = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 4,
                "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 9}
        r, log = self.post("/v1/responses", body)
        self.assertPlain(r, log)
        self.assertEqual(r.json()["usage"], want)
        self.assertEqual(r.json()["output"][0]["content"][0]["text"], "The quick brown fox")
        r, log = self.post("/v1/responses", dict(body, stream=True), {"x-mock-cached": "1"})
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertOneEventPerChunk(chunks)
        events = sse_events(b"".join(chunks))
        objs = sse_data(b"".join(chunks))
        self.assertEqual([e[0][1] for e in events], [o["type"] for o in objs])
        self.assertEqual([o["sequence_number"] for o in objs], list(range(len(objs))))
        self.assertEqual(objs[-1]["type"], "response.completed")
        self.assertEqual(objs[-1]["response"]["usage"], dict(want, input_tokens_details={"cached_tokens": 1}))
        self.assertEqual(sum(o["type"] == "response.output_text.delta" for o in objs), 4)
        self.assertUsageLog(log, 5, 4, 9, cached=1, reasoning=0)
        self.assertLog(log, content_chunks=4, format="openai-responses")

    def test_models_get_and_head(self):
        get, head = raw(SRV.port, "GET", "/v1/models"), raw(SRV.port, "HEAD", "/v1/models")
        self.assertIn("gpt-4o-mini", [m["id"] for m in get.json()["data"]])
        self.assertEqual((head.status, head.body), (200, b""))
        self.assertEqual(head.headers["content-length"], str(len(get.body)))


class DashScope(Case):
    def test_compatible_mode_is_openai(self):
        r, log = self.post("/compatible-mode/v1/chat/completions",
                           {"model": "qwen-turbo", "messages": MSGS, "max_tokens": 2, "stream": True,
                            "stream_options": {"include_usage": True}})
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertEqual(sse_data(b"".join(chunks))[-1]["usage"]["prompt_tokens"], 6)
        self.assertUsageLog(log, 6, 2, 8)
        self.assertLog(log, format="dashscope-compatible", model="qwen-turbo")

    def test_native_plain_text_and_message(self):
        path = "/api/v1/services/aigc/text-generation/generation"
        r, log = self.post(path, {"model": "qwen-plus", "input": {"prompt": "a b c"}, "parameters": {"max_tokens": 2}})
        self.assertPlain(r, log)
        self.assertEqual(r.json()["output"], {"text": "The quick", "finish_reason": "stop"})
        self.assertEqual(r.json()["usage"], {"total_tokens": 5, "output_tokens": 2, "input_tokens": 3})
        self.assertUsageLog(log, 3, 2, 5)
        r, log = self.post(path, {"model": "qwen-plus", "input": {"messages": MSGS},
                                  "parameters": {"result_format": "message"}}, {"x-mock-cached": "4"})
        self.assertEqual(r.json()["output"]["choices"][0]["message"]["role"], "assistant")
        self.assertEqual(r.json()["usage"]["prompt_tokens_details"], {"cached_tokens": 4})
        self.assertUsageLog(log, 6, 8, 14, cached=4)

    def test_native_sse(self):
        path = "/api/v1/services/aigc/text-generation/generation"
        for incremental in (False, True):
            r, log = self.post(path, {"model": "qwen-plus", "input": {"prompt": "a b c"},
                                      "parameters": {"max_tokens": 3, "incremental_output": incremental}},
                               {"X-DashScope-SSE": "enable"})
            chunks = self.assertStream(r, log, "text/event-stream")
            self.assertOneEventPerChunk(chunks)
            for i, c in enumerate(chunks):
                lines = c.decode().split("\n")
                self.assertEqual(lines[:3], ["id:%d" % (i + 1), "event:result", ":HTTP_STATUS/200"])
                self.assertTrue(lines[3].startswith("data:{"))
            objs = [json.loads(c.decode().split("\n")[3][5:]) for c in chunks]
            self.assertEqual([o["usage"]["output_tokens"] for o in objs], [1, 2, 3])
            texts = [o["output"]["text"] for o in objs]
            self.assertEqual(texts, ["The ", "quick ", "brown"] if incremental else ["The ", "The quick ", "The quick brown"])
            self.assertEqual([o["output"]["finish_reason"] for o in objs], ["null", "null", "stop"])
            self.assertUsageLog(log, 3, 3, 6)


class Anthropic(Case):
    BODY = {"model": "claude-3-5-haiku-latest", "max_tokens": 3, "system": "be brief",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three four"}]}]}

    def test_plain_with_cache_headers(self):
        r, log = self.post("/v1/messages", self.BODY, {"x-mock-cached": "3", "x-mock-cache-creation": "7"})
        self.assertPlain(r, log)
        b = r.json()
        self.assertEqual((b["type"], b["stop_reason"], b["content"][0]["text"]), ("message", "end_turn", "The quick brown"))
        self.assertEqual(b["usage"], {"input_tokens": 6, "cache_creation_input_tokens": 7,
                                      "cache_read_input_tokens": 3, "output_tokens": 3})
        self.assertUsageLog(log, 6, 3, None, cached=3, cache_creation=7)

    def test_stream_events(self):
        r, log = self.post("/v1/messages", dict(self.BODY, stream=True))
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertOneEventPerChunk(chunks)
        events, objs = sse_events(b"".join(chunks)), sse_data(b"".join(chunks))
        names = [e[0][1] for e in events]
        self.assertEqual(names, ["message_start", "content_block_start", "ping"] + ["content_block_delta"] * 3
                         + ["content_block_stop", "message_delta", "message_stop"])
        self.assertEqual(names, [o["type"] for o in objs])
        self.assertEqual(objs[0]["message"]["usage"], {"input_tokens": 6, "cache_creation_input_tokens": 0,
                                                       "cache_read_input_tokens": 0, "output_tokens": 1})
        self.assertEqual(objs[-2]["usage"], {"output_tokens": 3})
        self.assertEqual("".join(o["delta"]["text"] for o in objs if o["type"] == "content_block_delta"),
                         "The quick brown")
        self.assertUsageLog(log, 6, 3, None, cached=0, cache_creation=0)
        self.assertLog(log, content_chunks=3, format="anthropic")


class Ollama(Case):
    def test_chat_ndjson_by_default(self):
        r, log = self.post("/api/chat", {"model": "llama3.2", "messages": MSGS, "options": {"num_predict": 2}})
        chunks = self.assertStream(r, log, "application/x-ndjson")
        self.assertOneEventPerChunk(chunks, b"\n")
        objs = [json.loads(c) for c in chunks]
        self.assertEqual([o["done"] for o in objs], [False, False, True])
        self.assertEqual([o["message"]["content"] for o in objs], ["The ", "quick", ""])
        self.assertEqual((objs[-1]["prompt_eval_count"], objs[-1]["eval_count"], objs[-1]["done_reason"]), (6, 2, "stop"))
        self.assertUsageLog(log, 6, 2)
        self.assertLog(log, content_chunks=2, format="ollama")

    def test_generate_plain(self):
        r, log = self.post("/api/generate", {"model": "llama3.2", "prompt": "a b", "stream": False,
                                             "options": {"num_predict": 1}})
        self.assertPlain(r, log)
        b = r.json()
        self.assertEqual((b["response"], b["done"], b["prompt_eval_count"], b["eval_count"]), ("The", True, 2, 1))
        self.assertUsageLog(log, 2, 1)


class Gemini(Case):
    BODY = {"contents": [{"role": "user", "parts": [{"text": "one two three"}]}],
            "systemInstruction": {"parts": [{"text": "be brief"}]}, "generationConfig": {"maxOutputTokens": 2}}

    def test_generate_content(self):
        r, log = self.post("/v1beta/models/gemini-1.5-flash:generateContent", self.BODY)
        self.assertPlain(r, log)
        b = r.json()
        self.assertEqual(b["candidates"][0]["content"]["parts"][0]["text"], "The quick")
        self.assertEqual(b["usageMetadata"], {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7})
        self.assertUsageLog(log, 5, 2, 7)
        self.assertLog(log, model="gemini-1.5-flash", format="gemini")

    def test_stream_sse_crlf(self):
        r, log = self.post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", self.BODY,
                           {"x-mock-reasoning": "4", "x-mock-cached": "1"})
        chunks = self.assertStream(r, log, "text/event-stream")
        self.assertOneEventPerChunk(chunks, b"\r\n\r\n")
        objs = sse_data(b"".join(chunks))
        self.assertEqual([o["usageMetadata"]["candidatesTokenCount"] for o in objs], [1, 2])
        self.assertEqual(objs[-1]["usageMetadata"], {"promptTokenCount": 5, "candidatesTokenCount": 2,
                                                     "totalTokenCount": 11, "cachedContentTokenCount": 1,
                                                     "thoughtsTokenCount": 4})
        self.assertEqual(objs[-1]["candidates"][0]["finishReason"], "STOP")
        self.assertUsageLog(log, 5, 2, 11, cached=1, reasoning=4)

    def test_stream_json_array(self):
        r, log = self.post("/v1beta/models/gemini-1.5-flash:streamGenerateContent", self.BODY)
        chunks = self.assertStream(r, log, "application/json")
        arr = json.loads(b"".join(chunks))
        self.assertEqual(len(arr), 2)
        self.assertEqual(arr[-1]["usageMetadata"]["totalTokenCount"], 7)
        self.assertUsageLog(log, 5, 2, 7)


class Gateway(Case):
    def test_any_path_json_answers_openai(self):
        r, log = self.post("/openai", {"model": "gpt-4o", "messages": MSGS, "max_tokens": 1})
        self.assertEqual(r.json()["usage"], {"prompt_tokens": 6, "completion_tokens": 1, "total_tokens": 7})
        self.assertLog(log, format="gateway", model="gpt-4o")
        r, log = self.post("/", {"messages": MSGS}, {"x-mock-response-model": "qwen-max"})
        self.assertPlain(r, log)
        self.assertEqual(r.json()["model"], "qwen-max")
        self.assertLog(log, model=None, response_model="qwen-max")
        r, log = self.post("/nowhere", b"not json")
        self.assertEqual(r.status, 404)


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
        r = raw(SRV.port, "PUT", "/v1/chat/completions", b"{}")
        self.assertEqual((r.status, r.headers["allow"]), (405, "GET, HEAD, POST, OPTIONS"))
        self.assertEqual(raw(SRV.port, "GET", "/nope").status, 404)
        self.assertEqual(raw(SRV.port, "GET", "/v1/models", headers={"x-mock-status": "503"}).status, 503)


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
        rid = "hang-%d" % next(_ids)
        s = socket.create_connection(("127.0.0.1", SRV.port), timeout=0.2)
        body = json.dumps(self.BODY).encode()
        s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nx-request-id: %s\r\nx-mock-abort-after: 1\r\n"
                  b"x-mock-abort-mode: hang\r\nx-mock-hang-ms: 300\r\nContent-Length: %d\r\n\r\n%s"
                  % (rid.encode(), len(body), body))
        got = b""
        with self.assertRaises(socket.timeout):
            while True:
                got += s.recv(4096)
        self.assertEqual(got.count(b'"done":false'), 1)
        s.close()
        log = SRV.log_for(rid, timeout=3)
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
        rid = "gone-%d" % next(_ids)
        body = json.dumps(dict(self.BODY, max_tokens=50)).encode()
        s = socket.create_connection(("127.0.0.1", SRV.port))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-request-id: %s\r\n"
                  b"x-mock-token-delay-ms: 20\r\nContent-Length: %d\r\n\r\n%s" % (rid.encode(), len(body), body))
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()
        log = SRV.log_for(rid, timeout=5)
        self.assertTrue(log["client_gone"])
        self.assertLess(log["events"], 53)


class Http(Case):
    def test_keepalive_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", SRV.port, timeout=10)
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

    def test_http10_stream_is_close_delimited(self):
        r = raw(SRV.port, "POST", "/api/chat", {"model": "llama3.2", "messages": MSGS}, version="HTTP/1.0")
        self.assertEqual(r.headers.get("connection"), "close")
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertEqual([json.loads(x)["done"] for x in r.body.splitlines()], [False] * 8 + [True])

    def test_chunked_request_and_expect_continue(self):
        body = json.dumps({"model": "gpt-4o", "messages": MSGS}).encode()
        r, log = self.post("/v1/chat/completions", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
                           {"Transfer-Encoding": "chunked", "Content-Length": None})
        self.assertEqual(r.json()["usage"]["prompt_tokens"], 6)
        s = socket.create_connection(("127.0.0.1", SRV.port), timeout=5)
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
    unittest.main()
