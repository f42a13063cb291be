"""Labels from request headers (--label-header NAME=HEADER, or the config
file's "label-header"), bounded by --label-max-values: past the bound a new
value folds into "__other__" and tokenring_label_overflow_total{label}
counts the records. The model label has the same bound, apart from
--max-series: junk model names fold while the known models keep their
series. Each test has its own daemon (the value sets live as long as it)."""
import json
import os
import unittest

from features import CHAT, MESSAGES, FeatureCase, curl, node_client, py_client

from features import tt  # tests/pylib/tokenring_test.py
BOUND = 3


class Labels(FeatureCase):
    DAEMON_ARGS = ("--label-header", "team=x-team", "--label-header", "tenant=x-tenant-id",
                   "--label-max-values", str(BOUND))

    PER_TEST = True  # the value sets live as long as the daemon

    def body(self, model):
        return {"model": model, "messages": MESSAGES}

    def overflow(self, m):
        return m.by("tokenring_label_overflow_total", "label")

    def test_header_labels_bounded(self):
        """team from x-team and tenant from x-tenant-id, from curl (sending
        X-Team), requests and the Node SDK: 3 team values get series (one
        with a quote and a backslash, escaped in the exposition), the 4th
        and 5th fold into __other__ (counted once per record, by both
        reporters), a known value keeps its series, a request without the
        header has team=""; the access log keeps the header as sent, cut
        at 31 bytes; a header that is not configured is no label."""
        model, url = "lb-model", self.server.url + CHAT
        odd = 'gr"ee\\n'
        teams = ["red", "blue", odd, "y" * 40, "purple", "red", None]
        rids = [self.rid(i) for i in range(len(teams))]
        hdr = []
        # tenant has a bound of its own: its 3 values all fit
        tenants = ["acme", "acme", "globex", "initech", "acme", "acme", "acme"]
        for rid, team, tenant in zip(rids, teams, tenants):
            h = {"x-request-id": rid, "x-tenant-id": tenant, "x-other": "not-a-label"}
            if team:
                h["X-Team" if len(hdr) < 3 else "x-team"] = team
            hdr.append(h)
        for h in hdr[:3]:
            curl(self.daemon, "lb-curl", url, self.body(model), h)
        py_client(self.daemon, "lb-requests", "requests",
                  [{"url": url, "body": self.body(model), "headers": h} for h in hdr[3:5]])
        node_client(self.daemon, "lb-node", self.server.url + "/v1",
                    [{"model": model, "headers": h} for h in hdr[5:]])

        lines = self.daemon.access_for(rids)
        for rid, team, tenant in zip(rids, teams, tenants):
            for rep in ("source", "destination"):
                e = lines[(rid, rep)]
                self.assertEqual((e["team"], e["tenant"]), ((team or "-")[:31], tenant),
                                 (rid, rep))
                self.assertNotIn("other", e)
        m = self.daemon.metrics()
        for rep in ("source", "destination"):
            self.assertEqual(m.by("tokenring_requests_total", "team", reporter=rep),
                             {"red": 2, "blue": 1, odd: 1, "__other__": 2, "": 1}, rep)
            self.assertEqual(m.by("tokenring_usage_total", "tenant", reporter=rep),
                             {"acme": 5, "globex": 1, "initech": 1}, rep)
            self.assertEqual(m.by("tokenring_prompt_tokens_total", "team", reporter=rep),
                             {"red": 8, "blue": 4, odd: 4, "__other__": 8, "": 4}, rep)
        self.assertEqual(self.overflow(m),
                         {"team": 4, "tenant": 0, "model": 0, "response_model": 0})
        # every tokenring series has both labels; gen_ai's attributes are
        # the spec's, so header labels are not among them
        tr = [lab for n, lab, _ in m.samples if n.startswith("tokenring_requests_total")]
        self.assertTrue(tr and all("team" in lab and "tenant" in lab for lab in tr))
        self.assertFalse({"team", "tenant"} & m.label_names("gen_ai_"))
        self.assertFalse({"other", "x_other"} & m.label_names("tokenring_"))
        self.daemon.summary_mix({"requests": 2, "usage_available": 2, "usage_not_requested": 0,
                                 "usage_missing": 0, "usage_interrupted": 0, "usage_none": 0},
                                reporter="source", team="__other__")

    def test_model_bound(self):
        """3 known models fill the bound; 6 random model names from requests
        fold into model="__other__" (and response_model, which echoes them),
        the known models keep their series when they come back, and the
        access log keeps the real names."""
        url = self.server.url + CHAT
        known = ["gpt-4o", "claude-sonnet", "qwen-max"]
        junk = ["junk-%s" % os.urandom(6).hex() for _ in range(6)]
        rids = [self.rid(i) for i in range(len(known) * 2 + len(junk))]
        it = iter(rids)
        for model in known:
            curl(self.daemon, "mb-client", url, self.body(model), {"x-request-id": next(it)})
        py_client(self.daemon, "mb-client", "requests",
                  [{"url": url, "body": self.body(model), "headers": {"x-request-id": next(it)}}
                   for model in junk])
        node_client(self.daemon, "mb-client", self.server.url + "/v1",
                    [{"model": model, "headers": {"x-request-id": next(it)}} for model in known])
        lines = self.daemon.access_for(rids)
        sent = known + junk + known
        for rid, model in zip(rids, sent):
            self.assertEqual(lines[(rid, "source")]["request_model"], model)
        m = self.daemon.metrics()
        want = {"gpt-4o": 2, "claude-sonnet": 2, "qwen-max": 2, "__other__": 6}
        for rep in ("source", "destination"):
            self.assertEqual(m.by("tokenring_requests_total", "model", reporter=rep), want, rep)
            self.assertEqual(m.by("tokenring_completion_tokens_total", "model", reporter=rep),
                             {k: 8 * v for k, v in want.items()}, rep)
        self.assertEqual(m.by("gen_ai_client_operation_duration_seconds_count",
                              "gen_ai_request_model"), want)
        self.assertEqual(self.overflow(m), {"model": 12, "response_model": 12, "team": 0,
                                            "tenant": 0})
        self.assertEqual(m.sum("tokenring_series_overflow_total"), 0)
        self.assertEqual(m.sum("tokenring_series"), 8)  # 4 models x 2 reporters

    def test_config_file_keys(self):
        """The same labels from the config file's "label-header" object and
        "label-max-values": one value past the bound folds."""
        self.stop(self)
        cfg = self.daemon.dir + "-cfg.json"
        with open(cfg, "w") as f:
            json.dump({"label-header": {"team": "x-team"}, "label-max-values": 1}, f)
        try:
            self.start(self, ("--config", cfg))
            rids = [self.rid(i) for i in range(2)]
            for rid, team in zip(rids, ("red", "blue")):
                curl(self.daemon, "cfg-client", self.server.url + CHAT, self.body("cfg-model"),
                     {"x-request-id": rid, "x-team": team})
            lines = self.daemon.access_for(rids)
            self.assertEqual([lines[(r, "source")]["team"] for r in rids], ["red", "blue"])
            m = self.daemon.metrics()
            self.assertEqual(m.by("tokenring_requests_total", "team", reporter="source"),
                             {"red": 1, "__other__": 1})
            self.assertEqual(self.overflow(m)["team"], 2)
        finally:
            os.unlink(cfg)


if __name__ == "__main__":
    tt.main()
