"""demo/llm_server.py, format by format: exact bodies, stream framing (one
HTTP chunk per event), usage numbers equal to the server's log.
Run: /usr/bin/python3 test_llm_server.py -v (in tests/demo)."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import tt, MSGS, Case, Server, raw, sse_data, sse_events  # noqa: E402


def setUpModule():
    Case.srv = Server()


def tearDownModule():
    Case.srv.stop()


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
        get, head = raw(self.srv.port, "GET", "/v1/models"), raw(self.srv.port, "HEAD", "/v1/models")
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


if __name__ == "__main__":
    tt.main()
