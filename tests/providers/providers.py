"""providers.py - the harness of the provider-breadth tests (issue 18): one
tokenringd on a temp ring with its access log in a file, the local fake
providers server (fake_providers.py, not under the shim), and real clients
under the shim (reporter source) whose records are compared, field by
field, with what the server logged it put on the wire.

Environment (CTest sets it): TOKENRINGD, TOKENRING_SHIM, TOKENRING_SRC.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import tokenring_test as tt  # noqa: E402

SHIM = os.environ.get("TOKENRING_SHIM", "")
PY = tt.PY


def make_cert(tmp):
    """(cert, key): a throwaway self-signed certificate for 127.0.0.1, made
    now with the openssl CLI; the certificate is its own CA bundle."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, env=tt.clean_env())
    return cert, key


class Server:
    """fake_providers.py on an ephemeral port, its answers logged; over
    HTTPS when tls is a (cert, key) pair."""

    def __init__(self, tmp, tls=None):
        self.log = os.path.join(tmp, "server.jsonl")
        self.proc = subprocess.Popen([PY, os.path.join(HERE, "fake_providers.py"), "--port", "0",
                                      "--log", self.log] + (["--tls", *tls] if tls else []),
                                     stdout=subprocess.PIPE, text=True, env=tt.clean_env())
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), "fake providers: %r" % line
        self.port = int(line.split()[-1])
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def answers(self, request_ids):
        """{request_id: logged answer}, waiting for every one."""
        got = {}

        def ready():
            if os.path.exists(self.log):
                with open(self.log) as f:
                    for line in f:
                        if line.endswith("\n"):
                            e = json.loads(line)
                            got[e["request_id"]] = e
            return all(r in got for r in request_ids)
        tt.wait_for(ready, what="server answers")
        return {r: got[r] for r in request_ids}

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class McpServer:
    """mcp_server.mjs (the Node SDK's server) under the shim as workload
    `workload`, reporting into daemon's ring."""

    def __init__(self, tmp, daemon, workload):
        port_file = os.path.join(tmp, workload + ".port")
        env = tt.clean_env(LD_PRELOAD=SHIM, TOKENRING_RING=daemon.ring,
                           TOKENRING_WORKLOAD=workload, TOKENRING_NAMESPACE="providers")
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "mcp_server.mjs"), port_file],
                                     env=env, stderr=subprocess.PIPE)
        port = tt.wait_for(lambda: os.path.exists(port_file) and open(port_file).read(),
                           what="the MCP server to listen")
        self.url = "http://127.0.0.1:%s" % port

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class ProviderCase(unittest.TestCase):
    """A daemon and the fake providers for the whole module; a subclass
    setting tls = True gets them over HTTPS (cls.ca: the CA bundle)."""
    tls = False

    @classmethod
    def setUpClass(cls):
        if not SHIM:
            raise AssertionError("TOKENRING_SHIM is not set (CTest sets it)")
        cls.tmp = tempfile.mkdtemp(prefix="tokenring-providers-")
        cls.access_path = os.path.join(cls.tmp, "access.log")
        cls.daemon = tt.Daemon(cls.tmp, "--access-log", cls.access_path, env=tt.clean_env())
        pair = make_cert(cls.tmp) if cls.tls else None
        cls.ca = pair[0] if pair else None
        cls.server = Server(cls.tmp, pair)
        cls.access = tt.AccessLog(cls.access_path)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        rc = cls.daemon.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "tokenringd exited %d" % rc

    def env(self, workload):
        return tt.clean_env(LD_PRELOAD=SHIM, TOKENRING_RING=self.daemon.ring,
                            TOKENRING_WORKLOAD=workload, TOKENRING_NAMESPACE="providers")

    def run_client(self, cmd, workload):
        p = subprocess.run(cmd, env=self.env(workload), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=tt.DEADLINE)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def curl(self, workload, path, body, rid, headers=()):
        cmd = ["curl", "-sS", "-N", "--fail", self.server.url + path, "-H",
               "Content-Type: application/json", "-H", "x-request-id: " + rid,
               "--data-binary", json.dumps(body, ensure_ascii=False)]
        for h in headers:
            cmd += ["-H", h]
        return self.run_client(cmd, workload)

    def metrics(self):
        return tt.Metrics(self.daemon.metrics_text())

    def wait_metric(self, name, want, **labels):
        """The sum of a family's samples over labels, once it equals want."""
        last = {}

        def ready():
            last["v"] = self.metrics().sum(name, **labels)
            return last["v"] == want
        try:
            tt.wait_for(ready, what=name)
        except AssertionError:
            raise AssertionError("%s%s = %s, want %s" % (name, labels, last.get("v"), want))

    def lines_of(self, w, n):
        """Workload w's access log lines, once there are n (the log is
        written after the counters move)."""
        def ready():
            lines = [e for e in self.access.lines() if e["source_workload"] == w]
            return lines if len(lines) >= n else None
        return tt.wait_for(ready, what="%d access log lines of %s" % (n, w))

    def check_mcp_counts(self, w, server_workload, before, calls, tools):
        """MCP calls counted from both ends: the client (workload w, counted
        from zero) and the server (server_workload, counted from the
        metrics `before`), by (method, status) in calls and (tool, status)
        in tools (counter and duration histogram). Returns the metrics."""
        n = sum(calls.values())
        server = dict(reporter="destination", source_workload=server_workload)
        self.wait_metric("tokenring_mcp_requests_total", n, reporter="source", source_workload=w)
        self.wait_metric("tokenring_mcp_requests_total",
                         before.sum("tokenring_mcp_requests_total", **server) + n, **server)
        m = self.metrics()
        for rep, wl, base in (("source", w, None), ("destination", server_workload, before)):
            def got(name, **labels):
                labels.update(reporter=rep, source_workload=wl)
                return m.sum(name, **labels) - (base.sum(name, **labels) if base else 0)
            for (method, status), k in calls.items():
                self.assertEqual(got("tokenring_mcp_requests_total", method=method, status=status),
                                 k, (rep, method, status))
            for (tool, status), k in tools.items():
                for fam in ("tokenring_mcp_tool_calls_total",
                            "tokenring_mcp_tool_call_duration_seconds_count"):
                    self.assertEqual(got(fam, tool=tool, status=status), k, (rep, fam, tool))
                self.assertEqual(got("tokenring_mcp_tool_call_duration_seconds_bucket", tool=tool,
                                     status=status, le="+Inf"), k, (rep, tool))
        return m

    def assertRecord(self, line, answer, **want):
        """An access log line against the server's answer: tokens as sent,
        then the named fields exactly."""
        self.assertEqual(line["usage_status"], "available", line)
        self.assertEqual(line["request_prompt_tokens"], str(answer["input"]), line)
        self.assertEqual(line["request_completion_tokens"],
                         str(answer["output"]) if answer["output"] else "0", line)
        for k, v in want.items():
            self.assertEqual(line[k], v, (k, line))

    def rid(self, tag):
        """A request id unique in this run, short enough for the record's
        field (REC_REQUEST_ID_LEN) with a suffix the clients add."""
        return "%s-%x" % (tag, time.monotonic_ns() & 0xffffff)
