"""Usage status from real clients: available, not_requested, missing and
interrupted (the client gives up; the server resets, closes or dies), each
checked in tokenring_usage_total{status}, the access log's usage_status and
the summary log's mix. A request without usage is still counted with its
latency, status code and chunks; its tokens stay 0."""
import time
import unittest

from features import (CHAT, MESSAGES, FeatureCase, LLMServer, curl, node_client, py_client,
                      run)

from features import tt  # tests/pylib/tokenring_test.py
STATUSES = ("available", "not_requested", "missing", "interrupted")
# Stream chunks carrying text: the demo server sends 8 words by default,
# one per chunk.
WORDS = 8


class UsageStatus(FeatureCase):
    # No --label-header: no request header may become a label.

    def chat(self, model, stream=False, include_usage=False, **extra):
        body = {"model": model, "messages": MESSAGES}
        if stream:
            body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(extra)
        return body

    def sides(self, w, model):
        """Label selections of this test's requests as the clients (reporter
        source, workload w) and the server (reporter destination) saw them."""
        return ({"reporter": "source", "source_workload": w, "model": model},
                {"reporter": "destination", "model": model})

    def assertSummaryMix(self, w, status, n, chunks=0):
        """The summary log's interval lines of the clients: n requests, all
        with this usage status, and their stream chunks."""
        want = {"usage_" + s: 0 for s in STATUSES + ("none",)}
        want.update({"requests": n, "usage_" + status: n, "chunks": chunks,
                     "prompt_tokens": 0, "completion_tokens": 0})
        self.daemon.summary_mix(want, reporter="source", source_workload=w)

    def assertStatusCounts(self, m, status, n, **labels):
        """tokenring_usage_total: n with this status, none with another."""
        got = m.by("tokenring_usage_total", "status", **labels)
        self.assertEqual(got, {status: n} if n else {}, labels)

    def assertCountedWithoutTokens(self, m, n, **labels):
        """n requests, all 200, with latency observed and no tokens."""
        self.assertEqual(m.by("tokenring_requests_total", "response_code", **labels),
                         {"200": n}, labels)
        self.assertEqual(m.sum("tokenring_request_duration_seconds_count", **labels), n)
        for fam in ("prompt", "completion", "cached", "cache_creation", "reasoning"):
            self.assertEqual(m.sum("tokenring_%s_tokens_total" % fam, **labels), 0, fam)
        self.assertEqual(m.sum("gen_ai_client_token_usage_count",
                               gen_ai_request_model=labels["model"]), 0)

    def assertAccess(self, lines, status, server_logs=None):
        for (rid, rep), e in lines.items():
            self.assertEqual(e["usage_status"], status, (rid, rep))
            self.assertEqual(e["response_code"], "200", (rid, rep))
            if status != "available":
                for f in ("request_prompt_tokens", "request_completion_tokens",
                          "total_tokens", "cached_tokens", "reasoning_tokens"):
                    self.assertEqual(e[f], "-", (rid, rep, f))
            elif server_logs is not None:
                s = server_logs[rid]
                self.assertEqual((e["request_prompt_tokens"], e["request_completion_tokens"],
                                  e["total_tokens"]),
                                 (str(s["prompt_tokens"]), str(s["completion_tokens"]),
                                  str(s["total_tokens"])), (rid, rep))

    def test_available(self):
        """curl and requests (plain), httpx and the Node SDK (stream with
        include_usage) and the Node SDK (plain): all `available`, tokens as
        the server sent them."""
        w, model, url = "available-client", "st-available", self.server.url + CHAT
        rids = [self.rid(i) for i in range(5)]
        curl(self.daemon, w, url, self.chat(model), {"x-request-id": rids[0]})
        py_client(self.daemon, w, "requests",
                  [{"url": url, "body": self.chat(model), "headers": {"x-request-id": rids[1]}}])
        out = py_client(self.daemon, w, "httpx",
                        [{"url": url, "body": self.chat(model, True, True), "stream": True,
                          "headers": {"x-request-id": rids[2]}}])
        self.assertEqual(out[0]["usage"]["completion_tokens"], WORDS)
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "headers": {"x-request-id": rids[3]}},
                           {"model": model, "stream": True, "include_usage": True,
                            "headers": {"x-request-id": rids[4]}}])
        self.assertEqual([o["usage"]["total_tokens"] for o in out], [4 + WORDS] * 2)

        logs = self.server.log_for(rids)
        lines = self.daemon.access_for(rids)
        self.assertAccess(lines, "available", logs)
        m = self.daemon.metrics()
        for sel in self.sides(w, model):
            self.assertStatusCounts(m, "available", 5, **sel)
            self.assertEqual(m.sum("tokenring_prompt_tokens_total", **sel), 5 * 4)
            self.assertEqual(m.sum("tokenring_completion_tokens_total", **sel), 5 * WORDS)
        self.daemon.summary_mix({"requests": 5, "usage_available": 5, "usage_not_requested": 0,
                                 "usage_missing": 0, "usage_interrupted": 0,
                                 "prompt_tokens": 5 * 4, "completion_tokens": 5 * WORDS,
                                 "chunks": 2 * WORDS},
                                reporter="source", source_workload=w)

    def test_not_requested(self):
        """Streams without stream_options.include_usage from curl, httpx and
        the Node SDK: `not_requested`, counted with latency, TTFT and their
        chunks, tokens never guessed."""
        w, model, url = "notreq-client", "st-not-requested", self.server.url + CHAT
        rids = [self.rid(i) for i in range(3)]
        curl(self.daemon, w, url, self.chat(model, True), {"x-request-id": rids[0]})
        py_client(self.daemon, w, "httpx", [{"url": url, "body": self.chat(model, True),
                                             "stream": True,
                                             "headers": {"x-request-id": rids[1]}}])
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "stream": True,
                            "headers": {"x-request-id": rids[2]}}])
        self.assertEqual(out[0]["usage"], None)

        logs = self.server.log_for(rids)
        self.assertEqual({l["content_chunks"] for l in logs.values()}, {WORDS})
        self.assertEqual({l["prompt_tokens"] for l in logs.values()}, {None})
        lines = self.daemon.access_for(rids)
        self.assertAccess(lines, "not_requested")
        self.assertEqual({e["chunks"] for e in lines.values()}, {str(WORDS)})
        self.assertEqual({e["streaming"] for e in lines.values()}, {"true"})
        m = self.daemon.metrics()
        for sel in self.sides(w, model):
            self.assertStatusCounts(m, "not_requested", 3, **sel)
            self.assertCountedWithoutTokens(m, 3, **sel)
            self.assertEqual(m.sum("tokenring_stream_chunks_total", **sel), 3 * WORDS)
            self.assertEqual(m.sum("tokenring_time_to_first_token_seconds_count", **sel), 3)
            self.assertEqual(m.sum("tokenring_time_per_output_token_seconds_count", **sel), 0)
        self.assertSummaryMix(w, "not_requested", 3, 3 * WORDS)

    def test_missing(self):
        """Complete responses without usage (x-mock-no-usage): a plain one
        from requests, an OpenAI stream that asked for usage from the Node
        SDK, an Anthropic stream from curl, a responses-API stream (which
        has no include_usage option) from httpx: `missing`."""
        w, model = "missing-client", "st-missing"
        rids = [self.rid(i) for i in range(4)]
        no_usage = {"x-mock-no-usage": "1"}
        py_client(self.daemon, w, "requests",
                  [{"url": self.server.url + CHAT, "body": self.chat(model),
                    "headers": dict(no_usage, **{"x-request-id": rids[0]})}])
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "stream": True, "include_usage": True,
                            "headers": dict(no_usage, **{"x-request-id": rids[1]})}])
        self.assertEqual((out[0]["usage"], out[0]["error"]), (None, None))
        curl(self.daemon, w, self.server.url + "/v1/messages",
             {"model": model, "max_tokens": WORDS, "stream": True, "messages": MESSAGES},
             dict(no_usage, **{"x-request-id": rids[2], "anthropic-version": "2023-06-01"}))
        py_client(self.daemon, w, "httpx",
                  [{"url": self.server.url + "/v1/responses", "stream": True,
                    "body": {"model": model, "input": "one two three four", "stream": True},
                    "headers": dict(no_usage, **{"x-request-id": rids[3]})}])

        logs = self.server.log_for(rids)
        self.assertEqual([logs[r]["aborted"] for r in rids], [None] * 4)
        lines = self.daemon.access_for(rids)
        self.assertAccess(lines, "missing")
        self.assertEqual([(lines[(r, "source")]["provider"], lines[(r, "source")]["operation"])
                          for r in rids], [("openai", "chat"), ("openai", "chat"),
                                           ("anthropic", "chat"), ("openai", "responses")])
        self.assertEqual([lines[(r, "source")]["chunks"] for r in rids], ["0", "8", "8", "8"])
        m = self.daemon.metrics()
        for sel in self.sides(w, model):
            self.assertStatusCounts(m, "missing", 4, **sel)
            self.assertCountedWithoutTokens(m, 4, **sel)
            self.assertEqual(m.sum("tokenring_stream_chunks_total", **sel), 3 * WORDS)
        self.assertSummaryMix(w, "missing", 4, 3 * WORDS)

    def test_error_responses(self):
        """Provider errors (x-mock-status 429 and 500) to the Node SDK and
        curl carry no usage: `missing`, counted under their status codes
        (the summary's 4xx and 5xx), no tokens."""
        w, model = "error-client", "st-error"
        rids = [self.rid(i) for i in range(3)]
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "headers": {"x-request-id": rids[0],
                                                        "x-mock-status": "429"}},
                           {"model": model, "stream": True, "include_usage": True,
                            "headers": {"x-request-id": rids[1], "x-mock-status": "500"}}])
        self.assertEqual([o["error"] for o in out], ["RateLimitError", "InternalServerError"])
        r = curl(self.daemon, w, self.server.url + "/v1/messages",
                 {"model": model, "max_tokens": 8, "messages": MESSAGES},
                 {"x-request-id": rids[2], "x-mock-status": "429"})
        self.assertIn('"rate_limit_error"', r.stdout)
        lines = self.daemon.access_for(rids)
        self.assertEqual([lines[(r, "source")]["response_code"] for r in rids],
                         ["429", "500", "429"])
        for e in lines.values():
            self.assertEqual((e["usage_status"], e["request_prompt_tokens"]), ("missing", "-"))
        m = self.daemon.metrics()
        for sel in self.sides(w, model):
            self.assertEqual(m.by("tokenring_requests_total", "response_code", **sel),
                             {"429": 2, "500": 1})
            self.assertStatusCounts(m, "missing", 3, **sel)
            self.assertEqual(m.sum("tokenring_prompt_tokens_total", **sel), 0)
        self.daemon.summary_mix({"requests": 3, "4xx": 2, "5xx": 1, "successes": 0,
                                 "usage_missing": 3, "prompt_tokens": 0},
                                reporter="source", source_workload=w)

    def test_interrupted_client_gives_up(self):
        """httpx closes the stream after 2 events, the Node SDK breaks out
        of its loop after 2 chunks (aborting the fetch), requests times out
        on a server gone silent after 3 events: `interrupted` on both sides
        (the silent server closes later); the chunks read so far are kept."""
        w, model, url = "giveup-client", "st-client-gone", self.server.url + CHAT
        rids = [self.rid(i) for i in range(3)]
        slow = {"x-mock-token-delay-ms": "200"}
        out = py_client(self.daemon, w, "httpx",
                        [{"url": url, "body": self.chat(model, True, True), "stream": True,
                          "close_after": 2, "headers": dict(slow, **{"x-request-id": rids[0]})}])
        self.assertEqual((out[0]["data_lines"], out[0]["error"]), (2, None))
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "stream": True, "include_usage": True,
                            "abort_after": 2, "headers": dict(slow, **{"x-request-id": rids[1]})}])
        self.assertEqual((out[0]["chunks"], out[0]["content"]), (2, "The "))
        out = py_client(self.daemon, w, "requests",
                        [{"url": url, "body": self.chat(model, True, True), "stream": True,
                          "timeout": 0.3,
                          "headers": {"x-request-id": rids[2], "x-mock-abort-after": "3",
                                      "x-mock-abort-mode": "hang", "x-mock-hang-ms": "1500"}}])
        self.assertEqual((out[0]["data_lines"], out[0]["error"]), (3, "ConnectionError"))

        logs = self.server.log_for(rids)
        self.assertEqual([(logs[r]["client_gone"], logs[r]["aborted"]) for r in rids],
                         [(True, None), (True, None), (False, "hang")])
        lines = self.daemon.access_for(rids)
        self.assertAccess(lines, "interrupted")
        # the clients read the role chunk and one word (two before the
        # silence); the server's side counts what it wrote
        self.assertEqual([lines[(r, "source")]["chunks"] for r in rids], ["1", "1", "2"])
        for r in rids:
            self.assertEqual(lines[(r, "destination")]["chunks"], str(logs[r]["content_chunks"]))
            self.assertEqual(lines[(r, "source")]["response_flags"], "UPE")
        m = self.daemon.metrics()
        for sel in self.sides(w, model):
            self.assertStatusCounts(m, "interrupted", 3, **sel)
            self.assertCountedWithoutTokens(m, 3, **sel)
        self.assertEqual(m.sum("tokenring_stream_chunks_total", reporter="source",
                               source_workload=w), 4)
        self.assertSummaryMix(w, "interrupted", 3, 4)

    def test_interrupted_server_fails(self):
        """The server cuts the stream after 3 events: with a RST (curl), a
        FIN before the last chunk (Node SDK) and by dying (requests; a
        server of its own); it cuts a plain body after 40 bytes (curl):
        `interrupted` for every client. The dying server records nothing;
        the others record `interrupted` too."""
        w, model, url = "srvfail-client", "st-server-gone", self.server.url + CHAT
        rids = [self.rid(i) for i in range(4)]
        cut = {"x-mock-abort-after": "3"}
        r = curl(self.daemon, w, url, self.chat(model, True, True),
                 dict(cut, **{"x-mock-abort-mode": "reset", "x-request-id": rids[0]}),
                 check=False)
        self.assertIn(r.returncode, (18, 56))  # partial file / recv failure
        out = node_client(self.daemon, w, self.server.url + "/v1",
                          [{"model": model, "stream": True, "include_usage": True,
                            "headers": dict(cut, **{"x-mock-abort-mode": "close",
                                                    "x-request-id": rids[1]})}])
        # undici's "terminated" TypeError, after the 3 chunks that came
        self.assertEqual((out[0]["chunks"], out[0]["error"]), (3, "TypeError"))
        dying = LLMServer(self.daemon, "llm-server-dying")
        try:
            out = py_client(self.daemon, w, "requests",
                            [{"url": dying.url + CHAT, "body": self.chat(model, True, True),
                              "stream": True,
                              "headers": dict(cut, **{"x-mock-abort-mode": "exit",
                                                      "x-request-id": rids[2]})}])
            self.assertEqual(out[0]["error"], "ChunkedEncodingError")
            self.assertEqual(dying.proc.wait(timeout=10), 0)
            self.assertEqual(dying.log_for(rids[2:3])[rids[2]]["aborted"], "exit")
        finally:
            dying.stop()

        r = curl(self.daemon, w, url, self.chat(model),
                 {"x-mock-abort-after": "40", "x-request-id": rids[3]}, check=False)
        self.assertEqual(r.returncode, 18)  # partial file

        alive = rids[:2] + rids[3:]
        logs = self.server.log_for(alive)
        self.assertEqual([logs[r]["aborted"] for r in alive], ["reset", "stream", "body"])
        lines = self.daemon.access_for(alive)
        lines.update(self.daemon.access_for(rids[2:3], reporters=("source",)))
        self.assertAccess(lines, "interrupted")
        # what was sent before the cut: the role chunk and two words
        self.assertEqual({e["chunks"] for (rid, _), e in lines.items() if rid != rids[3]},
                         {"2"})
        self.assertEqual((lines[(rids[3], "source")]["chunks"],
                          lines[(rids[3], "source")]["streaming"]), ("0", "false"))
        time.sleep(0.2)  # a destination line for the dead server would be here by now
        self.assertEqual([e for e in self.daemon.access() if e["request_id"] == rids[2]
                          and e["reporter"] == "destination"], [])
        m = self.daemon.metrics()
        sel = dict(reporter="source", source_workload=w, model=model)
        self.assertStatusCounts(m, "interrupted", 4, **sel)
        self.assertCountedWithoutTokens(m, 4, **sel)
        self.assertEqual(m.sum("tokenring_stream_chunks_total", **sel), 3 * 2)
        sel = dict(reporter="destination", model=model)
        self.assertStatusCounts(m, "interrupted", 3, **sel)
        self.assertCountedWithoutTokens(m, 3, **sel)
        self.assertSummaryMix(w, "interrupted", 4, 3 * 2)

    def test_none_for_plain_http(self):
        """With TOKENRING_HTTP=all a non-LLM request (GET /healthz) is
        recorded with usage status `none`, apart from the LLM statuses."""
        w, rid = "plain-http-client", self.rid(0)
        run(["curl", "-sf", "-H", "x-request-id: " + rid, self.server.url + "/healthz"],
            self.daemon.env(w, TOKENRING_HTTP="all"))
        e = self.daemon.access_for([rid], reporters=("source",))[(rid, "source")]
        self.assertEqual((e["usage_status"], e["response_code"], e["request_model"]),
                         ("none", "200", "-"))
        m = self.daemon.metrics()
        self.assertEqual(m.by("tokenring_usage_total", "status", source_workload=w),
                         {"none": 1})
        self.assertSummaryMix(w, "none", 1)

    def test_no_header_label_unless_configured(self):
        """Without --label-header, x-team and x-tenant-id reach no metric
        label and no access log field."""
        w, model = "nolabel-client", "st-nolabel"
        rid = self.rid(0)
        curl(self.daemon, w, self.server.url + CHAT, self.chat(model),
             {"x-request-id": rid, "x-team": "red", "x-tenant-id": "acme"})
        lines = self.daemon.access_for([rid])
        for e in lines.values():
            self.assertFalse({"team", "tenant", "x-team", "x-tenant-id"} & set(e), e)
            self.assertNotIn("red", e.values())
        m = self.daemon.metrics()
        self.assertEqual(m.sum("tokenring_requests_total", source_workload=w), 1)
        names = m.label_names("tokenring_") | m.label_names("gen_ai_")
        self.assertFalse({"team", "tenant", "x_team", "x_tenant_id"} & names, names)
        self.assertNotIn('"red"', m.text)


if __name__ == "__main__":
    tt.main()
