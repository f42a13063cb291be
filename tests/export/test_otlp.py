"""OTLP/HTTP push: tokenringd sends its table to a receiver built on
OpenTelemetry's own generated OTLP types (otlp_receiver.js), while shimmed
curl calls demo/llm_server.py. The values the receiver decodes equal the
daemon's exposition and the traffic; the OpenTelemetry environment
variables turn the exporter on and a flag wins over its variable; 503 with
Retry-After is retried after that long; a receiver down at start gets the
data once it is up; a partial-success answer is counted; a receiver that
never answers in time leaves ingest exact, the queue bounded and the drops
counted. With delta temporality (the variable or the flag), the points of
every delivered export add up to exactly the traffic, each export starting
where the previous one ended, across a retried batch and across a full
queue (the export is deferred, nothing dropped)."""
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "features"))
from features import CHAT, MESSAGES, Daemon, LLMServer, curl, tt  # noqa: E402
from tokenring_test import clean_env, free_port, wait_for  # noqa: E402  (tests/pylib)

RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "otlp_receiver.js")
MODELS = ("gpt-4o", "qwen-max")


class Receiver:
    def __init__(self, port=0):
        self.proc = subprocess.Popen(["node", RECEIVER, str(port)], stdout=subprocess.PIPE,
                                     text=True, env=clean_env())
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), "receiver did not start: %r" % line
        self.port = int(line.split()[2])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, **c):
        req = urllib.request.Request(self.url + "/control", data=json.dumps(c).encode(),
                                     method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def received(self):
        with urllib.request.urlopen(self.url + "/received", timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def port_outside_ephemeral():
    """A free loopback port below the ephemeral range, for a receiver that
    starts after the daemon has been trying it: the daemon's own connect
    attempts take ephemeral source ports, and one of those equal to the
    destination connects to itself (TCP simultaneous open) and holds the
    port the receiver then cannot bind (seen under load)."""
    import random
    import socket
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo = int(f.read().split()[0])
    for port in random.sample(range(max(1024, lo - 10000), lo), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below the ephemeral range %d" % lo)


def attrs(kvs):
    out = {}
    for kv in kvs or []:
        v = kv["value"]
        out[kv["key"]] = v.get("stringValue", v.get("intValue"))
    return out


def metrics_of(body):
    """{metric name: metric} of one decoded export."""
    (rm,) = body["resourceMetrics"]
    (sm,) = rm["scopeMetrics"]
    return ({m["name"]: m for m in sm.get("metrics", [])},  # none before any traffic
            attrs(rm["resource"]["attributes"]))


def requests_in(body):
    """tokenring.requests summed over an export (0 when absent)."""
    ms, _ = metrics_of(body)
    m = ms.get("tokenring.requests")
    return sum(int(p["asInt"]) for p in points(m)[1]) if m else 0


def points(metric):
    for kind in ("sum", "histogram", "exponentialHistogram"):
        if kind in metric:
            return kind, metric[kind]["dataPoints"]
    raise AssertionError("no data in %s" % metric["name"])


def traffic(daemon, server, n_plain=6, n_stream=3):
    url = server.url + CHAT
    for model in MODELS:
        for _ in range(n_plain):
            curl(daemon, "caller", url, {"model": model, "messages": MESSAGES})
        for i in range(n_stream):
            curl(daemon, "caller", url, {"model": model, "messages": MESSAGES, "stream": True,
                                         "max_tokens": 4 + 4 * i,
                                         "stream_options": {"include_usage": True}})
    return len(MODELS) * (n_plain + n_stream)


class Case(unittest.TestCase):
    maxDiff = None

    def receive(self, port=0, **control):
        self.receiver = Receiver(port)
        self.addCleanup(self.receiver.stop)
        if control:
            self.receiver.control(**control)
        return self.receiver

    def start(self, env, *args):
        self.daemon = Daemon(*args, env=env)
        self.addCleanup(self.daemon.stop)
        self.server = LLMServer(self.daemon, "llm-server")
        self.addCleanup(self.server.stop)

    def self_metric(self, name):
        return self.daemon.metrics().sum(name)

    def export_with(self, pred, timeout=60):
        """The first received export (decoded) satisfying pred."""
        def find():
            for e in self.receiver.received():
                if e.get("status") == 200 and pred(e):
                    return e
            return None
        return wait_for(find, timeout=timeout, what="an export")

    def assert_consistent(self, p, prom, m):
        """For each classic boundary le of the same series: the samples <= le
        (exact, from the classic bucket) lie between the exponential buckets
        wholly <= le and those plus the one straddling le."""
        a = attrs(p["attributes"])
        sel = {"gen_ai_request_model": a["gen_ai.request.model"]}
        base = 2 ** (2 ** -p["scale"])
        # a point whose samples are all 0 (a stream read in one go: time
        # per output token 0) has only the zero bucket
        pos = p.get("positive", {})
        off = pos.get("offset", 0)
        counts = [int(c) for c in pos.get("bucketCounts", [])]
        zero = int(p.get("zeroCount", 0))
        for lab, cum in m.select(prom + "_bucket", **sel):
            le = float(lab["le"])
            if le == float("inf"):
                continue
            below = zero + sum(c for i, c in enumerate(counts) if base ** (off + i + 1) <= le)
            straddle = sum(c for i, c in enumerate(counts)
                           if base ** (off + i) < le < base ** (off + i + 1))
            self.assertTrue(below <= cum <= below + straddle, (prom, le, below, cum, straddle))


class Values(Case):
    def test_values_equal_the_exposition_and_the_traffic(self):
        r = self.receive()
        # the variables alone turn it on; the base endpoint gets /v1/metrics
        self.start({"OTEL_EXPORTER_OTLP_ENDPOINT": r.url,
                    "OTEL_METRIC_EXPORT_INTERVAL": "300",
                    "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
                    "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s3cret,x-team=a%20b",
                    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test%20env,"
                                                "service.name=llm-node",
                    "NODE_NAME": "node-7", "POD_NAMESPACE": "observability"})
        n = traffic(self.daemon, self.server)
        wait_for(lambda: self.daemon.metrics().sum("tokenring_requests_total") == 2 * n,
                 timeout=30, what="both reporters counted")

        e = self.export_with(lambda e: requests_in(e["body"]) == 2 * n)
        self.assertEqual(e["path"], "/v1/metrics")
        self.assertTrue(e["gzip"])
        self.assertEqual(e["headers"]["x-api-key"], "s3cret")
        self.assertEqual(e["headers"]["x-team"], "a b")
        ms, res = metrics_of(e["body"])
        self.assertEqual(res["service.name"], "llm-node")  # OTEL_RESOURCE_ATTRIBUTES wins
        self.assertEqual(res["deployment.environment"], "test env")
        self.assertEqual(res["k8s.node.name"], "node-7")
        self.assertEqual(res["k8s.namespace.name"], "observability")
        self.assertEqual(res["host.name"], os.uname().nodename)
        m = self.daemon.metrics()  # nothing new since: the same numbers

        # requests per model and reporter
        for model in MODELS:
            for rep in ("source", "destination"):
                got = sum(int(p["asInt"]) for p in points(ms["tokenring.requests"])[1]
                          if attrs(p["attributes"])["gen_ai.request.model"] == model and
                          attrs(p["attributes"])["tokenring.reporter"] == rep)
                self.assertEqual(got, n // len(MODELS), (model, rep))
        # token usage = the token counters (client side)
        kind, pts = points(ms["gen_ai.client.token.usage"])
        self.assertEqual(kind, "exponentialHistogram")  # from the token sketches
        self.assertEqual(ms["gen_ai.client.token.usage"]["unit"], "{token}")
        for ttype, counter in (("input", "tokenring_prompt_tokens_total"),
                               ("output", "tokenring_completion_tokens_total")):
            # (a sum of 0 is left out by protobuf's JSON mapping: get)
            got = sum(p.get("sum", 0) for p in pts
                      if attrs(p["attributes"])["gen_ai.token.type"] == ttype)
            self.assertEqual(got, m.sum(counter, reporter="source"), ttype)
            self.assertGreater(got, 0)
            count = sum(int(p["count"]) for p in pts
                        if attrs(p["attributes"])["gen_ai.token.type"] == ttype)
            self.assertEqual(count, m.sum("gen_ai_client_token_usage_count",
                                          gen_ai_token_type=ttype), ttype)
        # durations: exponential histograms with the classic histogram's count and sum,
        # and buckets consistent with every classic boundary
        for name, prom, rep in (
                ("gen_ai.client.operation.duration", "gen_ai_client_operation_duration_seconds",
                 "source"),
                ("gen_ai.server.request.duration", "gen_ai_server_request_duration_seconds",
                 "destination"),
                ("gen_ai.server.time_to_first_token", "gen_ai_server_time_to_first_token_seconds",
                 "destination"),
                ("gen_ai.server.time_per_output_token",
                 "gen_ai_server_time_per_output_token_seconds", "destination"),
                ("gen_ai.client.operation.time_per_output_chunk",
                 "gen_ai_client_operation_time_per_output_chunk_seconds", "source")):
            metric = ms[name]
            self.assertEqual(metric["unit"], "s")
            kind, pts = points(metric)
            self.assertEqual(kind, "exponentialHistogram")
            self.assertEqual(metric["exponentialHistogram"]["aggregationTemporality"], 2)
            count = sum(int(p["count"]) for p in pts)
            self.assertEqual(count, m.sum(prom + "_count"), name)
            self.assertAlmostEqual(sum(p.get("sum", 0) for p in pts), m.sum(prom + "_sum"),
                                   places=6)
            for p in pts:
                self.assertEqual(p["scale"], 6)
                self.assertEqual(attrs(p["attributes"])["tokenring.reporter"], rep)
                buckets = [int(c) for c in p.get("positive", {}).get("bucketCounts", [])]
                self.assertEqual(sum(buckets) + int(p.get("zeroCount", 0)), int(p["count"]))
                self.assert_consistent(p, prom, m)

    def test_a_flag_wins_over_its_variable(self):
        dead = free_port()
        self.receive()
        self.start({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % dead,
                    "OTEL_METRIC_EXPORT_INTERVAL": "600000",
                    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta"},
                   "--otlp-endpoint", self.receiver.url + "/custom/path",
                   "--otlp-interval-ms", "200", "--otlp-temporality", "cumulative")
        traffic(self.daemon, self.server, 1, 0)
        e = self.export_with(lambda e: requests_in(e["body"]) > 0)
        self.assertEqual(e["path"], "/custom/path")
        self.assertFalse(e["gzip"])
        ms, _ = metrics_of(e["body"])
        self.assertEqual(ms["tokenring.requests"]["sum"]["aggregationTemporality"], 2)


class Delivery(Case):
    ARGS = ("--otlp-interval-ms", "300", "--otlp-timeout-ms", "2000")

    def test_503_with_retry_after_is_retried_after_that_long(self):
        self.receive(responses=[{"status": 503, "retryAfter": 2}])
        self.start({}, "--otlp-endpoint", self.receiver.url, *self.ARGS)
        wait_for(lambda: len([e for e in self.receiver.received() if e["status"] == 200]) >= 1,
                 timeout=30, what="a delivery after the 503")
        got = self.receiver.received()
        self.assertEqual(got[0]["status"], 503)
        self.assertEqual(got[1]["status"], 200)
        self.assertEqual(got[1]["bytes"], got[0]["bytes"], "the same batch, resent")
        self.assertGreaterEqual(got[1]["at"] - got[0]["at"], 2.0, "Retry-After honoured")
        wait_for(lambda: self.self_metric("tokenring_otlp_batches_retried_total") == 1,
                 timeout=10, what="the retry counted")
        self.assertEqual(self.self_metric("tokenring_otlp_batches_failed_total"), 0)

    def test_receiver_down_at_start_gets_the_data_once_up(self):
        port = port_outside_ephemeral()
        self.start({}, "--otlp-endpoint", "http://127.0.0.1:%d" % port, *self.ARGS)
        n = traffic(self.daemon, self.server, 2, 0)
        wait_for(lambda: self.self_metric("tokenring_otlp_batches_retried_total") >= 1,
                 timeout=30, what="refused attempts retried")
        self.assertEqual(self.self_metric("tokenring_otlp_batches_sent_total"), 0)
        self.receive(port)
        self.export_with(lambda e: requests_in(e["body"]) == 2 * n)
        wait_for(lambda: self.self_metric("tokenring_otlp_batches_sent_total") >= 1,
                 timeout=10, what="sent counted")

    def test_partial_success_is_counted(self):
        self.receive(responses=[{"status": 200, "rejected": 3}])
        self.start({}, "--otlp-endpoint", self.receiver.url, *self.ARGS)
        wait_for(lambda: len(self.receiver.received()) >= 3, timeout=30, what="three exports")
        self.assertEqual(self.self_metric("tokenring_otlp_rejected_points_total"), 3)
        self.assertEqual(self.self_metric("tokenring_otlp_batches_failed_total"), 0)

    def test_slow_receiver_leaves_ingest_exact_and_the_queue_bounded(self):
        self.receive(delayMs=4000)  # past the 500 ms deadline: every try times out
        self.start({}, "--otlp-endpoint", self.receiver.url, "--otlp-interval-ms", "100",
                   "--otlp-timeout-ms", "500", "--otlp-queue", "2")
        n = traffic(self.daemon, self.server, 10, 2)
        wait_for(lambda: self.daemon.metrics().sum("tokenring_requests_total") == 2 * n,
                 timeout=30, what="every request counted")
        wait_for(lambda: self.self_metric("tokenring_otlp_batches_dropped_total") >= 1,
                 timeout=30, what="a full queue dropping")
        m = self.daemon.metrics()
        self.assertLessEqual(m.sum("tokenring_otlp_queue_batches"), 2)
        self.assertEqual(m.sum("tokenring_ring_dropped_total"), 0)
        self.assertEqual(m.sum("tokenring_otlp_batches_sent_total"), 0)
        # the receiver answers again: the newest data arrives
        self.receiver.control(delayMs=0)
        self.export_with(lambda e: requests_in(e["body"]) == 2 * n, timeout=60)


class Delta(Case):
    """Delta temporality: what each export carries since the one before."""

    def delivered(self):
        """The exports the receiver accepted, in order."""
        return [e for e in self.receiver.received() if e.get("status") == 200]

    def totals(self, exports):
        """Every delta point of the exports summed per metric, attribute
        set (as a sorted tuple) and field."""
        out = {}
        for e in exports:
            ms, _ = metrics_of(e["body"])
            for name, m in ms.items():
                kind, pts = points(m)
                self.assertEqual(m[kind]["aggregationTemporality"], 1, name)
                for p in pts:
                    key = (name, tuple(sorted(attrs(p["attributes"]).items())))
                    t = out.setdefault(key, {"count": 0, "sum": 0.0, "value": 0,
                                             "buckets": {}, "scale": p.get("scale")})
                    if kind == "sum":
                        v = int(p["asInt"]) if "asInt" in p else p["asDouble"]
                        self.assertGreater(v, 0, "a delta point only where it moved")
                        t["value"] += v
                        continue
                    self.assertGreater(int(p["count"]), 0, "a delta point only where it moved")
                    t["count"] += int(p["count"])
                    t["sum"] += p.get("sum", 0)
                    if kind == "exponentialHistogram":
                        self.assertEqual(p["scale"], t["scale"])
                        off = p.get("positive", {}).get("offset", 0)
                        for i, c in enumerate((p.get("positive") or {}).get("bucketCounts", [])):
                            t["buckets"][off + i] = t["buckets"].get(off + i, 0) + int(c)
                        t["buckets"]["zero"] = (t["buckets"].get("zero", 0) +
                                                int(p.get("zeroCount", 0)))
        return out

    def assert_tiled(self, exports):
        """Each export's points start where the previous export's ended:
        the windows tile time, nothing counted twice or lost."""
        windows = []
        for e in exports:
            ms, _ = metrics_of(e["body"])
            ts = {(p["startTimeUnixNano"], p["timeUnixNano"])
                  for m in ms.values() for p in points(m)[1]}
            if ts:
                self.assertEqual(len(ts), 1, "one window per export")
                windows.append(tuple(int(x) for x in ts.pop()))
        self.assertTrue(windows)
        for (s0, e0), (s1, e1) in zip(windows, windows[1:]):
            self.assertLess(s1, e1)
            self.assertGreaterEqual(s1, e0, "windows overlap")

    def assert_exact(self, n_by_model):
        """The delivered deltas add up to the daemon's exact totals (which
        equal the traffic), per series and per bucket."""
        n = sum(n_by_model.values())
        wait_for(lambda: sum(requests_in(e["body"]) for e in self.delivered()) == 2 * n,
                 what="deltas adding up to the traffic")
        got = self.delivered()
        self.assert_tiled(got)
        tot = self.totals(got)
        m = self.daemon.metrics()
        for model, want in n_by_model.items():
            for rep in ("source", "destination"):
                v = sum(t["value"] for (name, a), t in tot.items()
                        if name == "tokenring.requests" and
                        dict(a)["gen_ai.request.model"] == model and
                        dict(a)["tokenring.reporter"] == rep)
                self.assertEqual(v, want, (model, rep))
        for ttype, counter in (("input", "tokenring_prompt_tokens_total"),
                               ("output", "tokenring_completion_tokens_total")):
            v = sum(t["sum"] for (name, a), t in tot.items()
                    if name == "gen_ai.client.token.usage" and
                    dict(a)["gen_ai.token.type"] == ttype)
            self.assertEqual(v, m.sum(counter, reporter="source"), ttype)
        for name, prom in (
                ("gen_ai.client.operation.duration", "gen_ai_client_operation_duration_seconds"),
                ("gen_ai.server.request.duration", "gen_ai_server_request_duration_seconds"),
                ("gen_ai.server.time_to_first_token",
                 "gen_ai_server_time_to_first_token_seconds")):
            series = [(a, t) for (nm, a), t in tot.items() if nm == name]
            self.assertTrue(series, name)
            self.assertEqual(sum(t["count"] for _, t in series), m.sum(prom + "_count"), name)
            self.assertAlmostEqual(sum(t["sum"] for _, t in series), m.sum(prom + "_sum"),
                                   places=6)
            for a, t in series:
                # the deltas' buckets merged: one cumulative point, which
                # must agree with every exact classic bucket of its series
                zero = t["buckets"].pop("zero", 0)
                lo = min(t["buckets"]) if t["buckets"] else 0
                hi = max(t["buckets"]) if t["buckets"] else -1
                p = {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in a],
                     "scale": t["scale"], "zeroCount": zero, "count": t["count"],
                     "positive": {"offset": lo, "bucketCounts": [
                         t["buckets"].get(i, 0) for i in range(lo, hi + 1)]}}
                self.assertEqual(sum(p["positive"]["bucketCounts"]) + zero, t["count"])
                self.assert_consistent(p, prom, m)

    def test_deltas_add_up_to_the_traffic(self):
        r = self.receive()
        # the variable alone asks delta (any case, as the SDK reads it)
        self.start({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta"},
                   "--otlp-endpoint", r.url, "--otlp-interval-ms", "200")
        n1 = traffic(self.daemon, self.server)
        wait_for(lambda: sum(requests_in(e["body"]) for e in self.delivered()) == 2 * n1,
                 what="the first round delivered")
        seen = len(self.delivered())
        # a second round on one model only: later exports carry only its series
        url = self.server.url + CHAT
        for _ in range(5):
            curl(self.daemon, "caller", url, {"model": MODELS[0], "messages": MESSAGES})
        half = n1 // len(MODELS)
        self.assert_exact({MODELS[0]: half + 5, MODELS[1]: half})
        later = set()
        for e in self.delivered()[seen:]:
            ms, _ = metrics_of(e["body"])
            for m in ms.values():
                later |= {attrs(p["attributes"])["gen_ai.request.model"] for p in points(m)[1]}
        self.assertEqual(later, {MODELS[0]})

    def test_a_retried_delta_batch_counts_once(self):
        self.receive(responses=[{"status": 503, "retryAfter": 1}] * 3)
        self.start({}, "--otlp-endpoint", self.receiver.url, "--otlp-interval-ms", "200",
                   "--otlp-temporality", "delta")
        n = traffic(self.daemon, self.server, 3, 1)
        self.assert_exact({model: n // len(MODELS) for model in MODELS})
        self.assertEqual(self.self_metric("tokenring_otlp_batches_retried_total"), 3)
        self.assertEqual(self.self_metric("tokenring_otlp_batches_failed_total"), 0)
        self.assertEqual(self.self_metric("tokenring_otlp_batches_dropped_total"), 0)

    def test_a_full_queue_defers_delta_exports_and_loses_nothing(self):
        r = self.receive(hold=True)  # answers wait until released
        self.start({}, "--otlp-endpoint", r.url, "--otlp-interval-ms", "100",
                   "--otlp-timeout-ms", "600000", "--otlp-queue", "1",
                   "--otlp-temporality", "delta")
        n = traffic(self.daemon, self.server, 4, 2)
        wait_for(lambda: self.daemon.metrics().sum("tokenring_requests_total") == 2 * n,
                 what="every request counted")
        # one batch in flight, one queued: the next intervals are deferred
        d0 = self.self_metric("tokenring_otlp_exports_deferred_total")
        wait_for(lambda: self.self_metric("tokenring_otlp_exports_deferred_total") > d0,
                 what="an export deferred after the traffic")
        self.assertLessEqual(self.self_metric("tokenring_otlp_queue_batches"), 1)
        r.control(hold=False)
        self.assert_exact({model: n // len(MODELS) for model in MODELS})
        self.assertEqual(self.self_metric("tokenring_otlp_batches_dropped_total"), 0)
        self.assertEqual(self.self_metric("tokenring_otlp_batches_failed_total"), 0)


if __name__ == "__main__":
    tt.main()
