"""Time per output token against a server that waits --token-delay-ms
between stream chunks: tokenring_time_per_output_token_seconds (both
reporters), gen_ai_server_time_per_output_token_seconds (destination) and
gen_ai_client_operation_time_per_output_chunk_seconds (source) equal
(duration - TTFT) / (n - 1) computed from the access log's lines, and are
observed only where defined.

The server's delay is a lower bound only where the shim stamps the server's
own writes (destination): there every token is written at least DELAY_MS
after the one before it. The client's stamps (source) are its reads, and a
client scheduled late for the first chunk reads the rest sooner after it,
so its figure may be a little under the delay; it is held to the access
log's values exactly instead."""
import unittest

from features import CHAT, MESSAGES, FeatureCase, curl, node_client, py_client

from features import tt  # tests/pylib/tokenring_test.py
DELAY_MS = 20
TR = "tokenring_time_per_output_token_seconds"
GA_SERVER = "gen_ai_server_time_per_output_token_seconds"
GA_CLIENT = "gen_ai_client_operation_time_per_output_chunk_seconds"


def bounds(line, n):
    """(lo, hi) seconds for (duration - TTFT) / (n - 1) of an access log line:
    both times are whole milliseconds there (truncated), so the exact value
    lies strictly inside this interval."""
    d, t = int(line["duration"]), int(line["time_to_first_token"])
    return max(0, d - t - 1) / 1000.0 / (n - 1), (d + 1 - t) / 1000.0 / (n - 1)


class TimePerOutputToken(FeatureCase):
    SERVER_ARGS = ("--token-delay-ms", str(DELAY_MS))

    def chat(self, model, include_usage=True, **extra):
        body = {"model": model, "messages": MESSAGES, "stream": True}
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(extra)
        return body

    def assertHistogram(self, m, name, lines, n_of, **labels):
        """count, sum and every cumulative bucket of the histogram agree with
        the per-request values bounded from the access log lines."""
        iv = [bounds(e, n_of(e)) for e in lines]
        self.assertEqual(m.sum(name + "_count", **labels), len(iv), name)
        total = m.sum(name + "_sum", **labels)
        self.assertGreater(total, sum(lo for lo, _ in iv), name)
        self.assertLess(total, sum(hi for _, hi in iv), name)
        buckets = m.select(name + "_bucket", **labels)
        self.assertTrue(buckets, name)
        for le in sorted({lab["le"] for lab, _ in buckets}, key=float):
            got = sum(v for lab, v in buckets if lab["le"] == le)
            surely = sum(1 for _, hi in iv if hi <= float(le))
            maybe = sum(1 for lo, _ in iv if lo <= float(le))
            self.assertTrue(surely <= got <= maybe, (name, le, surely, got, maybe))
        return total

    def assertPerToken(self, model, rids):
        """Every per-token histogram of model holds one observation per
        request, equal within the access log's rounding to (duration - TTFT)
        / (n - 1); returns the source and destination sums."""
        lines = self.daemon.access_for(rids)
        for e in lines.values():
            self.assertEqual((e["usage_status"], e["request_completion_tokens"], e["chunks"]),
                             ("available", "8", "8"), model)
        src = [lines[(r, "source")] for r in rids]
        dst = [lines[(r, "destination")] for r in rids]
        m = self.daemon.metrics()
        tokens = lambda e: int(e["request_completion_tokens"])  # noqa: E731
        chunks = lambda e: int(e["chunks"])  # noqa: E731
        s = self.assertHistogram(m, TR, src, tokens, reporter="source", model=model)
        d = self.assertHistogram(m, TR, dst, tokens, reporter="destination", model=model)
        self.assertHistogram(m, GA_SERVER, dst, tokens, gen_ai_request_model=model)
        self.assertHistogram(m, GA_CLIENT, src, chunks, gen_ai_request_model=model)
        return s, d

    def test_streams_with_usage(self):
        """curl, httpx and the Node SDK stream 8 tokens with usage: every
        per-token histogram holds 3 observations equal, within the access
        log's millisecond rounding, to (duration - TTFT) / 7; each is at
        least the server's delay between tokens."""
        w, model, url = "tpot-client", "tpot-usage", self.server.url + CHAT
        rids = [self.rid(i) for i in range(3)]
        curl(self.daemon, w, url, self.chat(model), {"x-request-id": rids[0]})
        py_client(self.daemon, w, "httpx", [{"url": url, "body": self.chat(model),
                                             "stream": True,
                                             "headers": {"x-request-id": rids[1]}}])
        node_client(self.daemon, w, self.server.url + "/v1",
                    [{"model": model, "stream": True, "include_usage": True,
                      "headers": {"x-request-id": rids[2]}}])
        _, d = self.assertPerToken(model, rids)
        # the server sleeps DELAY_MS between chunks: no token leaves it faster
        self.assertGreaterEqual(d, 3 * DELAY_MS / 1000.0)

    def test_streams_of_other_formats(self):
        """The same for an Anthropic stream (output tokens from
        message_delta) from curl and a Gemini SSE stream (cumulative
        usageMetadata) from httpx."""
        rids = [self.rid(i) for i in range(2)]
        curl(self.daemon, "tpot-fmt-client", self.server.url + "/v1/messages",
             {"model": "tpot-anthropic", "max_tokens": 8, "stream": True, "messages": MESSAGES},
             {"x-request-id": rids[0], "anthropic-version": "2023-06-01"})
        py_client(self.daemon, "tpot-fmt-client", "httpx",
                  [{"url": self.server.url +
                    "/v1beta/models/tpot-gemini:streamGenerateContent?alt=sse",
                    "body": {"contents": [{"parts": [{"text": "one two"}]}]}, "stream": True,
                    "headers": {"x-request-id": rids[1]}}])
        for model, rid in zip(("tpot-anthropic", "tpot-gemini"), rids):
            _, d = self.assertPerToken(model, [rid])
            self.assertGreaterEqual(d, DELAY_MS / 1000.0, model)

    def test_not_observed_without_usage_or_second_token(self):
        """No per-token observation for a stream without usage (the client's
        per-chunk one still counts it), a stream of one token, a plain
        response or a stream the client gave up on."""
        w, url = "tpot-none-client", self.server.url + CHAT
        rids = [self.rid(i) for i in range(4)]
        curl(self.daemon, w, url, self.chat("tpot-no-usage", include_usage=False),
             {"x-request-id": rids[0]})
        curl(self.daemon, w, url, self.chat("tpot-one-token", max_tokens=1),
             {"x-request-id": rids[1]})
        curl(self.daemon, w, url, {"model": "tpot-plain", "messages": MESSAGES},
             {"x-request-id": rids[2]})
        out = py_client(self.daemon, w, "httpx",
                        [{"url": url, "body": self.chat("tpot-gave-up"), "stream": True,
                          "close_after": 3, "headers": {"x-request-id": rids[3],
                                                        "x-mock-token-delay-ms": "100"}}])
        self.assertEqual(out[0]["data_lines"], 3)
        lines = self.daemon.access_for(rids)
        self.assertEqual([(lines[(r, "source")]["usage_status"], lines[(r, "source")]["chunks"])
                          for r in rids],
                         [("not_requested", "8"), ("available", "1"), ("available", "0"),
                          ("interrupted", "2")])
        m = self.daemon.metrics()
        for model in ("tpot-no-usage", "tpot-one-token", "tpot-plain", "tpot-gave-up"):
            self.assertEqual(m.sum("tokenring_requests_total", model=model), 2, model)
            self.assertEqual(m.sum(TR + "_count", model=model), 0, model)
            self.assertEqual(m.sum(GA_SERVER + "_count", gen_ai_request_model=model), 0, model)
        # per chunk: the client saw 8 chunks without usage, 2 before giving up
        self.assertEqual(m.sum(GA_CLIENT + "_count", gen_ai_request_model="tpot-no-usage"), 1)
        self.assertEqual(m.sum(GA_CLIENT + "_count", gen_ai_request_model="tpot-gave-up"), 1)
        self.assertEqual(m.sum(GA_CLIENT + "_count", gen_ai_request_model="tpot-one-token"), 0)
        self.assertEqual(m.sum(GA_CLIENT + "_count", gen_ai_request_model="tpot-plain"), 0)
        self.assertHistogram(m, GA_CLIENT, [lines[(rids[0], "source")]], lambda e: 8,
                             gen_ai_request_model="tpot-no-usage")


if __name__ == "__main__":
    tt.main()
