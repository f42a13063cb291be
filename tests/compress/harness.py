"""harness.py - the compressed-body tests' setup: one tokenringd on a temp
ring (access log in a file), gz_server.py under the shim (reporter
destination), clients under the shim (reporter source). Assertions compare
the daemon's access log and /metrics with the server's own log of what it
put on the wire.

Environment (CTest sets it): TOKENRINGD, TOKENRING_SHIM.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "features"))
from features import clean_env as base_env, wait_for as _wait_for  # noqa: E402
TOKENRINGD = os.environ.get("TOKENRINGD", os.path.join(SRC, "build/release/aggregator/tokenringd"))
SHIM = os.environ.get("TOKENRING_SHIM", os.path.join(SRC, "build/release/producer/libtokenring.so"))
PY = "/usr/bin/python3"
SERVER = os.path.join(HERE, "gz_server.py")
CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "one two three four"}]  # 4 prompt tokens
DEADLINE = 20.0


def wait_for(pred, what, timeout=DEADLINE):
    return _wait_for(pred, timeout=timeout, what=what)


def scrape(port, name):
    """{frozenset(labels.items()): value} of one metric family."""
    out = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/metrics" % port],
                         stdout=subprocess.PIPE, text=True, timeout=10, env=base_env())
    got = {}
    for line in out.stdout.splitlines():
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if m and m.group(1) == name:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            got[labels] = float(m.group(3))
    return got


class Stack:
    """tokenringd + gz_server.py under the shim, in a temp dir."""

    def __init__(self, *daemon_args, tls=None):
        self.dir = tempfile.mkdtemp(prefix="tokenring-compress-")
        self.ring = os.path.join(self.dir, "ring")
        self.access_path = os.path.join(self.dir, "access.log")
        self.server_log = os.path.join(self.dir, "server.jsonl")
        self.err = open(os.path.join(self.dir, "tokenringd.err"), "w+")
        self.daemon = subprocess.Popen(
            [TOKENRINGD, "--ring", self.ring, "--listen", "127.0.0.1:0", "--ring-capacity",
             "4096", "--access-log", self.access_path] + list(daemon_args),
            stdout=subprocess.DEVNULL, stderr=self.err, env=base_env())
        self.port = int(wait_for(self._listening, "tokenringd to listen"))
        args = [PY, SERVER, "--log", self.server_log] + (["--tls"] + list(tls) if tls else [])
        self.server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                                       env=self.env("gz-server"))
        self.server_port = int(self.server.stdout.readline())
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.server_port)

    def _listening(self):
        self.err.seek(0)
        text = self.err.read()
        if self.daemon.poll() is not None:
            raise AssertionError("tokenringd exited: " + text)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
        return m and m.group(1)

    def env(self, workload, **extra):
        return base_env(LD_PRELOAD=SHIM, TOKENRING_RING=self.ring,
                        TOKENRING_WORKLOAD=workload, **extra)

    def run(self, argv, workload="client", input=None, **extra):
        """A client under the shim; its stdout."""
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(workload, **extra), timeout=60)
        if p.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (argv[:2], p.returncode,
                                                       p.stderr.decode(errors="replace")))
        return p.stdout

    def py(self, code, *args, **extra):
        return self.run([PY, "-c", code] + [str(a) for a in args], workload="py-client",
                        **extra)

    def access(self):
        if not os.path.exists(self.access_path):
            return []
        with open(self.access_path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def server_lines(self, rids=()):
        """{request_id: the server's log line}; waits until every id in
        rids has one (the server logs after its last write, so a client
        and the records can be done before it)."""
        def read():
            with open(self.server_log) as f:
                got = {e["request_id"]: e for e in map(json.loads, f) if e.get("request_id")}
            return got if all(r in got for r in rids) else None
        return wait_for(read, "server log lines for %s" % (list(rids),))

    def lines_for(self, rids, reporters=("source", "destination")):
        """{(request_id, reporter): access log line} once all are there."""
        want = {(r, rep) for r in rids for rep in reporters}
        got = {}

        def ready():
            got.clear()
            got.update({(e["request_id"], e["reporter"]): e for e in self.access()
                        if (e["request_id"], e["reporter"]) in want})
            return len(got) == len(want)
        try:
            wait_for(ready, "access log lines")
        except AssertionError:
            raise AssertionError("no access log line for %s" % sorted(want - set(got)))
        return got

    def metric(self, name):
        return scrape(self.port, name)

    def stop(self):
        for p in (self.server,):
            if p.poll() is None:
                p.terminate()
            p.wait(timeout=10)
        self.server.stdout.close()
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
        rc = self.daemon.wait(timeout=15)
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert rc == 0, "tokenringd exited %d" % rc


class CompressCase(unittest.TestCase):
    """A Stack per test class; assert_exact compares a record with the log."""
    daemon_args = ()
    tls = None

    @classmethod
    def setUpClass(cls):
        cls.s = Stack(*cls.daemon_args, tls=cls.tls)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def assert_exact(self, rids, coding, reporters=("source", "destination")):
        """Every exchange's record, from each reporter, says what the server
        logged: model, every token count, usage available, stream chunks,
        the coding on the wire."""
        lines = self.s.lines_for(rids, reporters)
        sent = self.s.server_lines(rids)
        for rid in rids:
            srv = sent[rid]
            self.assertEqual(srv["coding"], coding, rid)
            for rep in reporters:
                e = lines[(rid, rep)]
                u = srv["usage"]
                what = (rid, rep)
                self.assertEqual(e["usage_status"], "available", what)
                self.assertEqual(e["request_model"], srv["model"], what)
                self.assertEqual(e["response_model"], srv["response_model"], what)
                self.assertEqual(e["request_prompt_tokens"], str(u["prompt"]), what)
                self.assertEqual(e["request_completion_tokens"], str(u["completion"]), what)
                self.assertEqual(e["total_tokens"], str(u.get("total", 0)), what)
                for k in ("cached", "reasoning", "cache_creation"):
                    want = "-" if u.get(k) is None else str(u[k])
                    if want != "-":
                        self.assertEqual(e[k + "_tokens"], want, what)
                self.assertEqual(e["streaming"], "true" if srv["stream"] else "false", what)
                self.assertEqual(e["chunks"], str(srv["content_chunks"]), what)
                wire = "deflate" if coding == "deflate-raw" else coding.replace("x-gzip", "gzip")
                self.assertEqual(e["content_encoding"], wire, what)
                if srv["stream"]:
                    self.assertNotIn(e["time_to_first_token"], ("", "-"), what)
        return lines
