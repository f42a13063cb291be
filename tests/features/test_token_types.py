"""Token types from every provider format, plain and streamed: input,
output, cached input (cache reads), cache creation, reasoning, and
total_tokens exactly as reported (x-mock-total makes it differ from
input + output), checked in the access log (both reporters), the tokenring
counters, gen_ai_client_token_usage by gen_ai_token_type and the summary."""
import json
import unittest

from features import CHAT, MESSAGES, FeatureCase, node_client, py_client

from features import tt  # tests/pylib/tokenring_test.py
HDR = {"x-mock-cached": "3", "x-mock-reasoning": "5", "x-mock-total": "100"}
ANTHROPIC_HDR = {"x-mock-cached": "3", "x-mock-cache-creation": "7",
                 "anthropic-version": "2023-06-01"}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "one two three four"}]}],
               "generationConfig": {"maxOutputTokens": 8}}

# name: (path, body, headers, stream body change, expected tokens as
# (prompt, completion, total, cached, cache_creation, reasoning), provider).
# The demo server: prompt = 4 words; 8 visible words; OpenAI counts the 5
# reasoning tokens inside completion, Gemini apart (candidatesTokenCount
# = 8); Anthropic and Ollama report no total; DashScope native no reasoning.
CASES = {
    "openai": (CHAT, {"messages": MESSAGES}, HDR,
               {"stream": True, "stream_options": {"include_usage": True}},
               (4, 13, 100, 3, 0, 5), "openai"),
    "responses": ("/v1/responses", {"input": "one two three four"}, HDR, {"stream": True},
                  (4, 13, 100, 3, 0, 5), "openai"),
    "anthropic": ("/v1/messages", {"max_tokens": 8, "messages": MESSAGES}, ANTHROPIC_HDR,
                  {"stream": True}, (4, 8, 0, 3, 7, 0), "anthropic"),
    "gemini": ("/v1beta/models/{model}:generateContent", GEMINI_BODY, HDR, None,
               (4, 8, 100, 3, 0, 5), "gemini"),
    "dashscope": ("/compatible-mode/v1/chat/completions", {"messages": MESSAGES}, HDR,
                  {"stream": True, "stream_options": {"include_usage": True}},
                  (4, 13, 100, 3, 0, 5), "dashscope"),
    "dashscope-native": ("/api/v1/services/aigc/text-generation/generation",
                         {"input": {"messages": MESSAGES}, "parameters": {"max_tokens": 8}},
                         {"x-mock-cached": "3", "x-mock-total": "100"}, "sse",
                         (4, 8, 100, 3, 0, 0), "dashscope"),
    "ollama": ("/api/chat", {"messages": MESSAGES, "stream": False}, {}, {"stream": True},
               (4, 8, 0, 0, 0, 0), "ollama"),
}
FIELDS = ("request_prompt_tokens", "request_completion_tokens", "total_tokens",
          "cached_tokens", "cache_creation_tokens", "reasoning_tokens")
SERVER_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
                 "cache_creation_tokens", "reasoning_tokens")


class TokenTypes(FeatureCase):

    def steps(self):
        """One request per format and mode: (model, step, expected, provider)."""
        out = []
        for name, (path, body, hdr, stream, want, prov) in CASES.items():
            modes = [("plain", None)]
            if stream == "sse":
                modes.append(("stream", ("hdr", {"X-DashScope-SSE": "enable"})))
            elif stream is None:  # Gemini: both stream shapes
                modes += [("stream", ("path", ":streamGenerateContent?alt=sse")),
                          ("array", ("path", ":streamGenerateContent"))]
            else:
                modes.append(("stream", ("body", stream)))
            for mode, change in modes:
                model = "tt-%s-%s" % (name, mode)
                b = dict(body)
                if "{model}" not in path:
                    b["model"] = model
                p = path.replace("{model}", model)
                h = dict(hdr, **{"x-request-id": model})  # < 40 bytes: the record's field
                if change and change[0] == "body":
                    b.update(change[1])
                elif change and change[0] == "path":
                    p = p.replace(":generateContent", change[1])
                elif change:
                    h.update(change[1])
                out.append((model, {"url": self.server.url + p, "body": b, "headers": h,
                                    "stream": mode != "plain"}, want, prov))
        return out

    def test_provider_formats(self):
        """Plain bodies from requests, streams from httpx: each field in the
        access log equals what the server put on the wire, and the tokenring
        counters and gen_ai token types add up per model."""
        cases = self.steps()
        self.assertEqual(len(cases), 15)
        plain = [s for _, s, _, _ in cases if not s["stream"]]
        streams = [s for _, s, _, _ in cases if s["stream"]]
        for lib, steps in (("requests", plain), ("httpx", streams)):
            for out in py_client(self.daemon, "tt-" + lib, lib, steps):
                self.assertEqual((out["status"], out["error"]), (200, None), out)
        rids = [s["headers"]["x-request-id"] for _, s, _, _ in cases]
        logs = self.server.log_for(rids)
        lines = self.daemon.access_for(rids)
        m = self.daemon.metrics()
        for model, step, want, prov in cases:
            rid = step["headers"]["x-request-id"]
            sent = tuple(logs[rid][f] or 0 for f in SERVER_FIELDS)
            self.assertEqual(sent, want, model)  # the wire carried these
            for rep in ("source", "destination"):
                e = lines[(rid, rep)]
                self.assertEqual((e["usage_status"], e["provider"], e["streaming"]),
                                 ("available", prov, "true" if step["stream"] else "false"),
                                 (model, rep))
                self.assertEqual(tuple(int(e[f]) for f in FIELDS), want, (model, rep))
                sel = {"reporter": rep, "model": model}
                self.assertEqual(
                    (m.sum("tokenring_prompt_tokens_total", **sel),
                     m.sum("tokenring_completion_tokens_total", **sel),
                     m.sum("tokenring_cached_tokens_total", **sel),
                     m.sum("tokenring_cache_creation_tokens_total", **sel),
                     m.sum("tokenring_reasoning_tokens_total", **sel)),
                    (want[0], want[1], want[3], want[4], want[5]), (model, rep))
            self.assertTokenTypes(m, model, want)
        # the summary log keeps the types apart too (one line per model and
        # reporter here: every request came in one interval or another)
        fields = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
                  "cache_creation_tokens", "reasoning_tokens")
        for model, _, want, _ in cases:
            got = self.daemon.summary_mix(dict(zip(fields, want)), reporter="destination",
                                          model=model)
            self.assertEqual(tuple(got[f] for f in fields), want, model)

    def assertTokenTypes(self, m, model, want, requests=1):
        """gen_ai_client_token_usage per type: input and output always,
        cached_input and reasoning only when the provider reported them."""
        prompt, completion, _, cached, _, reasoning = want
        expect = {"input": (requests, prompt), "output": (requests, completion)}
        if cached:
            expect["cached_input"] = (requests, cached)
        if reasoning:
            expect["reasoning"] = (requests, reasoning)
        sel = {"gen_ai_request_model": model}
        counts = m.by("gen_ai_client_token_usage_count", "gen_ai_token_type", **sel)
        sums = m.by("gen_ai_client_token_usage_sum", "gen_ai_token_type", **sel)
        self.assertEqual({t: (counts[t], sums[t]) for t in counts}, expect, model)

    def test_node_sdk_and_total_as_reported(self):
        """The OpenAI Node SDK, plain and streamed, with cached and reasoning
        tokens: the SDK, the access log, the counters and the summary agree,
        and total_tokens is 100 as reported, not 4 + 13."""
        model, w = "tt-node", "tt-node-client"
        rids = [self.rid(i) for i in range(2)]
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "headers": dict(HDR, **{"x-request-id": rids[0]})},
                           {"model": model, "stream": True, "include_usage": True,
                            "headers": dict(HDR, **{"x-request-id": rids[1]})}])
        for o in out:
            u = o["usage"]
            self.assertEqual((u["prompt_tokens"], u["completion_tokens"], u["total_tokens"],
                              u["prompt_tokens_details"]["cached_tokens"],
                              u["completion_tokens_details"]["reasoning_tokens"]),
                             (4, 13, 100, 3, 5))
        lines = self.daemon.access_for(rids)
        for e in lines.values():
            self.assertEqual(tuple(e[f] for f in FIELDS), ("4", "13", "100", "3", "0", "5"))
        m = self.daemon.metrics()
        sel = {"reporter": "source", "source_workload": w}
        self.assertEqual((m.sum("tokenring_prompt_tokens_total", **sel),
                          m.sum("tokenring_completion_tokens_total", **sel),
                          m.sum("tokenring_cached_tokens_total", **sel),
                          m.sum("tokenring_reasoning_tokens_total", **sel)), (8, 26, 6, 10))
        self.assertTokenTypes(m, model, (8, 26, 200, 6, 0, 10), requests=2)
        summary = json.loads(self.daemon_get("/api/v1/summary"))
        rows = [s for s in summary["series"] if s["source_workload"] == w]
        self.assertEqual([(r["requests"], r["prompt_tokens"], r["completion_tokens"],
                           r["total_tokens"], r["cached_tokens"], r["cache_creation_tokens"],
                           r["reasoning_tokens"]) for r in rows], [(2, 8, 26, 200, 6, 0, 10)])

    def daemon_get(self, path):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.daemon.port, path),
                                    timeout=5) as r:
            return r.read().decode()


if __name__ == "__main__":
    tt.main()
