"""features.py - the harness of the issue-9 feature tests: one tokenringd on a
temp ring with its access and summary logs in files, demo/llm_server.py
under the shim (reporter destination), and real clients under the shim
(reporter source): curl, Python requests and httpx, the OpenAI Node SDK.

Every assertion reads the daemon's outputs (/metrics, the access log, the
summary log) and compares them with what the server logged it put on the
wire, or with fixed numbers the demo server's token rules give.

Environment (CTest sets it): TOKENRINGD, TOKENRING_SHIM, TOKENRING_SRC.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import Metrics, clean_env, wait_for  # noqa: E402,F401

SRC = tt.SRC
SHIM = os.environ.get("TOKENRING_SHIM", os.path.join(SRC, "build/rel/producer/libtokenring.so"))
PY = tt.PY
LLM_SERVER = os.path.join(SRC, "demo", "llm_server.py")
NODE_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_client.mjs")
PY_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "py_client.py")
CHAT = "/v1/chat/completions"
# The demo server's prompt counts whitespace words: these messages are 4.
MESSAGES = [{"role": "user", "content": "one two three four"}]


class Daemon(tt.Daemon):
    """tokenringd on a temp ring, an ephemeral port, logs in files; env:
    more variables for the daemon (OTEL_*, for the export tests)."""

    def __init__(self, *args, env=None):
        self.dir = tempfile.mkdtemp(prefix="tokenring-features-")
        self.access_path = os.path.join(self.dir, "access.log")
        self.summary_path = os.path.join(self.dir, "summary.log")
        self.access_log = tt.AccessLog(self.access_path)
        super().__init__(self.dir, "--access-log", self.access_path,
                         "--summary-log", self.summary_path, "--summary-interval", "1",
                         *args, env=clean_env(**(env or {})))

    def env(self, workload, **extra):
        """Environment of a process under the shim, writing to this ring."""
        return clean_env(LD_PRELOAD=SHIM, TOKENRING_RING=self.ring,
                         TOKENRING_WORKLOAD=workload, TOKENRING_NAMESPACE="features",
                         **extra)

    def metrics(self):
        out = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/metrics" % self.port],
                             stdout=subprocess.PIPE, text=True, timeout=10, env=clean_env())
        assert out.returncode == 0, "scrape failed"
        return Metrics(out.stdout)

    def access(self):
        return self.access_log.lines()

    def access_for(self, request_ids, reporters=("source", "destination")):
        """{(request_id, reporter): access log line} (tt.AccessLog.lines_for)."""
        return self.access_log.lines_for(request_ids, reporters)

    def summary_lines(self):
        if not os.path.exists(self.summary_path):
            return []
        with open(self.summary_path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def summary_mix(self, want, **labels):
        """Wait until the summary log's fields named in want (usage_*,
        requests, chunks, ...), summed over the interval lines matching
        labels, equal want; return the sums."""
        last = {}

        def ready():
            sums = dict.fromkeys(want, 0)
            for line in self.summary_lines():
                if all(line.get(k) == v for k, v in labels.items()):
                    for k in sums:
                        sums[k] += line[k]
            last.update(sums)
            return sums == want
        try:
            wait_for(ready, what="summary log mix")
        except AssertionError:
            raise AssertionError("summary log mix for %s: %s, want %s" % (labels, last, want))
        return last

    def stop(self):
        rc = super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert rc == 0, "tokenringd exited %d" % rc


class LLMServer:
    """demo/llm_server.py under the shim (workload `workload`), with its log."""

    def __init__(self, daemon, workload="llm-server", *args):
        self.log_path = os.path.join(daemon.dir, "server-%s-%d.jsonl" % (workload, time.time_ns()))
        self.proc = subprocess.Popen([PY, LLM_SERVER, "--port", "0", "--log", self.log_path]
                                     + list(args), stdout=subprocess.PIPE, text=True,
                                     env=daemon.env(workload))
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), "llm_server did not start: %r" % line
        self.port = int(line.split()[2])
        self.url = "http://127.0.0.1:%d" % self.port

    def logs(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def log_for(self, request_ids):
        """{request_id: the server's log line}, waiting for all of them."""
        def ready():
            got = {e["request_id"]: e for e in self.logs() if e["request_id"] in request_ids}
            return got if len(got) == len(request_ids) else None
        return wait_for(ready, what="server log lines for %s" % sorted(request_ids))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def run(cmd, env, timeout=30, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d: %s %s" % (cmd[0], r.returncode, r.stdout, r.stderr))
    return r


def curl(daemon, workload, url, body, headers=None, check=True):
    """One POST with curl under the shim; returns the CompletedProcess."""
    cmd = ["curl", "-sS", "--no-buffer", "-H", "Content-Type: application/json",
           "--data-binary", json.dumps(body)]
    for k, v in (headers or {}).items():
        cmd += ["-H", "%s: %s" % (k, v)]
    return run(cmd + [url], daemon.env(workload), check=check)


def py_client(daemon, workload, lib, steps):
    """tests/features/py_client.py with requests or httpx under the shim:
    one JSON result per step (see there)."""
    r = run([PY, PY_CLIENT, lib, json.dumps(steps)], daemon.env(workload))
    return [json.loads(line) for line in r.stdout.splitlines()]


def node_client(daemon, workload, base_url, steps):
    """tests/features/node_client.mjs (the OpenAI Node SDK) under the shim."""
    r = run(["node", NODE_CLIENT, base_url, json.dumps(steps)], daemon.env(workload), timeout=60)
    return [json.loads(line) for line in r.stdout.splitlines()]


class FeatureCase(unittest.TestCase):
    """One daemon (flags in DAEMON_ARGS) and one shimmed server per class,
    or per test with PER_TEST (when a test needs a daemon's state fresh)."""
    DAEMON_ARGS = ()
    SERVER_ARGS = ()
    PER_TEST = False
    maxDiff = None

    @staticmethod
    def start(holder, daemon_args, server_args=()):
        holder.daemon = Daemon(*daemon_args)
        try:
            holder.server = LLMServer(holder.daemon, "llm-server", *server_args)
        except Exception:
            holder.daemon.stop()
            raise

    @staticmethod
    def stop(holder):
        holder.server.stop()
        holder.daemon.stop()

    @classmethod
    def setUpClass(cls):
        if not cls.PER_TEST:
            cls.start(cls, cls.DAEMON_ARGS, cls.SERVER_ARGS)

    @classmethod
    def tearDownClass(cls):
        if not cls.PER_TEST:
            cls.stop(cls)

    def setUp(self):
        if self.PER_TEST:
            self.start(self, self.DAEMON_ARGS, self.SERVER_ARGS)

    def tearDown(self):
        if self.PER_TEST:
            self.stop(self)

    def rid(self, tag):
        """A request id unique to this test, short enough for the record's
        request_id field (39 bytes)."""
        rid = "%s-%s" % (self._testMethodName[5:33], tag)
        assert len(rid) < 40, rid
        return rid
