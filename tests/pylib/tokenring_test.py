"""tokenring_test.py - what every Python test driver of tokenring shares.

Import it from a test with:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "pylib"))
    import tokenring_test as tt

It holds: an environment cleaned of the shim's variables (clean_env), free
loopback ports (free_port), waiting for a condition with a generous deadline
(wait_for), the Prometheus text parser (parse_metrics, Metrics), one
tokenringd on a temporary ring (Daemon), reading its JSON access log
(AccessLog), and the entry point that turns a skipped case into CTest's
skip code (main).

Deadlines only bound how long a real failure takes to report: no assertion
made with these helpers depends on how fast the machine is.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

SRC = os.environ.get("TOKENRING_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
# CTest's SKIP_RETURN_CODE for every Python driver (tests/CMakeLists.txt).
SKIP_CODE = 77
# How long to wait for anything that is expected to happen: generous, so a
# loaded 2-core machine never turns into a failure.
DEADLINE = 60.0


def clean_env(**extra):
    """os.environ without the shim's variables (TOKENRING_*, POD_*,
    LD_PRELOAD), plus extra (values made strings)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENRING_", "POD_", "LD_PRELOAD"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=DEADLINE, what="condition", step=0.02):
    """pred()'s first true value, polling until timeout seconds have passed
    (pred runs at least once, and once more at the deadline)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(step)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape_label(v):
    """A label value as exposed (\\\\, \\" and \\n escaped) back to its text."""
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_metrics(text):
    """[(name, {label: value}, float)] for every sample line of a text
    exposition; a line that does not parse fails the test."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable sample line: %r" % line[:300])
        labels = {k: unescape_label(v) for k, v in _LABEL.findall(m.group(2) or "")}
        out.append((m.group(1), labels, float(m.group(3))))
    return out


class Metrics:
    """One scrape, parsed: samples as (name, labels, value)."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def select(self, name, **labels):
        return [(lab, v) for n, lab, v in self.samples
                if n == name and all(lab.get(k) == want for k, want in labels.items())]

    def sum(self, name, **labels):
        """Sum over every series matching the labels (0 when none)."""
        return sum(v for _, v in self.select(name, **labels))

    def by(self, name, label, **labels):
        """{value of label: summed sample} over the matching series."""
        out = {}
        for lab, v in self.select(name, **labels):
            out[lab.get(label)] = out.get(lab.get(label), 0) + v
        return out

    def label_names(self, prefix):
        """Every label name used by the families starting with prefix."""
        return {k for n, lab, _ in self.samples if n.startswith(prefix) for k in lab}


class Daemon:
    """One tokenringd (the binary in $TOKENRINGD) on a ring under tmp (or
    the ring given) and an ephemeral loopback port; its stderr in
    tmp/NAME.err. Test suites subclass it for what only they need."""

    def __init__(self, tmp, *args, ring=None, ring_capacity=4096, stdout=subprocess.DEVNULL,
                 env=None, name="tokenringd"):
        binary = os.environ.get("TOKENRINGD")
        assert binary, "TOKENRINGD is not set (CTest sets it to the built tokenringd)"
        self.tmp = tmp
        self.ring = ring or os.path.join(tmp, "ring")
        self.errpath = os.path.join(tmp, name + ".err")
        self.args = ["--ring", self.ring, "--listen", "127.0.0.1:0",
                     "--ring-capacity", str(ring_capacity)] + list(args)
        with open(self.errpath, "wb") as err:
            self.proc = subprocess.Popen([binary] + self.args, stdout=stdout, stderr=err,
                                         env=env)
        self.port = int(wait_for(self._listening, what="tokenringd to listen"))

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("tokenringd exited %d: %s" % (self.proc.returncode,
                                                               self.stderr()))
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.stderr())
        return m and m.group(1)

    def stderr(self):
        with open(self.errpath, "r", errors="replace") as f:
            return f.read()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, method="GET"):
        """(status, headers, body) of one request; errors are answers too."""
        req = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=DEADLINE) as r:
                return r.status, dict(r.headers), r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode("utf-8")

    def metrics_text(self):
        status, _, body = self.get("/metrics")
        assert status == 200, "/metrics answered %d" % status
        return body

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM, wait, and return the exit status. A sanitizer report on
        stderr fails the test even if the exit status is 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=DEADLINE)
        err = self.stderr()
        assert "runtime error" not in err and "Sanitizer" not in err, err
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class AccessLog:
    """A tokenringd access log file (--access-log PATH), read whole lines
    at a time (a line still being written is not read)."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def lines_for(self, request_ids, reporters=("source", "destination")):
        """{(request_id, reporter): line}, waiting until every request id
        has a line from each reporter; a timeout names the missing ones."""
        want = {(r, rep) for r in request_ids for rep in reporters}
        got = {}

        def ready():
            got.clear()
            got.update({(e["request_id"], e["reporter"]): e for e in self.lines()
                        if (e["request_id"], e["reporter"]) in want})
            return len(got) == len(want)
        try:
            wait_for(ready, what="access log lines")
        except AssertionError:
            raise AssertionError("no access log line for %s" % sorted(want - set(got)))
        return dict(got)


def main():
    """unittest.main() for a test driver run by CTest: exit 1 on any failure
    or error, SKIP_CODE (with every skip's reason printed) when nothing
    failed but a case was skipped, else 0. A case that cannot run here is
    skipped with unittest.skip*, never deleted or passed."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.skipped:
        for case, reason in r.skipped:
            print("SKIPPED %s: %s" % (case.id(), reason))
        sys.exit(SKIP_CODE)
    if r.testsRun == 0:
        print("no test ran")
        sys.exit(1)
    sys.exit(0)
