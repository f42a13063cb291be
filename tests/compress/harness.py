"""harness.py - the compressed-body tests' setup: one tokenringd on a temp
ring (access log in a file), gz_server.py under the shim (reporter
destination), clients under the shim (reporter source). Assertions compare
the daemon's access log and /metrics with the server's own log of what it
put on the wire.

Environment (CTest sets it): TOKENRINGD, TOKENRING_SHIM, TOKENRING_SRC.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import clean_env as base_env, wait_for as _wait_for  # noqa: E402,F401

SRC = tt.SRC
SHIM = os.environ.get("TOKENRING_SHIM")
PY = tt.PY
SERVER = os.path.join(HERE, "gz_server.py")
CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "one two three four"}]  # 4 prompt tokens


def wait_for(pred, what, timeout=tt.DEADLINE):
    return _wait_for(pred, timeout=timeout, what=what)


class Stack:
    """tokenringd (tt.Daemon, access log in a file) + gz_server.py under
    the shim, in a temp dir."""

    def __init__(self, *daemon_args, tls=None):
        assert SHIM, "TOKENRING_SHIM is not set (CTest sets it to the built shim)"
        self.dir = tempfile.mkdtemp(prefix="tokenring-compress-")
        self.access_log = tt.AccessLog(os.path.join(self.dir, "access.log"))
        self.server_log = os.path.join(self.dir, "server.jsonl")
        self.daemon = tt.Daemon(self.dir, "--access-log", self.access_log.path, *daemon_args,
                                env=base_env())
        self.ring, self.port = self.daemon.ring, self.daemon.port
        args = [PY, SERVER, "--log", self.server_log] + (["--tls"] + list(tls) if tls else [])
        self.server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                                       env=self.env("gz-server"))
        self.server_port = int(self.server.stdout.readline())
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.server_port)

    def env(self, workload, **extra):
        return base_env(LD_PRELOAD=SHIM, TOKENRING_RING=self.ring,
                        TOKENRING_WORKLOAD=workload, **extra)

    def run(self, argv, workload="client", input=None, **extra):
        """A client under the shim; its stdout."""
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(workload, **extra), timeout=tt.DEADLINE)
        if p.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (argv[:2], p.returncode,
                                                       p.stderr.decode(errors="replace")))
        return p.stdout

    def py(self, code, *args, **extra):
        return self.run([PY, "-c", code] + [str(a) for a in args], workload="py-client",
                        **extra)

    def access(self):
        return self.access_log.lines()

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
        return self.access_log.lines_for(rids, reporters)

    def metric(self, name):
        """{frozenset(labels.items()): value} of one metric family."""
        return {frozenset(labels.items()): v
                for labels, v in tt.Metrics(self.daemon.metrics_text()).select(name)}

    def stop(self):
        if self.server.poll() is None:
            self.server.terminate()
        self.server.wait(timeout=tt.DEADLINE)
        self.server.stdout.close()
        rc = self.daemon.stop()
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
