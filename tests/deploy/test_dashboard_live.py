#!/usr/bin/python3
"""The bundled Grafana dashboard against the real product, scaled out.

Two real tokenringd (two rings, two ports: two "nodes"), the demo LLM server
under the shim (reporter destination, on node A), shimmed clients on both
nodes (demo/traffic.py with its curl share, and curl probes that produce
every usage status, cached and reasoning tokens, errors and a model whose
every call fails), and a real Prometheus (Debian's) scraping both daemons
every second. Every panel query and variable query of dashboards/tokenring.json
runs through Prometheus' HTTP API with the variables substituted as Grafana
would (All = ".*", and specific values), and must return data with the
values the traffic implies.

Exactness: the same traffic runs twice. Round 1 creates every series; the
query window starts after Prometheus has sampled round 1's end and before
round 2 starts, and ends after two more samples of each daemon. So every
counter's increase inside the window is exactly round 2's traffic, which is
checked against what was sent (the traffic plan and the server's log of
what it put on the wire) and against the daemons' own /metrics. A panel's
rate or increase is then that exact increase scaled by Prometheus'
documented extrapolation to the window edges, computed here from the
stored sample timestamps of each daemon: values are compared to 1e-9.
Quantiles are computed the same way from the extrapolated bucket counts
(to 1e-9), and the true quantile of the requests (from the daemons' access
logs) must lie in the bucket the histograms put it in, with the panel's
value in that bucket or, when the rank sits within the extrapolation margin
of a bucket edge, the neighbouring one.

Usage: TOKENRINGD=... LIBTOKENRING=... test_dashboard_live.py
(DASH_DEBUG=1 prints every query's expected and returned values.)
"""
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = pathlib.Path(os.environ.get("TOKENRING_SOURCE_DIR") or HERE.parents[1])
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "demo"))
import test_deploy as td  # noqa: E402  (the dashboard helpers and the metric contract)
import tokenring_test as tt  # noqa: E402  (tests/pylib, on sys.path through test_deploy)
import traffic  # noqa: E402  (the demo load's seeded plan)

DAEMON = os.environ.get("TOKENRINGD", "")
SHIM = os.environ.get("LIBTOKENRING", "")
PY = "/usr/bin/python3"
PROMETHEUS = "/usr/bin/prometheus"

PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "o3-mini": {"input": 1.1, "output": 4.4},
          "claude-3-5-haiku-latest": {"input": 0.8, "output": 4}}
# (node, workload, namespace, seed): demo/traffic.py runs, one per node
TRAFFIC = (("a", "chat", "team-a", 11), ("b", "batch", "team-b", 12))
TRAFFIC_REQUESTS = 24
TRAFFIC_ARGS = {"curl": 0.25, "latency_ms": 20.0, "token_delay_ms": 2.0}
PROBE = ("b", "probe", "team-b")
SERVER = ("a", "llm-server", "serving")
OPENAI_CHAT = "/v1/chat/completions"
# curl probes on node B: (model, stream, include_usage, max_tokens, extra headers)
PROBES = (
    ("o3-mini", False, False, 6, {"x-mock-cached": "5", "x-mock-reasoning": "7"}),
    ("o3-mini", True, True, 5, {"x-mock-cached": "3", "x-mock-reasoning": "4", "x-mock-token-delay-ms": "15"}),
    ("o3-mini", True, False, 4, {}),  # not_requested
    ("o3-mini", True, True, 6, {"x-mock-abort-after": "2"}),  # interrupted
    ("o3-mini", False, False, 6, {"x-mock-no-usage": "1"}),  # missing
    ("o3-mini", False, False, 6, {"x-mock-status": "500"}),
    ("o3-mini", False, False, 6, {"x-mock-status": "429"}),
    ("gpt-fail", False, False, 6, {"x-mock-status": "503"}),  # a model that only fails
    ("gpt-fail", False, False, 6, {"x-mock-status": "503"}),
)
FILTER_LABELS = (("reporter", "reporter"), ("namespace", "source_namespace"), ("workload", "source_workload"),
                 ("destination", "destination_service"), ("model", "model"))
ALL = {"reporter": "source", "namespace": ".*", "workload": ".*", "destination": ".*", "model": ".*",
       "instance": ".*"}
SETTINGS = {
    "all": ALL,
    "model o3-mini": {**ALL, "model": "o3-mini"},
    "workload chat": {**ALL, "workload": "chat"},
    "two workloads": {**ALL, "workload": "(batch|probe)"},  # Grafana's multi-value format
    "server side": {**ALL, "reporter": "destination"},
    "gpt-fail, node b only": {**ALL, "model": "gpt-fail"},
}
OPT_IN_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/compatible-mode/",
                "/api/v1/services/aigc/")  # OpenAI and DashScope streams report usage only when asked


def http(url, data=None, timeout=10):
    req = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until(what, fn, timeout, procs=()):
    """fn()'s first true value; fails at once if one of procs exits."""
    def ready():
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{what}: {p.args[0]} exited with {p.returncode}")
        try:
            return fn()
        except OSError:
            return None
    return tt.wait_for(ready, timeout, what, step=0.1)


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    return {(n, frozenset(labels.items())): v for n, labels, v in tt.parse_metrics(text)}


def extrapolated_increase(delta, first, ts, start, end):
    """What Prometheus' rate()/increase() make of a counter that rose by
    `delta` from `first` across samples at `ts` (ms) in the window
    [start, end] (ms): the increase extrapolated to the window edges, by the
    full gap when it is under 1.1 average sample intervals, else by half an
    interval, and never to before the counter would have been zero."""
    if len(ts) < 2:
        raise AssertionError("fewer than 2 samples in the window")
    sampled = (ts[-1] - ts[0]) / 1000
    to_start, to_end = (ts[0] - start) / 1000, (end - ts[-1]) / 1000
    avg = sampled / (len(ts) - 1)
    if delta > 0 and first >= 0:
        to_start = min(to_start, sampled * first / delta)
    ext = sampled
    ext += to_start if to_start < avg * 1.1 else avg / 2
    ext += to_end if to_end < avg * 1.1 else avg / 2
    return delta * ext / sampled


def plan_requests():
    """Every request one round sends: {request id: (node, workload, namespace, model, path, body)}."""
    out = {}
    for node, wl, ns, seed in TRAFFIC:
        for model, stream, path, body, headers, client in traffic.plan(TRAFFIC_REQUESTS, seed, TRAFFIC_ARGS["curl"],
                                                                       TRAFFIC_ARGS["latency_ms"],
                                                                       TRAFFIC_ARGS["token_delay_ms"]):
            out[headers["x-request-id"]] = (node, wl, ns, model, path, body)
    for i, (model, stream, usage, n, _) in enumerate(PROBES):
        out[f"probe-{i}"] = (PROBE[0], PROBE[1], PROBE[2], model, OPENAI_CHAT, probe_body(model, stream, usage, n))
    return out


def probe_body(model, stream, usage, n):
    body = {"model": model, "messages": [{"role": "user", "content": "count the ring slots for me please"}],
            "max_tokens": n, "stream": stream}
    if usage:
        body["stream_options"] = {"include_usage": True}
    return body


def expected_status(path, body, log):
    """The usage status the shim's contract gives a client-side record."""
    if log["aborted"]:
        return "interrupted"
    if log["status"] == 200 and log["prompt_tokens"] is not None:
        return "available"
    asked = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage")
    if body.get("stream") is True and not asked and any(path.startswith(p) for p in OPT_IN_PATHS):
        return "not_requested"
    return "missing"


class DashboardLiveTests(unittest.TestCase):
    """Every dashboard query on a real Prometheus scraping two real daemons."""

    @classmethod
    def setUpClass(cls):
        if not (os.access(DAEMON, os.X_OK) and os.path.isfile(SHIM)):
            raise AssertionError("set TOKENRINGD and LIBTOKENRING to the built tokenringd and libtokenring.so")
        cls.tmp = tempfile.TemporaryDirectory(prefix="tokenring-dash-")
        cls.dir = pathlib.Path(cls.tmp.name)
        cls.procs, cls.logs = [], []
        try:
            cls.start()
            cls.run_rounds()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(cls.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in cls.logs:
            f.close()
        cls.tmp.cleanup()

    @classmethod
    def spawn(cls, name, argv, env=None):
        log = open(cls.dir / f"{name}.log", "w")
        cls.logs.append(log)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        cls.procs.append(p)
        return p

    @classmethod
    def shim_env(cls, node, workload, namespace):
        env = dict(os.environ)
        env.update({"LD_PRELOAD": SHIM, "TOKENRING_RING": str(cls.ring[node]), "TOKENRING_WORKLOAD": workload,
                    "TOKENRING_NAMESPACE": namespace})
        return env

    @classmethod
    def start(cls):
        cfg = cls.dir / "tokenringd.json"
        cfg.write_text(json.dumps({"prices": PRICES}))
        cls.ring, cls.mport, cls.daemon = {}, {}, {}
        for node in ("a", "b"):
            cls.ring[node] = cls.dir / f"ring-{node}"
            cls.mport[node] = td.free_port()
            cls.daemon[node] = cls.spawn(f"tokenringd-{node}", [
                DAEMON, "--ring", str(cls.ring[node]), "--listen", f"127.0.0.1:{cls.mport[node]}",
                "--access-log", str(cls.dir / f"access-{node}.log"), "--summary-log", "off", "--config", str(cfg)])
        for node in ("a", "b"):
            wait_until(f"tokenringd {node}", lambda: http(f"http://127.0.0.1:{cls.mport[node]}/healthz")[0] == 200, 15,
                       [cls.daemon[node]])
        cls.server_log = cls.dir / "exchanges.jsonl"
        server = cls.spawn("llm_server", [PY, str(ROOT / "demo" / "llm_server.py"), "--port", "0",
                                          "--log", str(cls.server_log)], cls.shim_env(*SERVER))
        out = cls.dir / "llm_server.log"
        port = wait_until("llm_server", lambda: re.search(r"listening on (\d+)", out.read_text()), 20, [server])
        cls.sport = int(port.group(1))
        cls.pport = td.free_port()
        prom_cfg = cls.dir / "prometheus.yml"  # JSON is YAML
        prom_cfg.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "scrape_configs": [{"job_name": "tokenringd", "static_configs": [
                {"targets": [f"127.0.0.1:{cls.mport[n]}" for n in ("a", "b")]}]}]}))
        cls.prom = cls.spawn("prometheus", [
            PROMETHEUS, f"--config.file={prom_cfg}", f"--storage.tsdb.path={cls.dir}/prometheus-data",
            f"--web.listen-address=127.0.0.1:{cls.pport}", "--log.level=warn"])
        cls.instance = {n: f"127.0.0.1:{cls.mport[n]}" for n in ("a", "b")}

    @classmethod
    def metrics_url(cls, node):
        return f"http://127.0.0.1:{cls.mport[node]}/metrics"

    @classmethod
    def scrape(cls, node):
        status, body = http(cls.metrics_url(node))
        assert status == 200, body
        return parse_metrics(body)

    @classmethod
    def api(cls, path, params, method="POST"):
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"http://127.0.0.1:{cls.pport}{path}"
        status, body = http(url + "?" + query) if method == "GET" else http(url, query.encode())
        return json.loads(body)

    @classmethod
    def sample_times(cls, since):
        """{node: sample timestamps (ms) of that daemon's target after `since` (s)}."""
        r = cls.api("/api/v1/query", {"query": "tokenring_ring_capacity[30s]", "time": f"{time.time():.3f}"})
        out = {n: [] for n in cls.instance}
        for s in r.get("data", {}).get("result", []):
            for n, inst in cls.instance.items():
                if s["metric"].get("instance") == inst:
                    out[n] = [round(float(ts) * 1000) for ts, _ in s["values"] if float(ts) > since]
        return out

    @classmethod
    def run_round(cls):
        """Both nodes' clients, concurrently; returns traffic.py's reports."""
        runs = []
        for node, wl, ns, seed in TRAFFIC:
            out = open(cls.dir / f"traffic-{node}.json", "w+")
            p = subprocess.Popen([PY, str(ROOT / "demo" / "traffic.py"), "--port", str(cls.sport),
                                  "--requests", str(TRAFFIC_REQUESTS), "--seed", str(seed), "--concurrency", "3",
                                  "--curl", str(TRAFFIC_ARGS["curl"]), "--latency-ms", str(TRAFFIC_ARGS["latency_ms"]),
                                  "--token-delay-ms", str(TRAFFIC_ARGS["token_delay_ms"])],
                                 stdout=out, stderr=subprocess.PIPE, env=cls.shim_env(node, wl, ns))
            runs.append((p, out))
        env = cls.shim_env(*PROBE)
        for i, (model, stream, usage, n, headers) in enumerate(PROBES):
            cmd = ["curl", "-sS", "-N", "--max-time", "20", "-o", "/dev/null", "--data-binary", "@-",
                   "-H", "Content-Type: application/json", "-H", f"x-request-id: probe-{i}",
                   "-H", "x-mock-latency-ms: 30"]
            for k, v in headers.items():
                cmd += ["-H", f"{k}: {v}"]
            r = subprocess.run(cmd + [f"http://127.0.0.1:{cls.sport}{OPENAI_CHAT}"], env=env, capture_output=True,
                               input=json.dumps(probe_body(model, stream, usage, n)).encode(), timeout=30)
            if "x-mock-abort-after" not in headers:
                assert r.returncode == 0, r.stderr
        reports = []
        for p, out in runs:
            _, err = p.communicate(timeout=60)
            out.seek(0)
            text = out.read()
            out.close()
            assert p.returncode == 0, f"traffic.py: {err.decode()} {text}"
            reports.append(json.loads(text))
        return reports

    @classmethod
    def wait_drained(cls, exchanges):
        """Until the server logged `exchanges` lines and both daemons hold a
        record of each (client side, and server side on node A)."""
        def logged():
            return len(cls.server_log.read_text().splitlines()) >= exchanges
        wait_until("the server's log", logged, 30)
        lines = [json.loads(x) for x in cls.server_log.read_text().splitlines()]
        per_node = {"a": 0, "b": 0}
        for x in lines:
            per_node[cls.plan[x["request_id"]][0]] += 1
        per_node[SERVER[0]] += len(lines)

        def drained():
            for node, want in per_node.items():
                m = cls.scrape(node)
                got = sum(v for (name, _), v in m.items() if name == "tokenring_requests_total")
                if got < want:
                    return False
                assert got == want, f"node {node}: {got} records, {want} exchanges"
                if m[("tokenring_ring_fill", frozenset())] != 0:
                    return False
            return True
        wait_until("both daemons to drain", drained, 30, [cls.daemon["a"], cls.daemon["b"]])
        for node, want in per_node.items():
            wait_until(f"node {node}'s access log", lambda: len(cls.access_log(node)) >= want, 30)
        return lines

    @classmethod
    def access_log(cls, node):
        return [json.loads(x) for x in (cls.dir / f"access-{node}.log").read_text().splitlines()]

    @classmethod
    def run_rounds(cls):
        cls.plan = plan_requests()
        n = len(cls.plan)
        wait_until("prometheus", lambda: http(f"http://127.0.0.1:{cls.pport}/-/ready")[0] == 200, 30, [cls.prom])
        cls.reports1 = cls.run_round()
        log1 = cls.wait_drained(n)
        cls.v1 = {node: cls.scrape(node) for node in ("a", "b")}
        skip = {node: len(cls.access_log(node)) for node in ("a", "b")}
        # window start: after both daemons were sampled in the quiet gap
        cls.start_ms = round(time.time() * 1000) + 1
        wait_until("a sample of each daemon after round 1",
                   lambda: all(cls.sample_times(cls.start_ms / 1000).values()), 20, [cls.prom])
        r2_start = time.time()
        cls.reports2 = cls.run_round()
        log = cls.wait_drained(2 * n)
        cls.v2 = {node: cls.scrape(node) for node in ("a", "b")}
        cls.exchanges, cls.exchanges1 = sorted(log[len(log1):], key=lambda x: x["request_id"]), \
            sorted(log1, key=lambda x: x["request_id"])
        cls.access = {node: cls.access_log(node)[skip[node]:] for node in ("a", "b")}
        r2 = time.time()
        cls.round2_ms = (round(r2_start * 1000), round(r2 * 1000))
        wait_until("two samples of each daemon after round 2",
                   lambda: all(len(t) >= 2 for t in cls.sample_times(r2).values()), 20, [cls.prom])
        # the window [start, end] is a whole number of seconds, as Grafana's
        # $__range and $__rate_interval are
        cls.window = math.ceil((time.time() * 1000 - cls.start_ms) / 1000)
        cls.end_ms = cls.start_ms + cls.window * 1000
        time.sleep(max(0.0, cls.end_ms / 1000 - time.time()))
        # a sample after the window is stored, so every sample inside is
        # (Prometheus appends a target's scrapes in order)
        wait_until("a sample of each daemon after the window",
                   lambda: all(cls.sample_times(cls.end_ms / 1000).values()), 20, [cls.prom])
        r = cls.api("/api/v1/query", {"query": f"tokenring_ring_capacity[{cls.window}s]",
                                      "time": f"{cls.end_ms / 1000:.3f}"})
        cls.ts = {}
        for s in r["data"]["result"]:
            (node,) = [n for n, i in cls.instance.items() if i == s["metric"]["instance"]]
            cls.ts[node] = [round(float(t) * 1000) for t, _ in s["values"]]

    # ------------------------------------------------------------------
    def query(self, expr, values):
        q = substitute(expr, values, self.window)
        r = self.api("/api/v1/query", {"query": q, "time": f"{self.end_ms / 1000:.3f}"})
        self.assertEqual("success", r.get("status"), f"{q}: {r.get('error')}")
        return r["data"]["result"]

    def series(self, name, values, want=lambda labels: True):
        """[(node, labels, first, delta)] of a metric's series that match the
        dashboard filters `values` (regexes, fully anchored as PromQL's =~)."""
        out = []
        for node in ("a", "b"):
            for (n, lbl), v2 in self.v2[node].items():
                if n != name:
                    continue
                labels = dict(lbl)
                if name.startswith("tokenring_ring") or name.startswith("tokenring_series"):
                    labels["instance"] = self.instance[node]
                    if not re.fullmatch(unquote(values["instance"]), labels["instance"]):
                        continue
                else:
                    if not all(re.fullmatch(unquote(values[var]), labels.get(label, ""))
                               for var, label in FILTER_LABELS):
                        continue
                if not want(labels):
                    continue
                v1 = self.v1[node].get((n, lbl))
                self.assertIsNotNone(v1, f"{name}{labels} appeared in round 2 only")
                out.append((node, labels, v1, v2 - v1))
        return out

    def increase(self, name, values, by=(), want=lambda labels: True):
        """{group: sum by (by) (increase(name{filters}[window]))} as Prometheus computes it."""
        out = {}
        for node, labels, first, delta in self.series(name, values, want):
            key = tuple(labels.get(b, "") for b in by)
            out[key] = out.get(key, 0.0) + extrapolated_increase(delta, first, self.ts[node], self.start_ms,
                                                                 self.end_ms)
        return out

    def rate(self, name, values, by=(), want=lambda labels: True):
        return {k: v / self.window for k, v in self.increase(name, values, by, want).items()}

    def quantile(self, q, hist, values, by):
        """{group: histogram_quantile(q, ...) over the window's increases}
        as Prometheus computes it: buckets made monotonic (extrapolation
        scales each bucket's increase differently), the rank found, linear
        inside the bucket; None when the group had no observations."""
        buckets = {}
        for node, labels, first, delta in self.series(hist + "_bucket", values):
            key = tuple(labels.get(b, "") for b in by)
            le = float(labels["le"])
            inc = extrapolated_increase(delta, first, self.ts[node], self.start_ms, self.end_ms)
            buckets.setdefault(key, {}).setdefault(le, 0.0)
            buckets[key][le] += inc
        out = {}
        for key, b in buckets.items():
            les = sorted(b)
            counts = [b[le] for le in les]
            for i in range(1, len(counts)):
                counts[i] = max(counts[i], counts[i - 1])
            if counts[-1] == 0:
                out[key] = None
                continue
            rank = q * counts[-1]
            i = next((i for i in range(len(les) - 1) if counts[i] >= rank), len(les) - 1)
            if i == len(les) - 1:
                out[key] = les[-2]
                continue
            start, below = (les[i - 1], counts[i - 1]) if i else (0.0, 0.0)
            out[key] = start + (les[i] - start) * (rank - below) / (counts[i] - below)
        return out

    def by(self, result, *labels):
        return {tuple(s["metric"].get(l, "") for l in labels): float(s["value"][1]) for s in result}

    def assertSame(self, want, got, msg=""):
        self.assertEqual(set(want), set(got), f"{msg}: groups")
        for k in want:
            w, g = want[k], got[k]
            if isinstance(w, float) and math.isnan(w):
                self.assertTrue(math.isnan(g), f"{msg} {k}: want NaN, got {g}")
            else:
                self.assertLessEqual(abs(g - w), 1e-9 * max(1.0, abs(w)), f"{msg} {k}: want {w!r}, got {g!r}")

    # ------------------------------------------------------------------
    def expected(self, title, ref, v):
        """The panel query's expected result for variables `v`: {group:
        value}, or ("q", {group: value or None}) for a quantile."""
        tokens = ("tokenring_prompt_tokens_total", "tokenring_completion_tokens_total")
        two_xx = lambda l: l["response_code"].startswith("2") and len(l["response_code"]) == 3  # noqa: E731
        not_2xx = lambda l: not two_xx(l)  # noqa: E731

        def ratio(num, den):
            # (sum(num) or sum(den) * 0) / sum(den)
            return {k: num.get(k, 0.0) / d for k, d in den.items() if d != 0} | \
                   {k: math.nan for k, d in den.items() if d == 0}

        def added(x, y):
            return {k: x[k] + y[k] for k in x.keys() & y.keys()}

        def gauge(name):  # a daemon's value now, by instance
            return {(self.instance[n],): self.v2[n][(name, frozenset())] for n in ("a", "b")
                    if re.fullmatch(unquote(v["instance"]), self.instance[n])}

        def top10(d):
            return dict(sorted(d.items(), key=lambda kv: -kv[1])[:10])

        hist = {"Latency p50 / p95 / p99 by model": "tokenring_request_duration_seconds",
                "p95 latency": "tokenring_request_duration_seconds",
                "Time to first token by model": "tokenring_time_to_first_token_seconds",
                "p95 time to first token": "tokenring_time_to_first_token_seconds",
                "Time per output token by model": "tokenring_time_per_output_token_seconds"}
        if title in hist:
            q = {"A": 0.5, "B": 0.95, "C": 0.99}[ref] if "by model" in title else 0.95
            return ("q", self.quantile(q, hist[title], v, ("model",) if "by model" in title else ()))
        ws = ("source_namespace", "source_workload")
        table = {
            ("Requests/s", "A"): lambda: self.rate("tokenring_requests_total", v),
            ("Success rate", "A"): lambda: ratio(self.rate("tokenring_requests_total", v, want=two_xx),
                                                 self.rate("tokenring_requests_total", v)),
            ("Tokens/s", "A"): lambda: added(self.rate(tokens[0], v), self.rate(tokens[1], v)),
            ("Cost in range", "A"): lambda: self.increase("tokenring_cost_usd_total", v),
            ("Request rate by model", "A"): lambda: self.rate("tokenring_requests_total", v, ("model",)),
            ("Success rate by model", "A"): lambda: ratio(
                self.rate("tokenring_requests_total", v, ("model",), two_xx),
                self.rate("tokenring_requests_total", v, ("model",))),
            ("Errors by code", "A"): lambda: self.rate("tokenring_requests_total", v, ("model", "response_code"),
                                                       not_2xx),
            ("Request and response bytes by model", "A"): lambda: self.rate("tokenring_request_bytes_total", v,
                                                                            ("model",)),
            ("Request and response bytes by model", "B"): lambda: self.rate("tokenring_response_bytes_total", v,
                                                                            ("model",)),
            ("Requests by usage status", "A"): lambda: self.rate("tokenring_usage_total", v, ("status",)),
            ("Usage status mix by model", "A"): lambda: {
                k: x / self.increase("tokenring_usage_total", v, ("model",))[k[:1]]
                for k, x in self.increase("tokenring_usage_total", v, ("model", "status")).items()},
            ("Prompt tokens/s by model", "A"): lambda: self.rate(tokens[0], v, ("model",)),
            ("Completion tokens/s by model", "A"): lambda: self.rate(tokens[1], v, ("model",)),
            ("Cached and reasoning tokens/s by model", "A"): lambda: self.rate("tokenring_cached_tokens_total", v,
                                                                               ("model",)),
            ("Cached and reasoning tokens/s by model", "B"): lambda: self.rate("tokenring_reasoning_tokens_total", v,
                                                                               ("model",)),
            ("Top workloads by tokens", "A"): lambda: top10(added(self.increase(tokens[0], v, ws),
                                                                  self.increase(tokens[1], v, ws))),
            ("Top models by tokens", "A"): lambda: top10(added(self.increase(tokens[0], v, ("model",)),
                                                               self.increase(tokens[1], v, ("model",)))),
            ("Cost per hour by model", "A"): lambda: {k: x * 3600 for k, x in self.rate(
                "tokenring_cost_usd_total", v, ("model",)).items()},
            ("Cost by workload in range", "A"): lambda: top10(self.increase("tokenring_cost_usd_total", v, ws)),
            ("Ring fill", "A"): lambda: {k: 0.0 for k in gauge("tokenring_ring_fill")},  # drained
            ("Records drained/s", "A"): lambda: self.rate("tokenring_ring_consumed_total", v, ("instance",)),
            ("Dropped records by reason", "A"): lambda: self.rate("tokenring_ring_dropped_total", v,
                                                                  ("instance", "reason")),
            ("Corrupt records", "A"): lambda: self.rate("tokenring_ring_corrupt_total", v, ("instance",)),
            ("Producers", "A"): lambda: gauge("tokenring_ring_producers"),
            ("Series and overflow", "A"): lambda: gauge("tokenring_series"),
            ("Series and overflow", "B"): lambda: self.rate("tokenring_series_overflow_total", v, ("instance",)),
        }
        if (title, ref) not in table:
            raise AssertionError(f"no expectation for panel {title!r} {ref}: add one")
        return table[(title, ref)]()

    def check_panels(self, setting, values=None):
        values = values or SETTINGS[setting]
        for p in td.panels():
            if cover_panel(p):
                continue  # see cover_panel
            for t in p["targets"]:
                with self.subTest(setting=setting, panel=p["title"], ref=t["refId"]):
                    res = self.query(t["expr"], values)
                    want = self.expected(p["title"], t["refId"], values)
                    if setting == "all":
                        self.assertTrue(res, f"no data: {t['expr']}")
                    labels = re.findall(r"\{\{(\w+)\}\}", t.get("legendFormat", ""))
                    got = self.by(res, *labels)
                    if os.environ.get("DASH_DEBUG"):
                        print(f"\n{setting} | {p['title']} {t['refId']}\n  want {want}\n  got  {got}")
                    if isinstance(want, tuple):
                        self.assertEqual(set(want[1]), set(got), "groups")
                        for k, value in want[1].items():
                            if value is None:
                                self.assertTrue(math.isnan(got[k]), f"{k}: no observations, got {got[k]}")
                            else:
                                self.assertLessEqual(abs(got[k] - value), 1e-9 * value, f"{k}: want {value}")
                    else:
                        self.assertSame(want, got, t["expr"])

    def test_panels_all(self):
        self.check_panels("all")

    def test_panels_one_model(self):
        self.check_panels("model o3-mini")

    def test_panels_one_workload(self):
        self.check_panels("workload chat")

    def test_panels_two_workloads(self):
        self.check_panels("two workloads")

    def test_panels_one_daemon(self):
        # Grafana escapes a single value's regex metacharacters, as \\. in
        # the PromQL string
        self.check_panels("daemon b", {**ALL, "instance": re.sub(r"([.^$*+?()|{}\[\]])", r"\\\\\1",
                                                                 self.instance["b"])})

    def test_panels_server_side(self):
        self.check_panels("server side")

    def test_panels_failing_model(self):
        self.check_panels("gpt-fail, node b only")
        ok = self.by(self.query(self.expr("Success rate by model"), SETTINGS["gpt-fail, node b only"]), "model")
        self.assertEqual({("gpt-fail",): 0.0}, ok, "a model whose every call fails reads 0, not a gap")

    def expr(self, title, ref="A"):
        (t,) = [t for p in td.panels() if p["title"] == title for t in p["targets"] if t["refId"] == ref]
        return t["expr"]

    # ------------------------------------------------------------------
    def test_variable_queries(self):
        models = {m for (_, _, _, m, _, _) in self.plan.values()}
        want = {"reporter": {"source", "destination"}, "namespace": {"team-a", "team-b"},
                "workload": {"chat", "batch", "probe"}, "destination": {"127.0.0.1"},
                "model": models, "instance": set(self.instance.values())}
        # with namespace = team-b (the variables below it narrow; reporter,
        # namespace and instance do not depend on it), and on the server side
        team_b = {**want, "workload": {"batch", "probe"},
                  "model": {m for (_, _, ns, m, _, _) in self.plan.values() if ns == "team-b"}}
        server = {**want, "namespace": {SERVER[2]}, "workload": {SERVER[1]}}
        runs = ((ALL, want), ({**ALL, "namespace": "team-b"}, team_b), ({**ALL, "reporter": "destination"}, server))
        seen = set()
        for name, v in td.variables().items():
            if v["type"] != "query":
                continue
            seen.add(name)
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", td.var_query(v))
            for values, expect in runs:
                with self.subTest(variable=name, values=values):
                    r = self.api(f"/api/v1/label/{m.group(2)}/values",
                                 {"match[]": substitute(m.group(1), values, self.window),
                                  "start": f"{self.start_ms / 1000:.3f}", "end": f"{self.end_ms / 1000:.3f}"}, "GET")
                    self.assertEqual("success", r["status"], r)
                    self.assertEqual(expect[name], set(r["data"]))
        self.assertEqual(set(want), seen)

    def test_daemon_counters_match_the_traffic(self):
        """Round 2 as the daemons counted it (their own /metrics, summed over
        both nodes) equals what was sent and answered, exactly."""
        want = {}

        def add(key, n):
            want[key] = want.get(key, 0) + n
        by_id = {x["request_id"]: x for x in self.exchanges}
        self.assertEqual(set(self.plan), set(by_id), "one logged exchange per planned request")
        for rid, (node, wl, ns, model, path, body) in self.plan.items():
            x = by_id[rid]
            status = expected_status(path, body, x)
            add(("requests", model, str(x["status"])), 1)
            add(("usage", model, status), 1)
            add(("requests_wl", ns, wl), 1)
            add(("server", model), 1)
            if status == "available":
                for k in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"):
                    add((k, model), x[k] or 0)
        got = {}
        names = {"tokenring_prompt_tokens_total": "prompt_tokens", "tokenring_completion_tokens_total":
                 "completion_tokens", "tokenring_cached_tokens_total": "cached_tokens",
                 "tokenring_reasoning_tokens_total": "reasoning_tokens"}
        for node in ("a", "b"):
            for (name, lbl), v2 in self.v2[node].items():
                labels = dict(lbl)
                d = v2 - self.v1[node].get((name, lbl), 0.0)
                if labels.get("reporter") == "destination":
                    if name == "tokenring_requests_total":
                        got[("server", labels["model"])] = got.get(("server", labels["model"]), 0) + d
                    continue
                if name == "tokenring_requests_total":
                    for key in (("requests", labels["model"], labels["response_code"]),
                                ("requests_wl", labels["source_namespace"], labels["source_workload"])):
                        got[key] = got.get(key, 0) + d
                elif name == "tokenring_usage_total":
                    key = ("usage", labels["model"], labels["status"])
                    got[key] = got.get(key, 0) + d
                elif name in names:
                    key = (names[name], labels["model"])
                    got[key] = got.get(key, 0) + d
        got = {k: v for k, v in got.items() if v}
        want = {k: v for k, v in want.items() if v}
        self.assertEqual(want, got)
        # the client's own reading of the same round agrees (requests, tokens)
        client = {}
        for report in self.reports2:
            for model, m in report["models"].items():
                for k in ("requests", "prompt_tokens", "completion_tokens"):
                    client[(k, model)] = client.get((k, model), 0) + m[k]
        for (k, model), n in client.items():
            if k == "requests":
                self.assertEqual(n, sum(c for key, c in want.items()
                                        if key[0] == "requests" and key[1] == model), model)
            else:
                self.assertEqual(n, want.get((k, model), 0), f"{model} {k}")
        # cost: the configured prices over the provider-reported tokens
        for model, price in PRICES.items():
            usd = (want.get(("prompt_tokens", model), 0) * price["input"]
                   + want.get(("completion_tokens", model), 0) * price["output"]) / 1e6
            cost = sum(v2 - self.v1[n].get((name, lbl), 0.0) for n in ("a", "b")
                       for (name, lbl), v2 in self.v2[n].items()
                       if name == "tokenring_cost_usd_total" and dict(lbl)["model"] == model
                       and dict(lbl)["reporter"] == "source")
            self.assertAlmostEqual(usd, cost, places=12, msg=model)
        # each node drained one record per exchange it saw, lost none
        per_node = {"a": len(self.exchanges), "b": 0}  # node A also holds the server's records
        for x in self.exchanges:
            per_node[self.plan[x["request_id"]][0]] += 1
        for node, n in per_node.items():
            d = {name: self.v2[node][(name, lbl)] - self.v1[node][(name, lbl)]
                 for (name, lbl) in self.v2[node] if name.startswith("tokenring_ring_") and name.endswith("_total")}
            self.assertEqual(n, d["tokenring_ring_consumed_total"], node)
            self.assertEqual(n, d["tokenring_ring_records_total"], node)
            self.assertEqual(0, d["tokenring_ring_corrupt_total"] + d["tokenring_ring_skipped_total"], node)
            self.assertEqual(0, sum(v for (name, _), v in self.v2[node].items() if name == td.DROPPED), node)
        # every usage status shows up, and cached and reasoning tokens do
        self.assertEqual({"available", "not_requested", "missing", "interrupted"},
                         {k[2] for k in want if k[0] == "usage"})
        self.assertTrue(want.get(("cached_tokens", "o3-mini")) and want.get(("reasoning_tokens", "o3-mini")))

    def test_known_latencies_and_producers(self):
        """What the probes asked of the server shows in the panels: o3-mini
        waits 30 ms before its first byte, so no client sees a token sooner;
        its one stream with usage has 5 visible + 4 reasoning tokens, the
        server writing the 5 content chunks 15 ms apart, so on the server
        side (duration - TTFT) / (9 - 1) >= 4 x 15 ms / 8 = 7.5 ms (a client
        starved of CPU may read the chunks together: no bound there). Every
        shimmed process registers with its node's ring once."""
        o3 = {**ALL, "model": "o3-mini"}
        for ref in ("A", "B", "C"):
            (ttft,) = self.query(self.expr("Time to first token by model", ref), o3)
            self.assertGreaterEqual(float(ttft["value"][1]), 0.025, ref)  # the bucket holding 30 ms
        for ref in ("A", "B"):
            (tpot,) = self.query(self.expr("Time per output token by model", ref), {**o3, "reporter": "destination"})
            self.assertGreaterEqual(float(tpot["value"][1]), 0.005, ref)  # the bucket holding 7.5 ms
        want = {"a": 1, "b": 0}  # the server
        for node, _, _, seed in TRAFFIC:
            jobs = traffic.plan(TRAFFIC_REQUESTS, seed, TRAFFIC_ARGS["curl"], TRAFFIC_ARGS["latency_ms"],
                                TRAFFIC_ARGS["token_delay_ms"])
            want[node] += 2 * (1 + sum(1 for job in jobs if job[5] == "curl"))  # traffic.py and its curls
        want[PROBE[0]] += 2 * len(PROBES)
        got = self.by(self.query(self.expr("Producers"), ALL), "instance")
        self.assertEqual({(self.instance[n],): float(c) for n, c in want.items()}, got)

    def test_quantiles_hold_the_true_quantile(self):
        """The true quantile of round 2's client-side requests (nearest rank
        over the daemons' access logs, whole milliseconds) lies in the bucket
        the daemons' histograms put it in. The panel's histogram_quantile
        lands in that bucket, or next to it when the quantile's rank is
        within Prometheus' extrapolation (each series' increase scaled by 1
        to window / sampled interval) of the bucket's edge (check_panels
        checks the exact value from the extrapolated bucket counts)."""
        u = max(self.window * 1000 / (ts[-1] - ts[0]) for ts in self.ts.values())
        for title, hist, field in (("Latency p50 / p95 / p99 by model", "tokenring_request_duration_seconds",
                                    "duration"),
                                   ("Time to first token by model", "tokenring_time_to_first_token_seconds",
                                    "time_to_first_token")):
            per_model = {}
            for node in ("a", "b"):
                for x in self.access[node]:
                    if x["reporter"] == "source" and x[field] not in ("", "-"):
                        per_model.setdefault(x["request_model"], []).append(int(x[field]))
            self.assertTrue(per_model, title)
            counts = {}
            for node, labels, _, delta in self.series(hist + "_bucket", ALL):
                b = counts.setdefault(labels["model"], {})
                b[float(labels["le"])] = b.get(float(labels["le"]), 0) + delta
            self.assertEqual({m for m, b in counts.items() if b[math.inf]}, set(per_model), title)
            for ref, q in (("A", 0.5), ("B", 0.95), ("C", 0.99)):
                got = self.by(self.query(self.expr(title, ref), ALL), "model")
                for model, ms in per_model.items():
                    with self.subTest(panel=title, q=q, model=model):
                        ms.sort()
                        self.assertEqual(len(ms), counts[model][math.inf])
                        true_ms = ms[math.ceil(q * len(ms)) - 1]
                        les = sorted(counts[model])
                        i = next(i for i, le in enumerate(les) if counts[model][le] >= q * len(ms))
                        lo, hi = (les[i - 1] if i else 0.0), les[i]
                        self.assertTrue(true_ms / 1000 <= hi and (true_ms + 1) / 1000 > lo,
                                        f"true {q} quantile {true_ms} ms outside ({lo}, {hi}]")
                        n = len(ms)
                        first = next(j for j, le in enumerate(les) if u * counts[model][le] >= q * n)
                        last = next((j for j, le in enumerate(les) if counts[model][le] >= q * n * u), len(les) - 1)
                        self.assertLessEqual(first, i)
                        self.assertGreaterEqual(last, i)
                        low = les[first - 1] if first else 0.0
                        high = les[last] if les[last] != math.inf else les[-2]
                        self.assertTrue(low - 1e-9 <= got[(model,)] <= high + 1e-9,
                                        f"{got[(model,)]} outside ({low}, {high}]: true bucket ({lo}, {hi}]")

    @staticmethod
    def answer(x):
        keys = ("request_id", "status", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
                "aborted")
        return tuple(x[k] for k in keys)

    def test_window_is_exactly_round_two(self):
        """The premise of the exact checks: the window holds a quiet sample
        before round 2 and two after it for each daemon, and nothing else
        moved the counters."""
        self.assertEqual([self.answer(x) for x in self.exchanges1], [self.answer(x) for x in self.exchanges],
                         "round 1 and round 2 got the same answers")
        for node in ("a", "b"):
            ts = self.ts[node]
            self.assertGreaterEqual(ts[0], self.start_ms, node)
            self.assertLess(ts[0], self.round2_ms[0], f"{node}: a sample between the rounds")
            self.assertGreaterEqual(len([t for t in ts if t > self.round2_ms[1]]), 2, f"{node}: after round 2")
            self.assertLessEqual(ts[-1], self.end_ms, node)

    def test_metric_contract_exists_in_the_real_daemon(self):
        """Every name the dashboard may use (test_deploy.KNOWN_METRICS) is on
        a real daemon's /metrics once prices are configured."""
        names = set()
        for node in ("a", "b"):
            names |= {n for (n, _) in self.v2[node]}
        self.assertLessEqual(td.KNOWN_METRICS - set(td.COVER_METRICS) - set(td.MCP_METRICS), names)
        reasons = {dict(lbl)["reason"] for (n, lbl) in self.v2["a"] if n == td.DROPPED}
        self.assertEqual(set(td.DROP_REASONS), reasons)


def cover_panel(p):
    """A panel of the "What cannot be read" row, or of the agents' (MCP)
    row (tests/providers test_mcp counts those families against a real
    tokenringd with a real MCP client and server). This test's traffic (curl and
    Python over plain HTTP) is all readable, so those panels have no data
    here; tests/containers (containers_cover) checks the four families
    exactly against a real tokenringd with opaque TLS (Node, Java), a Go
    binary and more connections than the slot table holds, and
    test_deploy.py's DashboardQueryTests runs these panels' queries."""
    return any(m in t["expr"] for t in p["targets"] for m in td.COVER_METRICS + td.MCP_METRICS)


def unquote(value):
    """A variable's value as the regex PromQL sees inside "...": \\\\ is \\."""
    return value.replace("\\\\", "\\")


def substitute(expr, values, window):
    """Grafana's substitution: $__rate_interval, $__range and $__interval
    are durations (the window here: one dashboard range, one rate window);
    template variables by name, longest first."""
    for k, d in (("$__rate_interval", window), ("$__range", window), ("$__interval", 1)):
        expr = expr.replace(k, f"{d}s")
    for k in sorted(values, key=len, reverse=True):
        expr = expr.replace("$" + k, values[k])
    if "$" in expr:
        raise AssertionError(f"unsubstituted variable in {expr}")
    return expr


if __name__ == "__main__":
    tt.main()
