"""Prometheus native histograms over the protobuf exposition: Debian's
Prometheus with --enable-feature=native-histograms and a second one without
it (the classic text scrape) scrape one tokenringd while shimmed curl calls
demo/llm_server.py. Over the native series, histogram_count equals the exact
number of requests, histogram_sum equals the classic _sum, and
histogram_quantile lands in the classic bucket that holds the classic
quantile, for every tokenring and gen_ai histogram (durations, TTFT, time
per output token and chunk, token usage); the native scrape carries no
classic bucket series for them, and every counter arrives the same through
both formats."""
import json
import os
import subprocess
import sys
import tempfile
import shutil
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "features"))
from features import CHAT, MESSAGES, Daemon, LLMServer, curl, tt  # noqa: E402
from tokenring_test import clean_env, free_port, wait_for  # noqa: E402  (tests/pylib)

PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
PLAIN = 24   # requests per model, plain
STREAM = 12  # requests per model, streamed
MODELS = ("gpt-4o", "qwen-max")
# a label value the exposition must escape (quote, backslash, brace, newline)
ODD_MODEL = 'we"ird\\mo}del{\nx'

# Fine buckets at schema 6 are 1.09% wide: the native quantile may sit that
# far outside the classic bucket only through the interpolation inside it.
FINE = 2 ** (1 / 64) - 1


class Prometheus:
    def __init__(self, tmp, name, target_port, native):
        self.port = free_port()
        cfg = os.path.join(tmp, name + ".yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: tokenringd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        args = [PROMETHEUS, "--config.file=" + cfg,
                "--storage.tsdb.path=" + os.path.join(tmp, name + "-tsdb"),
                "--web.listen-address=127.0.0.1:%d" % self.port]
        if native:
            args.append("--enable-feature=native-histograms")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log, env=clean_env())

    def query(self, expr):
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=60) as r:
            doc = json.loads(r.read())
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def scalar(self, expr):
        res = self.query(expr)
        assert len(res) == 1, (expr, res)
        return float(res[0]["value"][1])

    def up(self):
        try:
            return len(self.query("up == 1")) == 1
        except (urllib.error.URLError, ConnectionError):
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


class NativeHistograms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tokenring-native-")
        cls.daemon = Daemon()
        cls.server = LLMServer(cls.daemon, "llm-server", "--token-delay-ms", "3")
        cls.native = Prometheus(cls.tmp, "native", cls.daemon.port, native=True)
        cls.classic = Prometheus(cls.tmp, "classic", cls.daemon.port, native=False)
        # traffic: plain and streamed calls per model, a spread of latencies
        # (stream length sets the duration)
        url = cls.server.url + CHAT
        for model in MODELS:
            for i in range(PLAIN):
                curl(cls.daemon, "caller", url, {"model": model, "messages": MESSAGES})
            for i in range(STREAM):
                curl(cls.daemon, "caller", url,
                     {"model": model, "messages": MESSAGES * (1 + i), "stream": True,
                      "max_tokens": 4 + 8 * i, "stream_options": {"include_usage": True}})
        curl(cls.daemon, "caller", url, {"model": ODD_MODEL, "messages": MESSAGES})
        n = len(MODELS) * (PLAIN + STREAM) + 1
        q = 'sum(tokenring_requests_total{reporter="source"})'
        wait_for(lambda: cls.daemon.metrics().sum("tokenring_requests_total", reporter="source")
                 == n, timeout=60, what="the daemon to count every request")
        for p in (cls.native, cls.classic):
            wait_for(p.up, timeout=120, what="Prometheus to scrape")
            wait_for(lambda: p.query(q) and float(p.query(q)[0]["value"][1]) == n,
                     timeout=120, what="a scrape after the traffic")
        # one more scrape interval so the histograms came from the same moment
        time.sleep(2.5)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.native, cls.classic):
            p.stop()
        cls.server.stop()
        cls.daemon.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def sel(self, model, reporter="source"):
        return '{model="%s",reporter="%s"}' % (model, reporter)

    def test_scrape_is_protobuf_with_native_histograms(self):
        r = subprocess.run(
            ["curl", "-sf", "-D", "-", "-o", os.devnull, "-H",
             "Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
             "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
             "http://127.0.0.1:%d/metrics" % self.daemon.port],
            stdout=subprocess.PIPE, text=True, env=clean_env(), timeout=30)
        self.assertIn("content-type: application/vnd.google.protobuf; "
                      "proto=io.prometheus.client.metricfamily; encoding=delimited",
                      r.stdout.lower())
        # the native Prometheus holds no classic bucket series for sketched
        # histograms, the classic one does
        name = "tokenring_request_duration_seconds_bucket"
        self.assertEqual(self.native.query(name), [])
        self.assertTrue(self.classic.query(name))

    def test_counters_agree_between_formats(self):
        for name in ("tokenring_requests_total", "tokenring_prompt_tokens_total",
                     "tokenring_completion_tokens_total", "tokenring_series"):
            expr = "sum(%s)" % name
            self.assertEqual(self.native.scalar(expr), self.classic.scalar(expr), name)
        by_model = {r["metric"]["model"]: float(r["value"][1]) for r in self.native.query(
            'sum by (model) (tokenring_requests_total{reporter="source"})')}
        want = {m: PLAIN + STREAM for m in MODELS}
        # the shim keeps the model as the request's JSON has it (escapes and
        # all): a label value full of quotes and backslashes, which both
        # formats must carry back to the same bytes
        want[ODD_MODEL] = 1  # JSON escapes decoded: the name the client meant
        self.assertEqual(by_model, want)
        classic = {r["metric"]["model"]: float(r["value"][1]) for r in self.classic.query(
            'sum by (model) (tokenring_requests_total{reporter="source"})')}
        self.assertEqual(classic, want)

    def check_histogram(self, name, model, reporter, want_count, sel=None):
        s = sel or self.sel(model, reporter)
        native = "sum(%s%s)" % (name, s)
        count = self.native.scalar("histogram_count(%s)" % native)
        self.assertEqual(count, want_count, (name, model, reporter))
        self.assertEqual(count, self.classic.scalar("sum(%s_count%s)" % (name, s)))
        total = self.native.scalar("histogram_sum(%s)" % native)
        classic_sum = self.classic.scalar("sum(%s_sum%s)" % (name, s))
        self.assertAlmostEqual(total, classic_sum, delta=1e-9 * max(1, classic_sum))
        bounds = sorted(float(r["metric"]["le"]) for r in self.classic.query(
            "sum by (le) (%s_bucket%s)" % (name, s)))
        for q in (0.1, 0.5, 0.9, 0.99):
            qn = self.native.scalar("histogram_quantile(%s, %s)" % (q, native))
            qc = self.classic.scalar("histogram_quantile(%s, sum by (le) (%s_bucket%s))"
                                     % (q, name, s))
            lo = max([b for b in bounds if b < qc], default=0.0)
            hi = min(b for b in bounds if b >= qc)
            self.assertTrue(lo * (1 - FINE) <= qn <= hi * (1 + FINE),
                            "%s %s q=%s: native %g outside classic bucket (%g, %g] of %g"
                            % (name, model, q, qn, lo, hi, qc))

    def test_native_histograms_agree_with_classic_and_exact_counts(self):
        for model in MODELS:
            for reporter in ("source", "destination"):
                self.check_histogram("tokenring_request_duration_seconds", model, reporter,
                                     PLAIN + STREAM)
                self.check_histogram("tokenring_time_to_first_token_seconds", model,
                                     reporter, STREAM)
                # every stream asked for usage and got > 1 output token
                self.check_histogram("tokenring_time_per_output_token_seconds", model,
                                     reporter, STREAM)

    def test_gen_ai_native_histograms(self):
        """Every gen_ai histogram is native: count, sum and quantiles agree
        with the classic series and the traffic, and no classic bucket
        series is stored from the protobuf scrape."""
        for model in MODELS:
            s = '{gen_ai_request_model="%s"}' % model
            for name, want in (("gen_ai_client_operation_duration_seconds", PLAIN + STREAM),
                               ("gen_ai_server_request_duration_seconds", PLAIN + STREAM),
                               ("gen_ai_client_operation_time_to_first_chunk_seconds", STREAM),
                               ("gen_ai_client_operation_time_per_output_chunk_seconds", STREAM),
                               ("gen_ai_server_time_to_first_token_seconds", STREAM),
                               ("gen_ai_server_time_per_output_token_seconds", STREAM)):
                self.check_histogram(name, model, None, want, sel=s)
                self.assertEqual(self.native.query("%s_bucket%s" % (name, s)), [], name)
            # token usage, per token type, in tokens (0 in the zero bucket)
            for ttype in ("input", "output"):
                sel = '{gen_ai_request_model="%s",gen_ai_token_type="%s"}' % (model, ttype)
                self.check_histogram("gen_ai_client_token_usage", model, None,
                                     PLAIN + STREAM, sel=sel)
            self.assertEqual(self.native.query("gen_ai_client_token_usage_bucket" + s), [])


if __name__ == "__main__":
    tt.main()
