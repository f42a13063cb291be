#!/usr/bin/python3
"""test_reliability.py - faults, hostile input and load, end to end on the
real binaries: libtokenring.so under real clients and servers (curl,
python3 requests, wrk, nginx, raw sockets), tokenringd, its /metrics and
access log, promtool.

Every test, once its assertions passed, records what it tried and what
happened (rows of docs/reliability.md) in $REL_RESULTS/<Class>.json;
record.py checks the committed table against them.

Environment (CTest sets it): TOKENRING_SHIM, TOKENRINGD, TOKENRING_CAPTURE,
REL_WRITER, REL_RESULTS, TOKENRING_SRC.
"""
import hashlib
import json
import mmap
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SHIM = os.environ["TOKENRING_SHIM"]
TOKENRINGD = os.environ["TOKENRINGD"]
CAPTURE = os.environ["TOKENRING_CAPTURE"]
REL_WRITER = os.environ["REL_WRITER"]
RESULTS = os.environ.get("REL_RESULTS", "/tmp/tokenring-reliability-results")
SRC = os.environ.get("TOKENRING_SRC", os.getcwd())
PY = "/usr/bin/python3"
PROMTOOL = "/usr/bin/promtool"
NGINX = "/usr/sbin/nginx"
WRK = "/usr/bin/wrk"
CHAT = "/v1/chat/completions"
TIMEOUT = 60

sys.path.insert(0, os.path.join(SRC, "bench", "httpload"))
import nginx as nginx_conf  # noqa: E402  (bench/httpload/nginx.py)
sys.path.insert(0, os.path.join(SRC, "shm"))
import ring_layout  # noqa: E402  (shm/ring_layout.py: header offsets, checked against ring.h)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import free_port, parse_metrics, wait_for  # noqa: E402

base_env = tt.clean_env


def total(samples, name, **match):
    return int(sum(v for n, labels, v in samples
                   if n == name and all(labels.get(k) == w for k, w in match.items())))


def by_label(samples, name, label):
    res = {}
    for n, labels, v in samples:
        if n == name:
            res[labels.get(label)] = res.get(labels.get(label), 0) + int(v)
    return res


def rss_kb(pid, field="VmRSS"):
    """A /proc/PID/status figure in kB: VmRSS, or RssAnon (private memory,
    without the ring's shared pages, which count once touched)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def shim_env(ring, **extra):
    return base_env(LD_PRELOAD=SHIM, TOKENRING_RING=ring, **extra)


def read_header(path):
    """The ring file's counters, read from the file itself (no daemon)."""
    with open(path, "rb") as f:
        b = f.read(ring_layout.CONTROL_SIZE)
    return ring_layout.counters(b)


class Daemon(tt.Daemon):
    """tt.Daemon with its ring's counters from the self-metrics."""

    def __init__(self, tmp, *args, capacity=4096, ring=None, name="d"):
        super().__init__(tmp, *args, ring=ring, ring_capacity=capacity,
                         name="%s-%d" % (name, time.monotonic_ns()))
        self.scrapes = 0

    def metrics_text(self):
        text = super().metrics_text()
        self.scrapes += 1
        return text

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def ring_stats(self, m=None):
        m = m or self.metrics()
        g = lambda n: total(m, "tokenring_ring_" + n)
        return {"tail": g("records_total"), "consumed": g("consumed_total"),
                "corrupt": g("corrupt_total"), "skipped": g("skipped_total"),
                "fill": g("fill"), "dropped": by_label(m, "tokenring_ring_dropped_total",
                                                       "reason")}

    def drained(self, timeout=TIMEOUT):
        """Wait until every claimed record is consumed or skipped; return stats."""
        return wait_for(lambda: (lambda s: s if s["fill"] == 0 else None)(self.ring_stats()),
                        timeout, "the ring to drain")



class Nginx:
    """nginx answering every request with bench/httpload's fixed chat completion."""

    BODY = nginx_conf.CHAT_BODY.encode()

    def __init__(self, tmp, env=None):
        self.dir = os.path.join(tmp, "nginx-%d" % free_port())
        os.makedirs(os.path.join(self.dir, "static"))
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(nginx_conf.upstream(self.dir, self.port, os.path.join(self.dir, "static")))
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env or base_env())
        wait_for(self._up, what="nginx to listen")
        self.url = "http://127.0.0.1:%d" % self.port

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited: " + open(os.path.join(self.dir,
                                                                      "upstream.err")).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


# A keep-alive requests client: N chat requests, each body printed; with a
# delay between requests so that it spans a fault. Exit 0 only if all got 200.
REQUESTS_CLIENT = r"""
import sys, time, requests
url, n, delay, model = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = requests.Session()
out = sys.stdout.buffer
for i in range(n):
    r = s.post(url, json={"model": model, "messages": [{"role": "user", "content": "hi %d" % i}]})
    if r.status_code != 200:
        sys.exit("status %d" % r.status_code)
    out.write(r.content + b"\n")
    out.flush()
    if delay:
        time.sleep(delay)
"""

# Shimmed requests client that keeps making requests (20 ms apart) until a
# stop file exists, then prints how many it made: it outlasts whatever the
# test does meanwhile, however slowly the machine runs either.
UNTIL_CLIENT = r"""
import os, sys, time, requests
url, stop, model = sys.argv[1], sys.argv[2], sys.argv[3]
s = requests.Session()
n = 0
while n == 0 or not os.path.exists(stop):
    r = s.post(url, json={"model": model, "messages": [{"role": "user", "content": "hi %d" % n}]})
    if r.status_code != 200:
        sys.exit("status %d" % r.status_code)
    n += 1
    time.sleep(0.02)
print(n)
"""

# Raw keep-alive client: one chat request per line of models on stdin (or a
# generated range), response read by Content-Length; prints a digest of all
# responses and the count.
RAW_CLIENT = r"""
import hashlib, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
n = int(sys.argv[3])
c = socket.create_connection((host, port))
h = hashlib.sha256()
buf = b""
def one(model):
    global buf
    body = b'{"model":"' + model + b'","messages":[]}'
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: llm\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    while b"\r\n\r\n" not in buf:
        buf += c.recv(65536)
    head, rest = buf.split(b"\r\n\r\n", 1)
    cl = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < cl:
        rest += c.recv(65536)
    h.update(rest[:cl])
    buf = rest[cl:]
for i in range(n):
    one(b"m-%d" % i)
c.close()
print(n, h.hexdigest())
"""


def run(cmd, env, timeout=TIMEOUT, **kw):
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kw)


class RelCase(unittest.TestCase):
    """Starts/cleans daemons, servers and a temp dir; collects record rows."""

    rows = None

    @classmethod
    def setUpClass(cls):
        cls.rows = []
        stale = os.path.join(RESULTS, cls.__name__ + ".json")
        if os.path.exists(stale):
            os.unlink(stale)

    @classmethod
    def tearDownClass(cls):
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, cls.__name__ + ".json")
        # Whole or not at all: record.py may read the directory while this
        # runs (ctest -j2 runs reliability_record_fuzz beside other tests).
        with open(path + ".tmp", "w") as f:
            json.dump({"rows": cls.rows}, f, indent=1)
        os.replace(path + ".tmp", path)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tokenring-rel-", dir="/dev/shm")
        self.procs = []
        self.stoppers = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        for s in reversed(self.stoppers):
            try:
                s()
            except Exception:  # cleanup only
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def daemon(self, *args, **kw):
        d = Daemon(self.tmp, *args, **kw)
        self.stoppers.append(d.kill)
        return d

    def nginx(self, env=None):
        n = Nginx(self.tmp, env)
        self.stoppers.append(n.stop)
        return n

    def popen(self, cmd, env, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, **kw)
        self.procs.append(p)
        return p

    def record(self, id, fault, tried, outcome):
        """A row of docs/reliability.md, written only after the assertions."""
        self.rows.append({"id": id, "fault": fault, "tried": tried, "outcome": outcome})

    def assert_identity(self, st):
        self.assertEqual(st["tail"], st["consumed"] + st["corrupt"] + st["skipped"], st)


class TestProducerKill(RelCase):
    KILLS = 20        # rel_writer processes dying between claim and commit
    GOOD = 5          # records each publishes before

    def test_producers_sigkilled_mid_write_while_others_produce(self):
        def writer_records(d):
            m = d.metrics()
            return (by_label(m, "tokenring_requests_total", "source_workload").get("rel_writer", 0)
                    + by_label(m, "tokenring_ring_dropped_total", "reason").get("late", 0))

        # room for what the victims write while a dead claim holds the
        # consumer for the skip timeout (50 ms): no drop, so exact counts
        d = self.daemon(capacity=16384)
        ng = self.nginx()
        rnd = random.Random(7)
        stop = os.path.join(self.tmp, "survivors-stop")
        survivors = [self.popen([PY, "-c", UNTIL_CLIENT, ng.url + CHAT, stop, "survivor"],
                                shim_env(d.ring, TOKENRING_WORKLOAD="survivor-%d" % i))
                     for i in range(2)]
        wait_for(lambda: d.ring_stats()["consumed"] >= 2, what="the survivors to start")
        victims = 0
        for k in range(1, self.KILLS + 1):
            r = run([REL_WRITER, d.ring, "die", str(self.GOOD)], base_env())
            self.assertEqual(r.returncode, -signal.SIGKILL, r.stderr)
            # The consumer goes on past every dead claim: the records the
            # writer published before dying are all counted (however long
            # the skip takes the loaded machine).
            # (A record whose producer was descheduled past the skip
            # timeout mid-write is dropped as late instead: counted.)
            wait_for(lambda: writer_records(d) >= k * self.GOOD,
                     what="rel_writer's records after kill %d" % k)
            # and a shimmed raw-socket request loop, SIGKILLed at a random
            # time once it is making requests (its start may take long)
            v = self.popen([PY, "-c", RAW_CLIENT, "127.0.0.1", str(ng.port), "100000000"],
                           shim_env(d.ring, TOKENRING_WORKLOAD="victim"))
            before = victims
            victims = wait_for(lambda: (lambda n: n > before and n)(by_label(
                d.metrics(), "tokenring_requests_total", "source_workload").get("victim", 0)),
                what="victim %d to make requests" % k)
            time.sleep(rnd.uniform(0.0, 0.1))
            v.kill()
            v.wait()
        with open(stop, "w"):
            pass
        made = []
        for p in survivors:
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            made.append(int(out))
        st = d.drained()
        m = d.metrics()
        self.assert_identity(st)
        self.assertEqual(st["corrupt"], 0)
        # A producer descheduled past the skip timeout between claim and
        # commit (a loaded machine) has its slot skipped and its commit
        # refused as late: counted one for one. Nothing else is dropped.
        late = st["dropped"]["late"]
        self.assertEqual(sum(st["dropped"].values()), late, st)
        # each dead writer left one claimed slot: skipped; a victim may
        # also have died between claim and commit (each at most once)
        victims_mid_write = st["skipped"] - self.KILLS - late
        self.assertTrue(0 <= victims_mid_write <= self.KILLS, st)
        workloads = by_label(m, "tokenring_requests_total", "source_workload")
        # survivors and writers counted exactly, but for late drops
        missing = [made[0] - workloads["survivor-0"], made[1] - workloads["survivor-1"],
                   self.KILLS * self.GOOD - workloads["rel_writer"]]
        self.assertTrue(all(n >= 0 for n in missing), (missing, made, workloads))
        self.assertLessEqual(sum(missing), late, (missing, st))
        self.assertGreaterEqual(workloads["victim"], self.KILLS)
        models = by_label(m, "tokenring_requests_total", "model")
        self.assertNotIn("never-committed", models)
        self.assertEqual(st["consumed"], sum(workloads.values()))
        self.record("producer_kill", "producer SIGKILLed between claim and commit, while "
                    "others produce (real daemon)",
                    "%d writers killed mid-record + %d shimmed request loops killed at "
                    "random, 2 shimmed clients making requests throughout"
                    % (self.KILLS, self.KILLS),
                    "daemon never stalled; consumed + corrupt + skipped == records; "
                    "every dead claim skipped, never delivered; survivors counted exactly")


    def test_dead_claim_holds_the_consumer_for_the_skip_timeout_only(self):
        """A dead claim at the head blocks the consumer until the ring's skip
        timeout (50 ms): a burst meanwhile fills the ring and the rest is
        dropped, counted exactly; then the consumer goes on."""
        d = self.daemon(capacity=64)
        rounds, burst = 5, 2000
        published = dropped = 0
        for _ in range(rounds):
            r = run([REL_WRITER, d.ring, "die", "0"], base_env())
            self.assertEqual(r.returncode, -signal.SIGKILL, r.stderr)
            r = run([REL_WRITER, d.ring, "burst", str(burst)], base_env())
            self.assertEqual(r.returncode, 0, r.stderr)
            words = r.stdout.split()
            published += int(words[1])
            dropped += int(words[3])
            d.drained()
        st = d.drained()
        self.assertEqual(published + dropped, rounds * burst)
        self.assertGreater(dropped, 0)
        # A burst writer descheduled past the skip timeout between claim and
        # commit (a loaded machine) is skipped too, its commit refused as
        # "late": counted one for one, whatever the scheduler did.
        late = st["dropped"]["late"]
        self.assertEqual(st["dropped"], {"full": dropped - late, "contention": 0, "late": late,
                                         "detached": 0})
        self.assertEqual(st["skipped"], rounds + late)
        self.assertEqual((st["consumed"], st["corrupt"]), (published, 0))
        self.assert_identity(st)
        self.assertEqual(total(d.metrics(), "tokenring_requests_total"), published)
        self.record("producer_kill_burst", "producer SIGKILLed between claim and commit at "
                    "the head of a small ring, then a burst",
                    "%d rounds: a dead claim, then %d records at once into a ring of 64"
                    % (rounds, burst),
                    "the consumer waits the skip timeout (50 ms) on the dead slot: the ring "
                    "fills and the rest of the burst is dropped, counted exactly (reason "
                    "full); then everything published is consumed")


class TestDaemonRestart(RelCase):
    CLIENT_N = 600
    CYCLES = 3

    def test_daemon_sigkilled_and_restarted_under_load(self):
        ng = self.nginx()
        cmd = [PY, "-c", REQUESTS_CLIENT, ng.url + CHAT, str(self.CLIENT_N), "0.008", "rs"]
        curl_cmd = ["sh", "-c", 'i=0; while [ $i -lt %d ]; do curl -sS --noproxy "*" '
                    '-H "Content-Type: application/json" -d \'{"model":"rs-curl"}\' %s || '
                    'exit 1; echo; i=$((i+1)); done' % (self.CLIENT_N // 5, ng.url + CHAT)]
        plain = []
        for p in [self.popen(c, base_env()) for c in (cmd, curl_cmd)]:
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            plain.append(out)
        d = self.daemon(capacity=16)
        ring = d.ring
        # the shimmed run: the server under the shim too (reporter destination)
        sng = self.nginx(shim_env(ring))
        cmd[3] = sng.url + CHAT
        curl_cmd[2] = curl_cmd[2].replace(ng.url, sng.url)
        outfiles = [os.path.join(self.tmp, "app%d.out" % i) for i in range(3)]
        apps = []
        for c, path in zip((cmd, cmd, curl_cmd), outfiles):
            with open(path, "wb") as f:
                apps.append(self.popen(c, shim_env(ring), stdout=f))
        def progress():
            """Replies each app has printed so far."""
            counts = []
            for path in outfiles:
                with open(path, "rb") as f:
                    counts.append(f.read().count(b"\n"))
            return counts
        # one record from the client and one from the server per request
        sent = 2 * (2 * self.CLIENT_N + self.CLIENT_N // 5)
        counted_by_dead = 0
        dropped_down = []
        for cycle in range(self.CYCLES):
            # the (new) daemon counts before it is killed again
            last = wait_for(lambda: (lambda m: m if total(m, "tokenring_requests_total") > 0
                                     else None)(d.metrics()), what="the daemon to count")
            self.assertIsNone(apps[0].poll(), "the apps must outlast the restarts")
            d.kill()
            at_kill = read_header(ring)
            before = progress()
            # what the dead daemon had counted is what the file says it consumed
            self.assertGreaterEqual(at_kill["consumed"] - counted_by_dead,
                                    total(last, "tokenring_requests_total"))
            # the apps go on making requests with nobody draining the ring,
            # until it is full and drops are counted (waited for, not
            # assumed to happen within some time)
            wait_for(lambda: (lambda a: a[0] > before[0] and a[1] > before[1])(progress()),
                     what="both apps to make progress with no daemon")
            wait_for(lambda: read_header(ring)["dropped"][0] > at_kill["dropped"][0],
                     what="the ring to fill with no daemon")
            down = read_header(ring)
            dropped_down.append(down["dropped"][0] - at_kill["dropped"][0])
            self.assertEqual(down["consumed"], at_kill["consumed"])
            d = self.daemon(capacity=16, ring=ring, name="d%d" % cycle)
            counted_by_dead = at_kill["consumed"]
        outs = []
        for p, path in zip(apps, outfiles):
            _, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            with open(path, "rb") as f:
                outs.append(f.read())
        st = d.drained()
        m = d.metrics()
        self.assertIsNone(sng.proc.poll(), "the shimmed server kept running")
        # both sides counted again after the last restart
        self.assertEqual(set(by_label(m, "tokenring_requests_total", "reporter")),
                         {"source", "destination"})
        # identical behaviour: byte-identical client output
        self.assertEqual(outs[0], plain[0])
        self.assertEqual(outs[1], plain[0])
        self.assertEqual(outs[2], plain[1])
        # nothing lost uncounted: every request sent is a record or a drop
        self.assertEqual(sent, st["tail"] + sum(st["dropped"].values()), st)
        self.assert_identity(st)
        self.assertEqual((st["corrupt"], st["skipped"]), (0, 0))
        self.assertEqual(st["dropped"]["detached"], 0)
        self.assertGreaterEqual(st["dropped"]["full"], sum(dropped_down))
        # while the daemon was down the ring filled and the rest was counted
        for n in dropped_down:
            self.assertGreater(n, 0, dropped_down)
        # counting resumed: the last daemon counted exactly what it consumed
        self.assertEqual(total(m, "tokenring_requests_total"), st["consumed"] - counted_by_dead)
        self.assertGreater(st["consumed"] - counted_by_dead, 0)
        self.record("daemon_restart", "daemon SIGKILLed and restarted under load",
                    "%d kill + restart cycles, each down until the ring filled, 2 python "
                    "requests clients "
                    "x %d + %d curl processes against nginx, all under the shim, ring of "
                    "16" % (self.CYCLES, self.CLIENT_N, self.CLIENT_N // 5),
                    "apps exit 0 with byte-identical output, nginx keeps serving; "
                    "client + server records == records + dropped; "
                    "drops while down counted (reason full); counting resumes on the "
                    "adopted ring")


class TestRingFull(RelCase):
    N = 300

    def test_burst_larger_than_the_ring_with_the_daemon_stopped(self):
        ng = self.nginx()
        cmd = [PY, "-c", REQUESTS_CLIENT, ng.url + CHAT, str(self.N), "0", "burst"]
        plain = run(cmd, base_env())
        self.assertEqual(plain.returncode, 0, plain.stderr)
        d = self.daemon(capacity=16)
        self.assertEqual(run(cmd[:4] + ["1", "0", "warm"], shim_env(d.ring)).returncode, 0)
        d.drained()
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            shimmed = run(cmd, shim_env(d.ring))
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        self.assertEqual(shimmed.returncode, 0, shimmed.stderr)
        self.assertEqual(shimmed.stdout, plain.stdout)
        st = d.drained()
        m = d.metrics()
        self.assertEqual(st["tail"], 1 + 16)
        self.assertEqual(st["consumed"], 1 + 16)
        self.assertEqual(st["dropped"], {"full": self.N - 16, "contention": 0, "late": 0,
                                         "detached": 0})
        self.assertEqual(by_label(m, "tokenring_requests_total", "model"),
                         {"warm": 1, "burst": 16})
        self.record("ring_full_stopped", "ring full: burst larger than the ring, daemon "
                    "stopped (SIGSTOP)",
                    "%d requests into a ring of 16" % self.N,
                    "app output identical, exit 0; 16 records consumed, %d drops counted "
                    "(reason full), exactly" % (self.N - 16))

    def test_burst_against_a_slow_daemon(self):
        ng = self.nginx()
        d = self.daemon("--tick-us", "200000", capacity=4)
        n, procs = 200, 3
        apps = [self.popen([PY, "-c", REQUESTS_CLIENT, ng.url + CHAT, str(n), "0", "slow"],
                           shim_env(d.ring)) for _ in range(procs)]
        for p in apps:
            out, err = p.communicate(timeout=TIMEOUT)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out, (ng.BODY + b"\n") * n)
        st = d.drained()
        m = d.metrics()
        self.assert_identity(st)
        dropped = sum(st["dropped"].values())
        self.assertEqual(n * procs, st["consumed"] + dropped, st)
        self.assertGreater(st["dropped"]["full"], 0)
        self.assertEqual(total(m, "tokenring_requests_total"), st["consumed"])
        self.record("ring_full_slow", "ring full: 3 concurrent bursts, daemon draining "
                    "every 200 ms into a ring of 4",
                    "%d requests" % (n * procs),
                    "apps complete with the right bodies; sent == consumed + dropped, exactly")


class TestLoad(RelCase):
    SECONDS = 24

    def test_wrk_through_the_shim_with_scrapes_every_second(self):
        ng = self.nginx()
        d = self.daemon(capacity=16384)
        wrk = self.popen([WRK, "-t1", "-c4", "-d%ds" % self.SECONDS, "--latency",
                          ng.url + CHAT], shim_env(d.ring, TOKENRING_WORKLOAD="wrk"))
        t0 = time.monotonic()
        samples = []  # (t, wrk rss, daemon rss, requests so far)
        while wrk.poll() is None:
            time.sleep(1.0)
            try:
                w = rss_kb(wrk.pid)
            except (FileNotFoundError, AssertionError):
                break
            m = d.metrics()
            samples.append((time.monotonic() - t0, w, rss_kb(d.proc.pid),
                            total(m, "tokenring_requests_total")))
        out, err = wrk.communicate(timeout=TIMEOUT)
        self.assertEqual(wrk.returncode, 0, err)
        text = out.decode()
        done = int(re.search(r"(\d+) requests in", text).group(1))
        self.assertNotIn("Non-2xx", text)
        self.assertNotIn("Socket errors", text)
        st = d.drained()
        m = d.metrics()
        codes = by_label(m, "tokenring_requests_total", "response_code")
        dropped = sum(st["dropped"].values())
        self.assert_identity(st)
        self.assertEqual((st["corrupt"], st["skipped"]), (0, 0))
        # wrk's count of completed requests is exactly what the daemon counted
        # plus what the ring dropped (requests cut by wrk's exit at the
        # deadline end in no close() the shim sees, so in no record)
        self.assertEqual(done, total(m, "tokenring_requests_total") + dropped,
                         (done, codes, st))
        self.assertEqual(list(codes), ["200"])
        self.assertEqual(total(m, "tokenring_scrapes_total"), d.scrapes)
        # the counts went up on every scrape: the daemon kept up
        counts = [s[3] for s in samples]
        self.assertTrue(all(b > a for a, b in zip(counts, counts[1:-1])), counts)
        # flat RSS: at the end no more than at a quarter, with a small slack
        n = len(samples)
        self.assertGreaterEqual(n, self.SECONDS - 3)
        q = samples[n // 4]
        last = samples[-2]  # the last sample taken while wrk surely ran
        for i, name in ((1, "wrk (shimmed)"), (2, "tokenringd")):
            self.assertLessEqual(last[i], q[i] + 1024 + q[i] // 50,
                                 "%s RSS grew: %s" % (name, [s[i] for s in samples]))
        self.record("load_wrk", "load: wrk under the shim at full speed, /metrics scraped "
                    "every second",
                    "%d s, 1 thread x 4 connections" % self.SECONDS,
                    "wrk's count == tokenring_requests_total + dropped, exactly (all "
                    "200); counts rise on every scrape; RSS of wrk and tokenringd flat "
                    "(end <= quarter + 1 MiB + 2%)")
        print("load: %d requests in %d s; records by code %s; dropped %d; rss wrk %s kB, "
              "daemon %s kB" % (done, self.SECONDS, codes, dropped, (q[1], last[1]),
                                (q[2], last[2])))


# One connection per case: a chat request with the given Host header and
# raw model bytes (JSON-quoted by the caller), response read to the close.
HOSTILE_CLIENT = r"""
import json, socket, sys
port = int(sys.argv[1])
for line in sys.stdin.buffer:
    case = json.loads(line)
    host = bytes.fromhex(case["host"])
    model = bytes.fromhex(case["model"])
    body = b'{"model":"' + model + b'","messages":[{"role":"user","content":"x"}]}'
    c = socket.create_connection(("127.0.0.1", port))
    team = bytes.fromhex(case["team"])
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: " + host + b"\r\nX-Team: " + team +
              b"\r\nContent-Type: application/json\r\nConnection: close\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with c, c.makefile("rb") as f:
        got = f.read()
    sys.stdout.buffer.write(got.split(b" ")[1] + b"\n")
"""


SEED_LINT = sorted([
    'asm_llm_proxy_completion_tokens counter metrics should have "_total" suffix',
    'asm_llm_proxy_prompt_tokens counter metrics should have "_total" suffix',
    'istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"'])


class TestLabelInjection(RelCase):
    # (model bytes as they appear inside the JSON string, Host header bytes,
    #  the model label the exposition must parse back to, or None to only
    #  require valid output)
    # (model bytes as they appear inside the JSON string, Host header bytes,
    #  the model label the exposition must parse back to, or None to only
    #  require valid output). The shim keeps the JSON string as sent, escapes
    #  and all (it does not decode them).
    CASES = [
        # JSON escapes are decoded (proto/llm_json_str.c): the label is the name meant
        (b'quo\\"te', b"llm", 'quo"te'),
        (b"back\\\\slash", b"llm", "back\\slash"),
        (b"new\\nline", b"llm", "new\nline"),
        (b'brace} evil_metric{x=\\"1\\"} 1', b"llm", 'brace} evil_metric{x="1"} 1'),
        (b"bad\xff\xfeutf8\xc3", b"llm", "bad\ufffd\ufffdutf8\ufffd"),
        (b"x" * 10240, b"llm", "x" * 63),
        (b"ctl\\u0001\\u007f\\t", b"llm", "ctl\ufffd\ufffd\ufffd"),  # controls: U+FFFD in labels
        (b"\\u0000nul", b"llm", "\ufffdnul"),
        (b"raw\x01ctl\x7f\x1b[31m", b"llm", "raw\ufffdctl\ufffd\ufffd[31m"),
        (b"raw\nnewline", b"llm", "raw\nnewline"),
        (b"host-quote", b'h"o\\st}', "host-quote"),
        (b"host-utf8", b"h\xff\xfe.example", "host-utf8"),
        (b"host-long", b"h" * 10240, "host-long"),
        (b"host-brace", b'evil"} 1\r\nX-Injected: 1', "host-brace"),
    ]

    def test_hostile_models_and_hosts_through_the_shim(self):
        ng = self.nginx()
        log = os.path.join(self.tmp, "access.log")
        d = self.daemon("--metrics", "tokenring,gen_ai,asm,istio,kgateway",
                        "--access-log", log, "--label-header", "team=X-Team", capacity=1024)
        # a header label too: quote, brace, backslash and a bad byte in each
        team = lambda i: b't%d"}\\\xff' % i
        cases = b"".join(json.dumps({"model": m.hex(), "host": h.hex(),
                                     "team": team(i).hex()}).encode() + b"\n"
                         for i, (m, h, _) in enumerate(self.CASES))
        plain = run([PY, "-c", HOSTILE_CLIENT, str(ng.port)], base_env(), input=cases)
        shimmed = run([PY, "-c", HOSTILE_CLIENT, str(ng.port)], shim_env(d.ring),
                      input=cases)
        self.assertEqual(shimmed.returncode, 0, shimmed.stderr)
        self.assertEqual(shimmed.stdout, plain.stdout)
        n = len(self.CASES)
        self.assertEqual(len(shimmed.stdout.split()), n)
        st = d.drained()
        self.assertEqual((st["consumed"], sum(st["dropped"].values())), (n, 0))
        text = d.metrics_text()
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        # the only complaints allowed: lint of the names the seeds impose
        self.assertEqual(sorted((r.stdout + r.stderr).decode().splitlines()), SEED_LINT)
        text.encode("utf-8")  # decodes and re-encodes: valid UTF-8
        m = parse_metrics(text)
        self.assertEqual(total(m, "tokenring_requests_total"), n)
        models = by_label(m, "tokenring_requests_total", "model")
        self.assertEqual(models, {want: 1 for _, _, want in self.CASES})
        teams = by_label(m, "tokenring_requests_total", "team")
        self.assertEqual(teams, {'t%d"}\\\ufffd' % i: 1 for i in range(n)})
        dests = by_label(m, "tokenring_requests_total", "destination_service")
        self.assertEqual(dests.get('h"o\\st}'), 1, sorted(dests))
        # no injected series: every sample's labels parsed, none named x
        self.assertFalse(any(n_.startswith("evil") for n_, _, _ in m))
        def log_lines():
            if not os.path.exists(log):
                return None
            with open(log, "rb") as f:
                ls = f.read().splitlines()
            return ls if len(ls) == n else None
        lines = wait_for(log_lines, what="the access log lines")
        entries = [json.loads(l.decode("utf-8")) for l in lines]
        # the log keeps control bytes (JSON-escaped); bad UTF-8 is U+FFFD there too;
        # the body's JSON escapes are decoded (\u0000 is U+FFFD)
        def meant(m_):
            t = m_[:63].decode("utf-8", "replace")
            t = json.loads('"%s"' % t, strict=False) if b"\\" in m_ else t
            return t.replace("\x00", "\ufffd")
        self.assertEqual(sorted(e["request_model"] for e in entries),
                         sorted(meant(m_) for m_, _, _ in self.CASES))
        self.record("label_injection", "label injection through the shim: model names, "
                    "Host headers and a --label-header header with quotes, backslashes, newlines, }, control bytes, "
                    "invalid UTF-8, 10 KB",
                    "%d hostile requests (python raw-socket client under the shim, "
                    "nginx), every metric family" % n,
                    "promtool check metrics: no error, only the lint of seed-imposed names; values parse back exactly; invalid "
                    "UTF-8 becomes U+FFFD; every access log line is valid JSON")


# One connection per case: send the request bytes, half-close, read the
# reply to EOF; print the sha256 of what came back. Cases: hex lines on stdin.
GARBAGE_CLIENT = r"""
import hashlib, socket, sys
port = int(sys.argv[1])
for line in sys.stdin:
    req = bytes.fromhex(line.strip())
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(req)
    c.shutdown(socket.SHUT_WR)
    with c, c.makefile("rb") as f:
        print(hashlib.sha256(f.read()).hexdigest(), flush=True)
"""

# The same from the server side: accept one connection per case, read to
# EOF, print the sha256 of what came in, send the case's reply (hex lines
# of the file argv[1]), close.
GARBAGE_SERVER = r"""
import hashlib, socket, sys
l = socket.create_server(("127.0.0.1", 0))
print(l.getsockname()[1], flush=True)
for line in open(sys.argv[1]):
    reply = bytes.fromhex(line.strip())
    c, _ = l.accept()
    with c, c.makefile("rb") as f:
        got = f.read()
        c.sendall(reply)
    print(hashlib.sha256(got).hexdigest(), flush=True)
"""


class RawPeer:
    """An unshimmed peer in the test process: as a server, one connection
    per case (read to EOF, then reply); as a client, the mirror image."""

    def __init__(self):
        self.received = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def serve(self, replies):
        def loop():
            for reply in replies:
                c, _ = self.listener.accept()
                with c, c.makefile("rb") as f:
                    self.received.append(f.read())
                    c.sendall(reply)
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(TIMEOUT)
        self.listener.close()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def garbage_cases():
    """(name, request bytes, response bytes): what a peer may put on the wire."""
    rnd = random.Random(9)
    blob = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))
    big = b"a" * (100 * 1024)
    chat = b'{"model":"garbage","messages":[]}'
    post = lambda extra, body=chat: (b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\n" + extra
                                     + b"\r\n" + body)
    ok_json = b'{"model":"garbage","usage":{"prompt_tokens":1,"completion_tokens":1}}'
    return [
        ("binary", blob(65536), blob(65536)),
        ("binary after an upper-case byte", b"G" + blob(4096), b"H" + blob(4096)),
        ("HTTP/0.9", b"GET /v1/chat/completions\r\n", b"<html>0.9</html>\n"),
        ("100 KB header line", post(b"X-Big: " + big + b"\r\nContent-Length: %d\r\n"
                                    % len(chat)),
         b"HTTP/1.1 200 OK\r\nX-Big: " + big + b"\r\nContent-Length: %d\r\n\r\n"
         % len(ok_json) + ok_json),
        ("negative Content-Length", post(b"Content-Length: -5\r\n"),
         b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc"),
        ("huge Content-Length", post(b"Content-Length: 99999999999999999999999\r\n"),
         b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\nabc"),
        ("bad chunk size", post(b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"),
         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n"),
        ("chunk size overflow", post(b"Transfer-Encoding: chunked\r\n",
                                     b"ffffffffffffffff1\r\nabc\r\n"),
         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n"),
        ("valid request, binary response", post(b"Content-Length: %d\r\n" % len(chat)),
         blob(8192)),
        ("response shorter than its Content-Length",
         post(b"Content-Length: %d\r\n" % len(chat)),
         b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + ok_json),
    ]


class TestWireGarbage(RelCase):
    def run_side(self, role):
        """Shimmed client against a raw server (role source) or raw client
        against a shimmed server (role destination); returns the records."""
        cases = garbage_cases()
        cap = subprocess.Popen([CAPTURE, "--ring", os.path.join(self.tmp, "cap-" + role)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ring = os.path.join(self.tmp, "cap-" + role)
        wait_for(lambda: os.path.exists(ring), what="ring_capture")
        env = shim_env(ring, TOKENRING_HTTP="all")
        if role == "source":
            peer = RawPeer()
            peer.serve([resp for _, _, resp in cases])
            r = run([PY, "-c", GARBAGE_CLIENT, str(peer.port)], env,
                    input="".join(req.hex() + "\n" for _, req, _ in cases).encode())
            peer.join()
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            # both ends saw exactly the bytes the other sent
            self.assertEqual([sha(x) for x in peer.received], [sha(req) for _, req, _ in cases])
            self.assertEqual(r.stdout.decode().split(), [sha(resp) for _, _, resp in cases])
        else:
            replies = os.path.join(self.tmp, "replies")
            with open(replies, "w") as f:
                f.write("".join(resp.hex() + "\n" for _, _, resp in cases))
            srv = self.popen([PY, "-c", GARBAGE_SERVER, replies], env)
            port = int(srv.stdout.readline())
            got = []
            for _, req, _ in cases:
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(req)
                c.shutdown(socket.SHUT_WR)
                with c, c.makefile("rb") as f:
                    got.append(sha(f.read()))
            out, err = srv.communicate(timeout=TIMEOUT)
            self.assertEqual(srv.returncode, 0, err)
            self.assertEqual(err, b"")
            self.assertEqual(out.decode().split(), [sha(req) for _, req, _ in cases])
            self.assertEqual(got, [sha(resp) for _, _, resp in cases])
        cap.send_signal(signal.SIGTERM)
        out, err = cap.communicate(timeout=TIMEOUT)
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    # What the shim records per case (TOKENRING_HTTP=all): None = not HTTP,
    # no record; else (method, path, status, flags, usage status).
    PE, CC, LLM, RID = "parse_error", "conn_closed", "llm", "request_id_generated"
    EXPECTED = [
        None,
        ("", "", 0, {PE, CC}, "none"),
        ("", "", 0, {PE, CC}, "none"),
        ("POST", CHAT, 0, {PE, CC}, "none"),
        ("POST", CHAT, 0, {PE, CC}, "none"),
        ("POST", CHAT, 0, {PE, CC}, "none"),
        ("POST", CHAT, 0, {LLM, PE, CC, RID}, "interrupted"),
        ("POST", CHAT, 0, {LLM, PE, CC, RID}, "interrupted"),
        ("POST", CHAT, 0, {LLM, PE, CC, RID}, "interrupted"),
        ("POST", CHAT, 200, {LLM, CC, RID}, "interrupted"),
    ]

    def test_garbage_passes_through_untouched_both_directions(self):
        cases = garbage_cases()
        for role in ("source", "destination"):
            recs = self.run_side(role)
            want = [(e[0], e[1], e[2], len(c[1]), len(c[2]), e[3], e[4], role)
                    for c, e in zip(cases, self.EXPECTED) if e is not None]
            got = [(r["method"], r["path"], r["status"], r["req_bytes"], r["resp_bytes"],
                    set(r["flag_names"]), r["usage_status"], r["reporter"]) for r in recs]
            self.assertEqual(got, want)
        # the daemon, default settings: only the exchanges classified LLM
        # are records; a parse error is not counted apart anywhere
        d = self.daemon(capacity=64)
        peer = RawPeer()
        peer.serve([resp for _, _, resp in cases])
        r = run([PY, "-c", GARBAGE_CLIENT, str(peer.port)], shim_env(d.ring),
                input="".join(req.hex() + "\n" for _, req, _ in cases).encode())
        peer.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        st = d.drained()
        m = d.metrics()
        self.assertEqual(by_label(m, "tokenring_requests_total", "response_code"),
                         {"0": 3, "200": 1})
        self.assertEqual(st["consumed"], 4)
        # 3 of these 4 records carry REC_F_PARSE_ERROR: counted apart
        self.assertEqual([(n, v) for n, _, v in m if n == "tokenring_parse_errors_total"],
                         [("tokenring_parse_errors_total", 3)])
        self.record("wire_garbage", "garbage on the wire: binary, HTTP/0.9, 100 KB header "
                    "lines, negative and huge Content-Length, bad and overflowing chunk "
                    "sizes, binary and short responses",
                    "%d cases x shimmed client (raw server) and shimmed server (raw "
                    "client), python sockets" % len(cases),
                    "bytes byte-identical at both ends; apps exit 0, nothing on stderr; "
                    "every HTTP-looking case recorded with parse_error and exact byte "
                    "counts (pure binary: no record); tokenringd counts them in "
                    "tokenring_parse_errors_total. Gap: with default settings a case "
                    "not yet classified LLM is no record at all")


class TestRingFile(RelCase):
    NOTREG = "ring path is a symlink or not a regular file"
    MAGIC = "not a tokenring ring file (bad magic)"

    def file_sha(self, path):
        with open(path, "rb") as f:
            return sha(f.read())

    def start_refused(self, path, why):
        p = self.popen([TOKENRINGD, "--ring", path, "--listen", "127.0.0.1:0",
                        "--ring-capacity", "16"], base_env())
        try:
            _, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            self.fail("tokenringd took %s over instead of refusing it: %s" % (path, err))
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(err.decode(), "tokenringd: ring %s: %s\n" % (path, why))

    def make_ring(self, name, capacity=16):
        """A valid ring file left by a daemon that exited."""
        d = self.daemon(capacity=capacity, ring=os.path.join(self.tmp, name), name=name)
        self.assertEqual(d.stop(), 0)
        return d.ring

    def hostile_files(self):
        """(name, path, refusal message) for paths no daemon may take over."""
        t = self.tmp
        ring = self.make_ring("valid")
        foreign = os.path.join(t, "foreign")
        with open(foreign, "w") as f:
            f.write("root:x:0:0:not a ring at all\n" * 200)
        empty = os.path.join(t, "empty")
        open(empty, "w").close()
        os.symlink(ring, os.path.join(t, "link-ring"))
        os.symlink(foreign, os.path.join(t, "link-foreign"))
        os.mkdir(os.path.join(t, "dir"))
        os.mkfifo(os.path.join(t, "fifo"))
        return [("symlink to a ring", os.path.join(t, "link-ring"), self.NOTREG),
                ("symlink to another file", os.path.join(t, "link-foreign"), self.NOTREG),
                ("directory", os.path.join(t, "dir"), self.NOTREG),
                ("FIFO", os.path.join(t, "fifo"), self.NOTREG),
                ("file that is not a ring", foreign, self.MAGIC),
                ("empty file", empty, self.MAGIC)]

    def test_daemon_refuses_symlinks_and_foreign_files(self):
        cases = self.hostile_files()
        before = {p: self.file_sha(p) for _, p, _ in cases if os.path.isfile(p)}
        for _, path, why in cases:
            self.start_refused(path, why)
        after = {p: self.file_sha(p) for _, p, _ in cases if os.path.isfile(p)}
        self.assertEqual(after, before)
        self.assertTrue(os.path.islink(cases[0][1]))
        self.record("ring_file_daemon", "ring path hostile to the daemon: symlink (to a ring "
                    "or to another file), directory, FIFO, a file that is not a ring, an "
                    "empty file", "%d paths" % len(cases),
                    "tokenringd exits 1 naming the reason; no file touched")

    def test_daemon_replaces_a_ring_of_another_layout_and_retires_it(self):
        for what, patch in (("wrong size", None),
                            ("another version", (ring_layout.offset("version"), 99)),
                            ("another record size", (ring_layout.offset("record_size"), 512))):
            path = self.make_ring("other-%d" % len(what), capacity=16)
            if patch is None:
                os.truncate(path, os.path.getsize(path) + ring_layout.RECORD_SIZE)
            else:
                with open(path, "r+b") as f:
                    f.seek(patch[0])
                    f.write(struct.pack("<I", patch[1]))
            with open(path, "r+b") as f:
                old = mmap.mmap(f.fileno(), 4096)
            d = self.daemon(capacity=16, ring=path, name="re")
            # the old file is retired (producers re-attach), the new one is live
            self.assertEqual(ring_layout.read(old, "state"), ring_layout.STATE_RETIRED, what)
            old.close()
            st = d.ring_stats()
            self.assertEqual((st["tail"], st["consumed"]), (0, 0))
            self.assertEqual(d.stop(), 0)
        self.record("ring_file_other_layout", "ring file of our own kind but another layout: "
                    "wrong size, another version, another record size",
                    "3 files", "retired (producers re-attach) and replaced atomically by a "
                    "fresh ring, as designed; tokenringd says nothing about it (gap)")

    def test_shim_refuses_hostile_ring_paths_app_unaffected(self):
        ng = self.nginx()
        cases = self.hostile_files()
        live = self.daemon(capacity=16, ring=os.path.join(self.tmp, "valid"), name="live")
        other = self.make_ring("other-version")
        with open(other, "r+b") as f:
            f.seek(ring_layout.offset("version"))
            f.write(struct.pack("<I", 99))
        short = self.make_ring("short")
        os.truncate(short, 8192)
        cases += [("ring of another version", other, None), ("truncated ring", short, None),
                  ("character device", "/dev/zero", None)]
        cmd = ["curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json",
               "-d", '{"model":"hostile-ring"}', ng.url + CHAT]
        plain = run(cmd, base_env())
        self.assertEqual(plain.returncode, 0)
        # every file but the live ring (its heartbeat moves) stays as it was
        files = [p for _, p, _ in cases if os.path.isfile(p) and
                 os.path.realpath(p) != os.path.realpath(live.ring)]
        before = {p: self.file_sha(p) for p in files}
        for name, path, _ in cases:
            r = run(cmd, shim_env(path))
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, plain.stdout, b""), name)
        self.assertEqual({p: self.file_sha(p) for p in files}, before)
        # the live ring behind the symlink got nothing through it
        st = live.ring_stats()
        self.assertEqual((st["tail"], st["consumed"], st["dropped"]["full"]), (0, 0, 0))
        self.record("ring_file_shim", "ring path hostile to the shim: symlink to a live ring, "
                    "symlink to another file, directory, FIFO, foreign file, empty file, "
                    "ring of another version, truncated ring, /dev/zero",
                    "%d paths x curl under the shim" % len(cases),
                    "app output identical, exit 0, nothing on stderr; no file written; the "
                    "live ring behind the symlink got nothing")


class TestCardinality(RelCase):
    SHIM_N = 100000
    DIRECT_N = 1000000

    def test_100k_models_through_the_shim(self):
        ng = self.nginx()
        d = self.daemon("--max-series", "100", "--label-max-values", "1000", capacity=16384)
        port = ng.port
        r = run([PY, "-c", RAW_CLIENT, "127.0.0.1", str(port), str(self.SHIM_N)],
                shim_env(d.ring), timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        plain_digest = hashlib.sha256()
        for _ in range(self.SHIM_N):
            plain_digest.update(ng.BODY)
        self.assertEqual(r.stdout.decode().split(), [str(self.SHIM_N), plain_digest.hexdigest()])
        st = d.drained()
        m = d.metrics()
        dropped = sum(st["dropped"].values())
        self.assertEqual(self.SHIM_N, st["consumed"] + dropped)
        self.assertEqual(total(m, "tokenring_requests_total"), st["consumed"])
        self.assertEqual(total(m, "tokenring_series"), 101)  # 100 + the overflow series
        self.assertEqual(total(m, "tokenring_series_overflow_total"), st["consumed"] - 100)
        self.assertEqual(total(m, "tokenring_label_overflow_total", label="model"),
                         st["consumed"] - 1000)
        models = by_label(m, "tokenring_requests_total", "model")
        self.assertEqual(models["__overflow__"], st["consumed"] - 100)
        self.assertEqual(len(models), 101)
        self.record("cardinality_shim", "cardinality attack through the shim: distinct "
                    "model names", "%d requests (python raw-socket client under the shim, "
                    "nginx), --max-series 100, --label-max-values 1000" % self.SHIM_N,
                    "sent == consumed + dropped; 101 series; folds counted exactly in "
                    "tokenring_series_overflow_total and tokenring_label_overflow_total")

    def test_1m_models_from_a_direct_ring_writer(self):
        d = self.daemon("--max-series", "1000", "--label-max-values", "2000", capacity=16384)
        r = run([REL_WRITER, d.ring, "models", "3000", "0"], base_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        d.drained()
        d.metrics()
        data_full = rss_kb(d.proc.pid, "VmData")
        r = run([REL_WRITER, d.ring, "models", str(self.DIRECT_N), "3000"], base_env(),
                timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = d.drained()
        m = d.metrics()
        data_end = rss_kb(d.proc.pid, "VmData")
        anon_end = rss_kb(d.proc.pid, "RssAnon")
        # no allocation during the attack: the tables were allocated at start
        # (their pages become resident as they are used, never more)
        self.assertEqual(data_end, data_full)
        self.assertLessEqual(anon_end, data_end)
        # the ring's pages, touched as the writer laps it, stay within the file
        self.assertLessEqual(rss_kb(d.proc.pid, "RssShmem"),
                             os.path.getsize(d.ring) // 1024)
        n = 3000 + self.DIRECT_N
        self.assertEqual(st["consumed"], n)
        # The writer offers a record again when it was descheduled past the
        # skip timeout mid-record (a loaded machine): each such drop is
        # "late" and its slot "skipped", one for one; no other drop.
        self.assertEqual(sum(st["dropped"].values()), st["dropped"].get("late", 0))
        self.assertEqual(st["dropped"].get("late", 0), st["skipped"])
        self.assertEqual(total(m, "tokenring_series"), 1001)
        self.assertEqual(total(m, "tokenring_series_overflow_total"), n - 1000)
        self.assertEqual(total(m, "tokenring_label_overflow_total", label="model"), n - 2000)
        self.record("cardinality_direct", "cardinality attack from a direct ring writer: "
                    "distinct model names",
                    "%d records, --max-series 1000, --label-max-values 2000" % n,
                    "1001 series; overflow and label overflow counted exactly; the daemon "
                    "allocates nothing during the attack (VmData unchanged, private RSS "
                    "within it; shared RSS within the ring file)")
        print("cardinality: VmData %d kB with the table full, %d kB after %d more names "
              "(RssAnon %d kB)" % (data_full, data_end, self.DIRECT_N, anon_end))


if __name__ == "__main__":
    tt.main()
