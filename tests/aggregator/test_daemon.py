#!/usr/bin/python3
"""test_daemon.py - tokenringd end to end: a real ring fed by ring_writer,
scraped over HTTP, checked by promtool and by a real Prometheus; signals,
log files and hostile HTTP clients.

Environment: TOKENRINGD and RING_WRITER (paths to the built binaries; CTest
sets them). Uses /usr/bin/promtool and /usr/bin/prometheus (Debian).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import free_port, parse_metrics, wait_for  # noqa: E402,F401

TOKENRINGD = os.environ.get("TOKENRINGD", "build/rel/aggregator/tokenringd")
RING_WRITER = os.environ.get("RING_WRITER", "build/rel/tests/aggregator/ring_writer")
SHIM = os.environ.get("TOKENRING_SHIM")  # libtokenring.so (CTest sets it)
SRC = tt.SRC
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"

ASM_FIELDS = ["start_time", "duration", "method", "path", "protocol", "response_code",
              "bytes_received", "bytes_sent", "request_id", "authority_for", "upstream_host",
              "downstream_local_address", "downstream_remote_address", "user_agent",
              "trace_id", "request_model", "request_prompt_tokens",
              "request_completion_tokens"]
EXTRA_FIELDS = ["total_tokens", "response_model", "provider", "streaming",
                "time_to_first_token", "reporter", "source_workload", "source_namespace"]


def read_jsonl(path):
    """The complete lines of a JSON-lines file, parsed."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def sum_by(samples, name, label, **match):
    res = {}
    for n, labels, v in samples:
        if n != name or any(labels.get(k) != want for k, want in match.items()):
            continue
        key = labels.get(label)
        res[key] = res.get(key, 0) + v
    return res


# Generous deadlines everywhere (tt.DEADLINE): they only bound how long a
# real failure takes to report. No assertion here depends on how fast the
# machine is.
class Daemon(tt.Daemon):
    """tt.Daemon plus ring_writer, which feeds its ring records from JSON."""

    def metrics(self):
        return self.metrics_text()

    def write(self, specs, workload="writer", namespace="ns1"):
        data = "".join(json.dumps(s) + "\n" for s in specs)
        r = subprocess.run([RING_WRITER, "--ring", self.ring, "--workload", workload,
                            "--namespace", namespace], input=data.encode(),
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
        return int(r.stdout.split()[1])


def raw_exchange(port, data, read_until_close=True, timeout=30.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
    except socket.timeout:
        pass
    s.close()
    return b"".join(chunks)


def read_responses(sock, n):
    """Read n complete HTTP responses (Content-Length framed) from sock."""
    buf = b""
    out = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            b = sock.recv(65536)
            if not b:
                return out
            buf += b
        head, rest = buf.split(b"\r\n\r\n", 1)
        cl = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(rest) < cl:
            rest += sock.recv(65536)
        out.append((head.decode(), rest[:cl].decode()))
        buf = rest[cl:]
    return out


class DaemonTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tokenringd-test-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, **kw):
        d = Daemon(self.tmp, *args, **kw)
        self.daemons.append(d)
        return d


class TestMetrics(DaemonTestCase):
    SPECS = [
        {"model": "gpt-4o", "status": 200, "count": 5, "prompt_tokens": 10,
         "completion_tokens": 20, "duration_ms": 100},
        {"model": "gpt-4o", "status": 429, "count": 3, "usage": "missing", "duration_ms": 5},
        {"model": "qwen-max", "status": 200, "count": 4, "prompt_tokens": 7,
         "completion_tokens": 1, "provider": "dashscope", "duration_ms": 400},
        {"model": "qwen-max", "status": 500, "count": 2, "usage": "missing", "duration_ms": 50},
    ]

    def test_exact_counts_on_both_endpoints(self):
        d = self.start()
        self.assertEqual(d.write(self.SPECS), 14)
        status, headers, body = d.get("/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        s = parse_metrics(body)
        self.assertEqual(sum_by(s, "tokenring_requests_total", "model"),
                         {"gpt-4o": 8, "qwen-max": 6})
        self.assertEqual(sum_by(s, "tokenring_requests_total", "response_code"),
                         {"200": 9, "429": 3, "500": 2})
        self.assertEqual(sum_by(s, "tokenring_requests_total", "source_workload"),
                         {"writer": 14})
        self.assertEqual(sum_by(s, "tokenring_prompt_tokens_total", "model"),
                         {"gpt-4o": 50, "qwen-max": 28})
        self.assertEqual(sum_by(s, "tokenring_completion_tokens_total", "model"),
                         {"gpt-4o": 100, "qwen-max": 4})
        self.assertEqual(sum_by(s, "tokenring_request_duration_seconds_count", "model"),
                         {"gpt-4o": 8, "qwen-max": 6})
        sums = sum_by(s, "tokenring_request_duration_seconds_sum", "model")
        self.assertAlmostEqual(sums["gpt-4o"], 5 * 0.1 + 3 * 0.005, places=6)
        self.assertAlmostEqual(sums["qwen-max"], 4 * 0.4 + 2 * 0.05, places=6)
        # /stats/prometheus serves the same families and values.
        status2, headers2, body2 = d.get("/stats/prometheus")
        self.assertEqual(status2, 200)
        self.assertEqual(headers2["Content-Type"], headers["Content-Type"])
        s2 = parse_metrics(body2)
        for name in ("tokenring_requests_total", "tokenring_prompt_tokens_total"):
            self.assertEqual(sum_by(s2, name, "model"), sum_by(s, name, "model"))
        # Self-metrics: the ring counted every record.
        consumed = [v for n, l, v in s if n.startswith("tokenring_ring_") and "consumed" in n]
        self.assertEqual(consumed, [14.0])
        self.assertEqual(d.stop(), 0)

    SEED_LINT = sorted([  # names the seeds impose (asm without _total, istio in ms)
        'asm_llm_proxy_completion_tokens counter metrics should have "_total" suffix',
        'asm_llm_proxy_prompt_tokens counter metrics should have "_total" suffix',
        'istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"'])
    HOSTILE = [{"model": 'evil"model\\with\nnewline}', "count": 2},
               {"model": "x" * 200, "authority": "h\"o\\st"},
               {"model": "embed", "reporter": "destination", "operation": "embeddings",
                "stream": True, "ttft_ms": 30, "completion_tokens": 9}]

    def promtool(self, body):
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=body.encode(),
                           capture_output=True, timeout=30)
        return r.returncode, sorted((r.stdout + r.stderr).decode().splitlines())

    def test_promtool_accepts_the_default_exposition_with_hostile_labels(self):
        d = self.start()
        d.write(self.SPECS)
        d.write(self.HOSTILE)
        body = d.metrics()
        self.assertEqual(self.promtool(body), (0, []))
        models = sum_by(parse_metrics(body), "tokenring_requests_total", "model")
        self.assertEqual(models['evil"model\\with\nnewline}'], 2)

    def test_promtool_with_every_family_reports_only_seed_names(self):
        d = self.start("--metrics", "tokenring,gen_ai,asm,istio,kgateway")
        d.write(self.SPECS)
        d.write(self.HOSTILE)
        body = d.metrics()
        self.assertEqual(self.promtool(body), (3, self.SEED_LINT))  # 3: lint only, parses
        s = parse_metrics(body)
        self.assertEqual(sum_by(s, "istio_requests_total", "model")["gpt-4o"], 8)
        self.assertEqual(sum_by(s, "asm_llm_proxy_prompt_tokens", "llmproxy_model")["gpt-4o"], 50)
        self.assertEqual(sum_by(s, "ai_prompt_tokens_total", "model")["qwen-max"], 28)

    def test_summary_endpoint_is_json_with_exact_counts(self):
        d = self.start()
        d.write(self.SPECS)
        status, headers, body = d.get("/api/v1/summary")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(doc["records"], 14)
        self.assertLess(abs(doc["__time__"] - time.time()), 5)
        by_model = {}
        for e in doc["series"]:
            m = by_model.setdefault(e["model"], {"requests": 0, "successes": 0, "4xx": 0,
                                                 "5xx": 0, "prompt_tokens": 0})
            for k in m:
                m[k] += e[k]
        self.assertEqual(by_model, {
            "gpt-4o": {"requests": 8, "successes": 5, "4xx": 3, "5xx": 0, "prompt_tokens": 50},
            "qwen-max": {"requests": 6, "successes": 4, "4xx": 0, "5xx": 2,
                         "prompt_tokens": 28}})
        (q,) = [e for e in doc["series"] if e["provider"] == "dashscope"]
        self.assertEqual((q["model"], q["requests"], q["success_rate"]), ("qwen-max", 4, 1.0))
        (g,) = [e for e in doc["series"] if e["model"] == "gpt-4o"]
        self.assertAlmostEqual(g["success_rate"], 5 / 8)
        # Latency quantiles come from ~1% histograms: 4 x 400 ms.
        self.assertLess(abs(q["latency_p50_ms"] - 400) / 400, 0.02)


class TestSummaryLog(DaemonTestCase):
    def test_summary_log_lines_per_interval_and_at_exit(self):
        log = os.path.join(self.tmp, "summary.log")
        d = self.start("--summary-log", log, "--summary-interval", "1")
        d.write(TestMetrics.SPECS)
        wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0,
                 what="the first summary lines")
        time.sleep(1.2)  # an interval without traffic writes nothing
        d.write([{"model": "gpt-4o", "status": 503, "count": 4}])
        self.assertEqual(d.stop(), 0)  # the last, partial interval is written at exit
        with open(log) as f:
            lines = [json.loads(l) for l in f]
        totals = {}
        for l in lines:
            self.assertIsInstance(l["__time__"], (int, float))
            self.assertLess(abs(l["__time__"] - time.time()), 30)
            t = totals.setdefault(l["model"], [0, 0, 0])
            t[0] += l["requests"]
            t[1] += l["4xx"]
            t[2] += l["5xx"]
        self.assertEqual(totals, {"gpt-4o": [12, 3, 4], "qwen-max": [6, 0, 2]})
        # Every line is one active tuple in one interval.
        self.assertTrue(all(l["requests"] > 0 for l in lines))


    def test_both_logs_on_stdout_through_a_pipe(self):
        d = self.start("--access-log", "-", "--summary-log", "-", "--summary-interval", "1",
                       stdout=subprocess.PIPE)
        d.write([{"model": "m", "request_id": "r", "count": 300}])
        time.sleep(1.1)
        d.signal(signal.SIGTERM)
        out, _ = d.proc.communicate(timeout=60)
        self.assertEqual(d.stop(), 0)
        lines = [json.loads(l) for l in out.decode().splitlines()]
        access = [l["request_id"] for l in lines if "request_id" in l]
        summary = [l for l in lines if "__time__" in l]
        self.assertEqual(access, ["r-%d" % i for i in range(300)])
        self.assertEqual(sum(l["requests"] for l in summary), 300)


class TestConfigured(DaemonTestCase):
    def test_label_headers_reach_the_ring_and_the_labels(self):
        d = self.start("--label-header", "team=X-Team", "--label-max-values", "2")
        with open(d.ring, "rb") as f:
            hdr = f.read(4096)
        self.assertIn(b"x-team\0", hdr)  # producers read the header names at attach
        d.write([{"model": "m", "labels": ["search"], "count": 2},
                 {"model": "m", "labels": ["ads"], "count": 3},
                 {"model": "m", "labels": ["third"], "count": 1},
                 {"model": "m", "labels": ["fourth"], "count": 1}])
        teams = sum_by(parse_metrics(d.metrics()), "tokenring_requests_total", "team")
        # Past --label-max-values, values fold into "__other__".
        self.assertEqual(teams, {"search": 2, "ads": 3, "__other__": 2})

    def test_prices_from_the_config_file_give_cost(self):
        cfg = os.path.join(self.tmp, "c.json")
        with open(cfg, "w") as f:
            json.dump({"prices": {"gpt-4o": {"input": 2.5, "output": 10}}}, f)
        d = self.start("--config", cfg)
        d.write([{"model": "gpt-4o", "prompt_tokens": 1000, "completion_tokens": 200,
                  "count": 5},
                 {"model": "unpriced", "prompt_tokens": 1000, "count": 1}])
        cost = sum_by(parse_metrics(d.metrics()), "tokenring_cost_usd_total", "model")
        self.assertEqual(list(cost), ["gpt-4o"])
        self.assertAlmostEqual(cost["gpt-4o"], 5 * (1000 * 2.5 + 200 * 10) / 1e6, places=12)

    def test_ring_mode_and_group(self):
        d = self.start("--ring-mode", "0640", "--ring-group", "0")
        st = os.stat(d.ring)
        self.assertEqual(st.st_mode & 0o777, 0o640)
        self.assertEqual(st.st_gid, 0)

    def test_restart_with_another_capacity_replaces_the_ring(self):
        d = self.start(ring_capacity=1024)
        self.assertEqual(d.stop(), 0)
        old_ino = os.stat(d.ring).st_ino
        d2 = self.start(ring_capacity=2048)
        h = json.loads(d2.get("/healthz")[2])
        self.assertEqual((h["status"], h["ring"]["capacity"]), ("ok", 2048))
        self.assertNotEqual(os.stat(d2.ring).st_ino, old_ino)  # replaced atomically
        d2.write([{"model": "m", "count": 2}])
        self.assertEqual(sum_by(parse_metrics(d2.metrics()), "tokenring_requests_total",
                                "model"), {"m": 2})

    def test_sigkill_and_restart_keeps_counting(self):
        d = self.start(ring_capacity=1024)
        d.write([{"model": "m", "count": 10}])
        self.assertEqual(sum_by(parse_metrics(d.metrics()), "tokenring_requests_total",
                                "model"), {"m": 10})
        d.proc.kill()
        d.proc.wait()
        # Producers keep publishing into the ring while no daemon runs.
        subprocess.run([RING_WRITER, "--ring", d.ring, "--json", '{"model":"m","count":7}'],
                       check=True, capture_output=True)
        d2 = self.start(ring_capacity=1024)
        s = parse_metrics(d2.metrics())
        self.assertEqual(sum_by(s, "tokenring_requests_total", "model"), {"m": 7})
        h = json.loads(d2.get("/healthz")[2])
        self.assertEqual(h["ring"]["consumed"], 17)  # the ring's accounting spans both
        self.assertEqual(h["ring"]["dropped"], 0)


class TestHealth(DaemonTestCase):
    def test_healthz_ok_then_503_when_the_ring_file_is_replaced(self):
        d = self.start(ring_capacity=1024)
        d.write([{"model": "m", "count": 3}])
        status, headers, body = d.get("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        h = json.loads(body)
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["ring"]["capacity"], 1024)
        self.assertEqual(h["ring"]["consumed"], 3)
        self.assertEqual(h["ring"]["producers"], 1)
        self.assertEqual(h["records"], 3)
        # Someone else's file at the path: reported, and left alone.
        os.unlink(d.ring)
        with open(d.ring + ".tmp", "w") as f:
            f.write("not a ring")
        os.rename(d.ring + ".tmp", d.ring)
        status, headers, body = d.get("/healthz")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["reason"], "ring file replaced by another file")
        time.sleep(0.3)
        with open(d.ring) as f:
            self.assertEqual(f.read(), "not a ring")
        self.assertEqual(d.stop(), 0)

    def test_a_removed_ring_file_is_recreated(self):
        d = self.start(ring_capacity=1024)
        d.write([{"model": "before", "count": 2}])
        os.unlink(d.ring)
        wait_for(lambda: os.path.exists(d.ring), what="a new ring file")
        self.assertIn("was removed; created a new one", d.stderr())
        d.write([{"model": "after", "count": 3}])
        status, _, body = d.get("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["ring"]["recreated"], 1)
        models = sum_by(parse_metrics(d.metrics()), "tokenring_requests_total", "model")
        self.assertEqual(models, {"before": 2, "after": 3})
        self.assertEqual(d.stop(), 0)

    def test_restart_adopts_the_ring_and_leaves_it(self):
        d = self.start(ring_capacity=1024)
        self.assertEqual(d.stop(), 0)
        self.assertTrue(os.path.exists(d.ring), "the ring file stays for producers")
        # Records written while no daemon runs are drained by the next one.
        subprocess.run([RING_WRITER, "--ring", d.ring, "--json", '{"model":"late","count":4}'],
                       check=True, capture_output=True)
        d2 = self.start(ring_capacity=1024)
        models = sum_by(parse_metrics(d2.metrics()), "tokenring_requests_total", "model")
        self.assertEqual(models, {"late": 4})


class TestHttp(DaemonTestCase):
    def test_status_codes_for_junk(self):
        d = self.start()
        self.assertEqual(d.get("/nope")[0], 404)
        status, headers, _ = d.get("/metrics", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, HEAD")
        self.assertEqual(d.get("/healthz", method="DELETE")[0], 405)
        r = raw_exchange(d.port, b"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 413 "), r[:80])
        r = raw_exchange(d.port, b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 431 "), r[:80])
        r = raw_exchange(d.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 400 "), r[:80])
        r = raw_exchange(d.port, b"GET / HTTP/2.0\r\n\r\n")
        self.assertTrue(r.startswith(b"HTTP/1.1 505 "), r[:80])
        # HEAD: the head only.
        r = raw_exchange(d.port, b"HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        head, _, rest = r.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
        self.assertEqual(rest, b"")
        # The daemon still serves after all of that.
        self.assertEqual(d.get("/healthz")[0], 200)

    def test_keep_alive_and_pipelining(self):
        d = self.start()
        d.write([{"model": "m", "count": 2}])
        s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        (head1, body1), = read_responses(s, 1)
        self.assertTrue(head1.startswith("HTTP/1.1 200"))
        self.assertNotIn("Connection: close", head1)
        # Three pipelined requests in one segment, answered in order.
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        rs = read_responses(s, 3)
        self.assertEqual([h.split()[1] for h, _ in rs], ["200", "404", "200"])
        self.assertIn("tokenring_requests_total", rs[0][1])
        self.assertIn("Connection: close", rs[2][0])
        self.assertEqual(s.recv(10), b"")  # closed after Connection: close
        s.close()

    def test_a_slow_client_is_cut_off_at_its_deadline(self):
        d = self.start("--http-timeout-ms", "1000", "--max-connections", "16")
        t0 = time.monotonic()
        slow = socket.create_connection(("127.0.0.1", d.port), timeout=60)
        slow.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")  # never finishes its head
        self.assertEqual(d.get("/healthz")[0], 200)  # served meanwhile
        self.assertEqual(slow.recv(100), b"")  # cut off at its deadline
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)  # not before it
        slow.close()
        h = json.loads(d.get("/healthz")[2])
        self.assertEqual(h["http"]["timeouts"], 1)
        self.assertEqual(d.stop(), 0)

    def test_idle_clients_are_evicted_for_a_real_one(self):
        # A deadline no test run reaches: the only way the last client can
        # be served while every slot holds an idle socket is an eviction.
        d = self.start("--http-timeout-ms", "3600000", "--max-connections", "16")
        idle = [socket.create_connection(("127.0.0.1", d.port), timeout=60) for _ in range(40)]
        self.assertEqual(d.get("/healthz")[0], 200)
        for s in idle:
            s.close()
        h = json.loads(d.get("/healthz")[2])
        self.assertGreaterEqual(h["http"]["evicted"], 40 + 1 - 16)
        self.assertEqual(h["http"]["timeouts"], 0)
        self.assertEqual(h["http"]["rejected"], 0)
        self.assertEqual(d.stop(), 0)


    def test_10k_idle_sockets_a_huge_header_and_pipelined_garbage(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        n = min(10000, hard - 200)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        # Default --max-connections 1024; a deadline no run reaches, so
        # serving the last client proves eviction, not an idle timeout.
        d = self.start("--http-timeout-ms", "3600000")
        idle = []
        try:
            for _ in range(n):
                idle.append(socket.create_connection(("127.0.0.1", d.port), timeout=60))
            self.assertEqual(d.get("/healthz")[0], 200)
        finally:
            for s in idle:
                s.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        http = json.loads(d.get("/healthz")[2])["http"]
        # Past the 1024 slots every connection displaced another one.
        self.assertGreaterEqual(http["evicted"] + http["rejected"], n - 1024)
        self.assertGreaterEqual(http["accepted"], 1024)
        # A 1 MB header: 431, and the reply survives the unread rest.
        s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Huge: " + b"h" * (1 << 20) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 431 "))
        s.close()
        # A good request, then garbage on the same connection: 200, then 400.
        r = raw_exchange(d.port, b"GET /healthz HTTP/1.1\r\n\r\n\x00\xff garbage \r\n\r\n")
        self.assertEqual(re.findall(rb"HTTP/1.1 (\d+)", r), [b"200", b"400"])
        self.assertEqual(d.get("/healthz")[0], 200)
        self.assertEqual(d.stop(), 0)


    def test_slow_scrapers_are_capped_not_multiplied(self):
        # ~600 series make a /metrics body of several MB; clients with a
        # tiny receive buffer that never read keep it pending in the daemon.
        d = self.start("--label-max-values", "1000")
        d.write([{"model": "model-%d" % i, "stream": True} for i in range(600)])
        slow = []
        for _ in range(8):  # DAEMON_MAX_HEAVY_REPLIES
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", d.port))
            s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
            slow.append(s)
        # Until the daemon has taken all eight (however long that takes).
        status, headers, _ = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(
            d.get("/metrics")), step=0.02, what="a 503 while eight scrapes are held")
        self.assertEqual(status, 503)
        self.assertEqual(headers["Retry-After"], "1")
        self.assertEqual(d.get("/healthz")[0], 200)  # health checks are never capped
        for s in slow:
            s.close()
        wait_for(lambda: d.get("/metrics")[0] == 200, what="scrapes served again")
        self.assertEqual(d.stop(), 0)


class TestLogs(DaemonTestCase):
    def read_lines(self, path):
        with open(path) as f:
            return [json.loads(line) for line in f]

    def test_access_log_lines_are_json_with_asm_fields(self):
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--access-log", log)
        d.write([{"model": "qwen-turbo", "status": 200, "prompt_tokens": 11,
                  "completion_tokens": 90, "total_tokens": 101, "duration_ms": 2759,
                  "request_id": "d89faada", "method": "POST",
                  "path": "/compatible-mode/v1/chat/completions",
                  "authority": "dashscope.aliyuncs.com", "provider": "dashscope"}],
                workload="sleep", namespace="default")
        self.assertEqual(d.stop(), 0)
        (line,) = self.read_lines(log)
        for f in ASM_FIELDS + EXTRA_FIELDS:
            self.assertIn(f, line)
        self.assertEqual(line["request_model"], "qwen-turbo")
        self.assertEqual(line["response_code"], "200")
        self.assertEqual(line["request_prompt_tokens"], "11")
        self.assertEqual(line["request_completion_tokens"], "90")
        self.assertEqual(line["duration"], "2759")
        self.assertEqual(line["request_id"], "d89faada")
        self.assertEqual(line["method"], "POST")
        self.assertEqual(line["path"], "/compatible-mode/v1/chat/completions")
        self.assertEqual(line["authority_for"], "dashscope.aliyuncs.com")
        self.assertEqual(line["source_workload"], "sleep")
        self.assertEqual(line["source_namespace"], "default")

    def test_sigterm_loses_nothing(self):
        log = os.path.join(self.tmp, "access.log")
        # The daemon is stopped first (SIGSTOP), so all the records wait in
        # the ring: ~20 MB of lines, more than the log's gathering buffer
        # holds at once.
        d = self.start("--access-log", log, ring_capacity=32768)
        d.signal(signal.SIGSTOP)
        n = d.write([{"model": "m", "request_id": "r", "count": 25000}])
        d.signal(signal.SIGTERM)
        d.signal(signal.SIGCONT)
        self.assertEqual(d.proc.wait(timeout=30), 0)
        ids = [l["request_id"] for l in self.read_lines(log)]
        self.assertEqual(n, 25000)
        self.assertEqual(ids, ["r-%d" % i for i in range(25000)])

    def test_sighup_reopens_a_moved_log(self):
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--access-log", log)
        d.write([{"model": "before", "count": 3}])
        os.rename(log, log + ".old")  # at once: lines not yet written follow the file
        d.signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(log), what="the new log file")
        d.write([{"model": "after", "count": 2}])
        self.assertEqual(d.stop(), 0)
        self.assertEqual([l["request_model"] for l in self.read_lines(log + ".old")],
                         ["before"] * 3)
        self.assertEqual([l["request_model"] for l in self.read_lines(log)], ["after"] * 2)

    def test_size_rotation_keeps_n_files(self):
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--access-log", log, "--access-log-max-bytes", "4k",
                       "--access-log-keep", "2")
        for batch in range(40):  # separate batches, so rotation happens between them
            d.write([{"model": "m", "request_id": "b%d" % batch, "count": 3}])
            wait_for(lambda: json.loads(d.get("/healthz")[2])["access_log"]["lines"] ==
                     3 * (batch + 1), what="the batch on disk")
        self.assertEqual(d.stop(), 0)
        self.assertTrue(os.path.exists(log + ".1"))
        self.assertTrue(os.path.exists(log + ".2"))
        self.assertFalse(os.path.exists(log + ".3"))
        lines = []
        for p in (log + ".2", log + ".1", log):
            self.assertLessEqual(os.path.getsize(p), 4096)
            lines += self.read_lines(p)
        ids = [l["request_id"] for l in lines]
        # The newest lines are all there, in order, with no gap or duplicate.
        self.assertEqual(ids[-1], "b39-2")
        b, i = map(int, ids[0][1:].split("-"))
        expect = ["b%d-%d" % (x // 3, x % 3) for x in range(b * 3 + i, 120)]
        self.assertEqual(ids, expect)

    def test_keep_zero_rotates_by_starting_over(self):
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--access-log", log, "--access-log-max-bytes", "2k",
                       "--access-log-keep", "0")
        for batch in range(4):
            d.write([{"model": "m", "request_id": "b%d" % batch, "count": 2}])
            wait_for(lambda: json.loads(d.get("/healthz")[2])["access_log"]["lines"] ==
                     2 * (batch + 1), what="the batch on disk")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ["access.log", "ring", "tokenringd.err"])
        self.assertEqual([l["request_id"] for l in self.read_lines(log)], ["b3-0", "b3-1"])

    def test_full_disk_keeps_serving_and_counts(self):
        d = self.start("--access-log", "/dev/full")
        d.write([{"model": "m", "count": 10}])
        wait_for(lambda: "/dev/full" in d.stderr(), what="the error line")
        self.assertIn("No space left on device", d.stderr())
        self.assertEqual(d.get("/healthz")[0], 200)
        h = json.loads(d.get("/healthz")[2])
        self.assertGreaterEqual(h["access_log"]["errors"], 1)
        self.assertEqual(h["access_log"]["dropped"], 10)
        self.assertEqual(h["access_log"]["lines"], 0)
        s = parse_metrics(d.metrics())
        self.assertEqual(sum_by(s, "tokenring_requests_total", "model"), {"m": 10})
        self.assertEqual(d.stop(), 0)

    def test_unwritable_path_resumes_when_writable(self):
        logdir = os.path.join(self.tmp, "later")
        log = os.path.join(logdir, "access.log")
        d = self.start("--access-log", log)
        self.assertEqual(d.get("/healthz")[0], 200)
        d.write([{"model": "lost", "count": 2}])
        wait_for(lambda: "No such file or directory" in d.stderr(), what="the error line")
        os.mkdir(logdir)
        time.sleep(1.2)  # the retry delay
        d.write([{"model": "kept", "count": 3}])
        wait_for(lambda: os.path.exists(log) and
                 len(open(log).read().splitlines()) == 5, what="5 lines")
        self.assertEqual(d.stop(), 0)
        # Lines gathered while the file could not be opened were kept
        # (bounded by LOGFILE_MAX_PENDING) and written once it could.
        self.assertEqual([l["request_model"] for l in self.read_lines(log)],
                         ["lost"] * 2 + ["kept"] * 3)
        h_errors = d.stderr().count("open failed")
        self.assertEqual(h_errors, 1)  # one line per failure streak, not per retry


@unittest.skipUnless(os.geteuid() == 0, "mounting a tmpfs needs root")
class TestFullDisk(DaemonTestCase):
    """A real full filesystem (a 256 KiB tmpfs; mounting needs root)."""

    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(self.tmp, "small")
        os.mkdir(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", self.mnt],
                       check=True)

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        subprocess.run(["umount", self.mnt], check=True)
        super().tearDown()

    def fill(self, path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            for size in (4096, 1):  # pages, then any last bytes
                try:
                    while True:
                        os.write(fd, b"x" * size)
                except OSError:
                    pass
        finally:
            os.close(fd)

    def test_enospc_counts_then_resumes_with_whole_lines(self):
        log = os.path.join(self.mnt, "access.log")
        d = self.start("--access-log", log, "--access-log-max-bytes", "0")
        d.write([{"model": "m", "request_id": "early", "count": 2}])
        wait_for(lambda: json.loads(d.get("/healthz")[2])["access_log"]["lines"] == 2,
                 what="2 lines")
        filler = os.path.join(self.mnt, "filler")
        self.fill(filler)
        # Leave two pages: the 50-line batch (~40 KB) is cut by a short
        # write, then fails with ENOSPC.
        os.truncate(filler, os.path.getsize(filler) - 8192)
        # Stopped while the 50 records go in, so one drain takes them all
        # and they go out as one gathered write, whatever the scheduler does.
        d.signal(signal.SIGSTOP)
        d.write([{"model": "m", "request_id": "lost", "count": 50}])
        d.signal(signal.SIGCONT)
        wait_for(lambda: "No space left on device" in d.stderr(), what="the error line")
        s = parse_metrics(d.metrics())
        self.assertEqual(sum_by(s, "tokenring_requests_total", "model"),
                         {"m": 52})  # serving and counting go on
        dropped = sum_by(s, "tokenring_access_log_dropped_total", None)[None]
        written = sum_by(s, "tokenring_access_log_lines_total", None)[None]
        self.assertGreaterEqual(sum_by(s, "tokenring_access_log_errors_total", None)[None], 1)
        self.assertEqual(written + dropped, 52)  # every line either written or counted
        self.assertGreater(dropped, 0)
        os.unlink(filler)
        time.sleep(1.1)  # past the retry delay
        d.write([{"model": "m", "request_id": "late", "count": 3}])
        wait_for(lambda: json.loads(d.get("/healthz")[2])["access_log"]["lines"] == written + 3,
                 what="the late lines")
        self.assertIn("writing again", d.stderr())
        self.assertEqual(d.stop(), 0)
        with open(log) as f:
            text = f.read()
        # Every line parses, even if a failed write cut one (it is ended
        # before the next batch and so stands alone as a bad line).
        ids, cut = [], 0
        for line in text.splitlines():
            try:
                ids.append(json.loads(line)["request_id"])
            except ValueError:
                cut += 1
        self.assertEqual(cut, 1)  # the one line the short write cut, ended on its own
        lost = [i for i in ids if i.startswith("lost")]
        self.assertEqual(ids, ["early-0", "early-1"] + lost + ["late-0", "late-1", "late-2"])
        self.assertEqual(lost, ["lost-%d" % i for i in range(len(lost))])
        self.assertEqual(len(ids), written + 3)  # lines_total is exactly what is in the file


class TestConfig(DaemonTestCase):
    def run_bad(self, *args):
        r = subprocess.run([TOKENRINGD] + list(args), capture_output=True, timeout=10)
        return r.returncode, r.stderr.decode()

    def test_bad_flags_and_keys_exit_2_naming_them(self):
        rc, err = self.run_bad("--max-series", "lots")
        self.assertEqual(rc, 2)
        self.assertIn("--max-series", err)
        rc, err = self.run_bad("--no-such-flag")
        self.assertEqual(rc, 2)
        self.assertIn("--no-such-flag", err)
        cfg = os.path.join(self.tmp, "c.json")
        with open(cfg, "w") as f:
            json.dump({"summary-interval": 5, "colour": "blue"}, f)
        rc, err = self.run_bad("--config", cfg)
        self.assertEqual(rc, 2)
        self.assertIn('"colour"', err)
        r = subprocess.run([TOKENRINGD, "--version"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"tokenringd "))

    def test_every_name_tokenringd_writes_is_refused_as_label_header_with_exit_2(self):
        # The names a header label could collide with, read from what the
        # daemon really writes: every label of a scrape with all families,
        # every access log field, every summary key. Each must be refused
        # while parsing (exit 2 naming the flag), not later by the table
        # (that was exit 1: "aggregation table for 10000 series").
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--metrics", "tokenring,gen_ai,asm,istio,kgateway",
                       "--access-log", log, "--label-header", "team=x-team")
        d.write([{"model": "m", "status": 200, "prompt_tokens": 1, "completion_tokens": 2,
                  "total_tokens": 3, "duration_ms": 5, "provider": "openai"},
                 {"model": "m", "status": 503, "duration_ms": 5, "stream": True,
                  "ttft_ms": 1}])
        names = set()
        for _, labels, _ in parse_metrics(d.metrics()):
            names.update(labels)
        for e in json.loads(d.get("/api/v1/summary")[2])["series"]:
            names.update(e)
        self.assertEqual(d.stop(), 0)
        with open(log) as f:
            for line in f:
                names.update(json.loads(line))
        names.discard("team")  # the configured header label itself
        for must in ("duration", "error_type", "le", "reason", "version", "requests",
                     "gen_ai_token_type", "llmproxy_model", "usage_status"):
            self.assertIn(must, names)
        missing_ring = os.path.join(self.tmp, "no-such-dir", "ring")
        for name in sorted(names):
            rc, err = self.run_bad("--ring", missing_ring, "--label-header", name + "=x-h")
            self.assertEqual(rc, 2, "%s: exit %d: %s" % (name, rc, err))
            self.assertIn("--label-header", err, name)
            self.assertIn("'" + name + "'", err)

    def test_resources_that_cannot_be_set_up_exit_1_saying_why(self):
        d = self.start()
        r = subprocess.run([TOKENRINGD, "--ring", os.path.join(self.tmp, "ring2"), "--listen",
                            "127.0.0.1:%d" % d.port], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"Address already in use", r.stderr)
        r = subprocess.run([TOKENRINGD, "--ring", os.path.join(self.tmp, "no", "ring"),
                            "--listen", "127.0.0.1:0"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no/ring", r.stderr)
        os.symlink(d.ring, os.path.join(self.tmp, "link"))
        r = subprocess.run([TOKENRINGD, "--ring", os.path.join(self.tmp, "link"),
                            "--listen", "127.0.0.1:0"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1)  # a symlinked ring file is refused
        self.assertIn(b"link", r.stderr)
        self.assertEqual(d.get("/healthz")[0], 200)  # the running daemon is untouched

    def test_sighup_reloads_the_config_file(self):
        cfg = os.path.join(self.tmp, "c.json")
        log = os.path.join(self.tmp, "a.log")
        with open(cfg, "w") as f:
            json.dump({"access-log": "off"}, f)
        d = self.start("--config", cfg)
        d.write([{"model": "unlogged"}])
        # drained before the reload, or the HUP may overtake the next tick
        wait_for(lambda: 'model="unlogged"' in d.get("/metrics")[2], what="drain")
        with open(cfg, "w") as f:
            json.dump({"access-log": log, "max-series": 5}, f)
        d.signal(signal.SIGHUP)
        wait_for(lambda: json.loads(d.get("/healthz")[2])["reloads"] == 1, what="reload")
        self.assertIn("'max-series'", d.stderr())  # restart-only, and said so
        d.write([{"model": "logged"}])
        with open(cfg, "w") as f:
            f.write("{ not json")
        d.signal(signal.SIGHUP)
        wait_for(lambda: json.loads(d.get("/healthz")[2])["reload_errors"] == 1,
                 what="reload error")
        self.assertEqual(d.get("/healthz")[0], 200)
        self.assertEqual(d.stop(), 0)
        with open(log) as f:
            self.assertEqual([json.loads(l)["request_model"] for l in f], ["logged"])


@unittest.skipUnless(SHIM, "TOKENRING_SHIM (the built libtokenring.so) is not set")
class TestThroughTheShim(DaemonTestCase):
    """The whole pipeline: curl under LD_PRELOAD=libtokenring.so calls the
    demo LLM server; tokenringd's counters and access log must match what
    the server logged it sent."""

    def test_curl_through_the_shim_is_counted_exactly(self):
        log = os.path.join(self.tmp, "access.log")
        d = self.start("--access-log", log)
        server_log = os.path.join(self.tmp, "server.jsonl")
        server = subprocess.Popen(["/usr/bin/python3", os.path.join(SRC, "demo", "llm_server.py"),
                                   "--port", "0", "--log", server_log],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            port = int(server.stdout.readline().split()[-1])
            env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENRING_")}
            env.update(LD_PRELOAD=SHIM, TOKENRING_RING=d.ring, TOKENRING_WORKLOAD="e2e-client",
                       TOKENRING_NAMESPACE="e2e")
            bodies = [{"model": "e2e-a", "max_tokens": 5,
                       "messages": [{"role": "user", "content": "one two three"}]},
                      {"model": "e2e-b", "max_tokens": 3, "stream": True,
                       "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": "four five"}]}]
            for i in range(6):
                r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H",
                                    "Content-Type: application/json", "-H",
                                    "x-request-id: e2e-%d" % i, "--data",
                                    json.dumps(bodies[i % 2]),
                                    "http://127.0.0.1:%d/v1/chat/completions" % port],
                                   env=env, capture_output=True, timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
            # The server logs an exchange after sending its response, so
            # curl may be done before the line is: wait for all six.
            wait_for(lambda: len(read_jsonl(server_log)) >= 6, what="the server's 6 log lines")
        finally:
            server.terminate()
            server.wait(timeout=60)
            server.stdout.close()
        sent = read_jsonl(server_log)
        self.assertEqual(len(sent), 6)
        s = parse_metrics(d.metrics())
        want_req, want_prompt, want_completion = {}, {}, {}
        for x in sent:
            want_req[x["model"]] = want_req.get(x["model"], 0) + 1
            want_prompt[x["model"]] = want_prompt.get(x["model"], 0) + x["prompt_tokens"]
            want_completion[x["model"]] = (want_completion.get(x["model"], 0) +
                                           x["completion_tokens"])
        self.assertEqual(sum_by(s, "tokenring_requests_total", "model"), want_req)
        self.assertEqual(sum_by(s, "tokenring_prompt_tokens_total", "model"), want_prompt)
        self.assertEqual(sum_by(s, "tokenring_completion_tokens_total", "model"),
                         want_completion)
        self.assertEqual(sum_by(s, "tokenring_requests_total", "source_workload",
                                reporter="source"), {"e2e-client": 6})
        self.assertEqual(d.stop(), 0)
        with open(log) as f:
            lines = [json.loads(l) for l in f]
        self.assertEqual(sorted(l["request_id"] for l in lines),
                         ["e2e-%d" % i for i in range(6)])
        for l in lines:
            self.assertEqual(l["response_code"], "200")
            self.assertEqual(l["source_namespace"], "e2e")
            self.assertEqual(l["method"], "POST")
            self.assertEqual(l["path"], "/v1/chat/completions")


def extrapolated_rate(samples, range_s, eval_t):
    """Prometheus 2.x extrapolatedRate for a counter, from raw samples."""
    if len(samples) < 2:
        return None
    range_start, range_end = eval_t - range_s, eval_t
    result = samples[-1][1] - samples[0][1]
    for (t0, v0), (t1, v1) in zip(samples, samples[1:]):
        if v1 < v0:
            result += v0
    to_start = samples[0][0] - range_start
    to_end = range_end - samples[-1][0]
    sampled = samples[-1][0] - samples[0][0]
    avg = sampled / (len(samples) - 1)
    if result > 0 and samples[0][1] >= 0:
        to_zero = sampled * (samples[0][1] / result)
        to_start = min(to_start, to_zero)
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    return result * (interval / sampled) / range_s


class TestPrometheus(DaemonTestCase):
    def query(self, port, q, t=None):
        params = {"query": q}
        if t is not None:
            params["time"] = "%.3f" % t
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=60) as r:
            doc = json.loads(r.read())
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]["result"]

    def test_real_prometheus_scrapes_and_promql_answers(self):
        d = self.start()
        d.write([{"model": "gpt-4o", "status": 200, "count": 6, "duration_ms": 100,
                  "prompt_tokens": 10},
                 {"model": "gpt-4o", "status": 500, "count": 2, "duration_ms": 100},
                 {"model": "qwen-max", "status": 200, "count": 4, "duration_ms": 900}])
        prom_port = free_port()
        cfg = os.path.join(self.tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: tokenringd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n"
                    "  - job_name: envoy-style\n    metrics_path: /stats/prometheus\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % (d.port, d.port))
        prom_log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        prom = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(self.tmp, "tsdb"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port],
                                stdout=prom_log, stderr=prom_log)
        try:
            self._promql(d, prom_port)
        finally:
            prom.terminate()
            prom.wait(timeout=20)
            prom_log.close()

    def _promql(self, d, port):
        q = lambda expr, t=None: self.query(port, expr, t)

        def ready():
            try:
                return len(q('up == 1')) == 2
            except (urllib.error.URLError, ConnectionError):
                return None
        wait_for(ready, timeout=120, step=0.25, what="Prometheus to scrape tokenringd")
        wait_for(lambda: q("count_over_time(tokenring_requests_total[1m])"),
                 what="samples")

        wait_for(lambda: len(q("count by (job) (tokenring_requests_total)")) == 2,
                 what="samples from both jobs")
        for job in ("tokenringd", "envoy-style"):  # /metrics and /stats/prometheus
            by_model = {r["metric"]["model"]: float(r["value"][1]) for r in
                        q('sum by (model) (tokenring_requests_total{job="%s"})' % job)}
            self.assertEqual(by_model, {"gpt-4o": 8.0, "qwen-max": 4.0})
        (ratio,) = q('sum(tokenring_requests_total{job="tokenringd",response_code=~"2.."}) '
                     '/ sum(tokenring_requests_total{job="tokenringd"})')
        self.assertAlmostEqual(float(ratio["value"][1]), 10 / 12, places=9)

        # histogram_quantile: what Prometheus computes from the buckets it
        # scraped equals the same interpolation over our own exposition.
        scraped = parse_metrics(d.metrics())
        for model in ("gpt-4o", "qwen-max"):
            buckets = {}
            for n, l, v in scraped:
                if n == "tokenring_request_duration_seconds_bucket" and l.get("model") == model:
                    le = float(l["le"])
                    buckets[le] = buckets.get(le, 0) + v
            expect = bucket_quantile(0.5, sorted(buckets.items()))
            (res,) = q('histogram_quantile(0.5, sum by (le) (tokenring_request_duration_'
                       'seconds_bucket{job="tokenringd",model="%s"}))' % model)
            self.assertAlmostEqual(float(res["value"][1]), expect, places=9)
            true_value = 0.1 if model == "gpt-4o" else 0.9
            lo = max([b for b in buckets if b < true_value], default=0)
            hi = min(b for b in buckets if b >= true_value)
            self.assertTrue(lo <= expect <= hi, (model, lo, expect, hi))

        # rate: add traffic, let two more scrapes land, then compare
        # Prometheus's rate with its documented extrapolation over the raw
        # samples it stored.
        d.write([{"model": "gpt-4o", "status": 200, "count": 30, "duration_ms": 100}])
        sel = 'tokenring_requests_total{job="tokenringd",model="gpt-4o",response_code="200"}'
        wait_for(lambda: [r for r in q("%s == 36" % sel)], what="the new total")
        time.sleep(2.2)
        t = round(time.time(), 3)
        (rate,) = q("rate(%s[20s])" % sel, t)
        (raw,) = q("%s[20s]" % sel, t)
        samples = [(float(ts), float(v)) for ts, v in raw["values"]]
        self.assertEqual(samples[-1][1], 36.0)
        want = extrapolated_rate(samples, 20.0, t)
        self.assertLess(abs(float(rate["value"][1]) - want), 1e-6 * want)
        self.assertGreater(float(rate["value"][1]), 0)
        # Series that did not move have a rate of exactly 0.
        (flat,) = q('sum(rate(tokenring_requests_total{model="qwen-max"}[20s]))', t)  # both jobs
        self.assertEqual(float(flat["value"][1]), 0.0)


def bucket_quantile(q, buckets):
    """Prometheus's bucketQuantile over [(le, cumulative count)] sorted by le."""
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    i = next(i for i, (_, c) in enumerate(buckets) if c >= rank)
    if i == len(buckets) - 1:
        return buckets[-2][0]
    if i == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, below = (0.0, 0.0) if i == 0 else buckets[i - 1]
    end, count = buckets[i][0], buckets[i][1] - below
    return start + (end - start) * ((rank - below) / count)


if __name__ == "__main__":
    tt.main()
