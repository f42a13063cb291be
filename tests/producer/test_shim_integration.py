#!/usr/bin/python3
"""test_shim_integration.py - libtokenring.so under real clients and servers.

Each case creates its own ring (tests/tools/ring_capture), runs real
programs with LD_PRELOAD, stops the capture and compares the records,
field by field, with what the test server logged it sent and received.
Environment (set by CTest): TOKENRING_SHIM, TOKENRING_CAPTURE,
TOKENRING_PROBE, TOKENRING_SRC.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

SHIM = os.environ["TOKENRING_SHIM"]
CAPTURE = os.environ["TOKENRING_CAPTURE"]
PROBE = os.environ["TOKENRING_PROBE"]
SRC = os.environ.get("TOKENRING_SRC", os.getcwd())
HERE = os.path.join(SRC, "tests", "producer")
PY = "/usr/bin/python3"
SERVER = os.path.join(HERE, "shim_llm_server.py")
NODE_SERVER = os.path.join(HERE, "shim_node_server.js")
NODE_CLIENT = os.path.join(HERE, "shim_openai_client.mjs")
CHAT = "/v1/chat/completions"
EXPORTS = {"send", "sendto", "sendmsg", "sendmmsg", "write", "writev", "recv",
           "recvfrom", "recvmsg", "recvmmsg", "read", "readv", "connect", "accept",
           "accept4", "close", "close_range", "dup2", "dup3", "fork"}
TIMEOUT = 20

_ring_seq = [0]


def ring_path():
    _ring_seq[0] += 1
    return "/dev/shm/tokenring-shimtest-%d-%d" % (os.getpid(), _ring_seq[0])


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENRING_", "POD_", "LD_PRELOAD"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def shim_env(ring, **extra):
    return base_env(LD_PRELOAD=SHIM, TOKENRING_RING=ring, **extra)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    """A ring_capture process owning a fresh ring at self.path."""

    def __init__(self, *args, path=None):
        self.path = path or ring_path()
        self.proc = subprocess.Popen([CAPTURE, "--ring", self.path, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 5
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ring_capture did not start: %s"
                                   % self.proc.stderr.read())
            time.sleep(0.005)

    def stop(self):
        """SIGTERM, drain, return (records, stats)."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        records = [json.loads(l) for l in out.splitlines() if l.strip()]
        stats = [json.loads(l)["stats"] for l in err.splitlines() if l.startswith('{"stats"')]
        if not stats:
            raise AssertionError("no stats from ring_capture: " + err)
        return records, stats[0]


class Server:
    """A test LLM server (Python or Node), optionally under the shim."""

    def __init__(self, cmd, env):
        self.log = []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        first = self.proc.stdout.readline()
        if not first.startswith("ready "):
            raise RuntimeError("server did not start: %r %s" % (first, self.proc.stderr.read()))
        self.port = int(first.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=TIMEOUT)
        return [json.loads(l) for l in out.splitlines() if l.strip()]


class LogServer(Server):
    """shim_llm_server.py with its JSON log in a file."""

    def __init__(self, env=None):
        self.logfile = "/tmp/shim-llm-server-%d-%d.log" % (os.getpid(), free_port())
        super().__init__([PY, SERVER, "--port", "0", "--log", self.logfile],
                         env or base_env())

    def entries(self, n, after=0):
        """The log entries after the first `after`, waiting for n of them (the
        server logs just after its last write, so a client can be faster)."""
        deadline = time.monotonic() + 5
        while True:
            try:
                with open(self.logfile) as f:
                    got = [json.loads(l) for l in f if l.strip()][after:]
            except FileNotFoundError:
                got = []
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.01)

    def count(self):
        return len(self.entries(0))

    def stop(self):
        super().stop()
        if os.path.exists(self.logfile):
            os.unlink(self.logfile)


def run(cmd, env, check=True, **kw):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd, p.returncode, p.stderr.decode()))
    return p


def curl_chat(url, body, *extra):
    return ["curl", "-sS", "--noproxy", "*", "-H", "Content-Type: application/json",
            *extra, "-d", json.dumps(body), url + CHAT]


def wall_ns():
    return time.time_ns()


class ShimCase(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = LogServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_exchange(self, rec, entry, reporter="source", stream=False, workload=None,
                        t0=None, t1=None):
        """A record equals what the server logged for the same exchange."""
        self.assertEqual(rec["reporter"], reporter)
        self.assertEqual(rec["method"], entry["method"])
        self.assertEqual(rec["path"], entry["path"])
        self.assertEqual(rec["status"], entry["status"])
        self.assertEqual(rec["req_bytes"], entry["bytes_received"])
        self.assertEqual(rec["resp_bytes"], entry["bytes_sent"])
        self.assertEqual(rec["request_model"], entry["model"])
        self.assertEqual(rec["response_model"], entry["response_model"])
        self.assertEqual(rec["prompt_tokens"], entry["prompt_tokens"])
        self.assertEqual(rec["completion_tokens"], entry.get("completion_tokens", 0))
        self.assertEqual(rec["total_tokens"], entry.get("total_tokens", 0))
        self.assertEqual(rec["provider"], "openai")
        self.assertEqual(rec["operation"], "chat")
        self.assertIn("llm", rec["flag_names"])
        self.assertEqual(rec["usage_status"],
                         "available" if "total_tokens" in entry else "not_requested")
        self.assertEqual(rec["user_agent"], entry["user_agent"][:39])
        if entry["request_id"]:
            self.assertEqual(rec["request_id"], entry["request_id"])
            self.assertNotIn("request_id_generated", rec["flag_names"])
        else:
            self.assertNotEqual(rec["request_id"], "")
            self.assertIn("request_id_generated", rec["flag_names"])
        for bad in ("parse_error", "conn_closed", "no_response"):
            self.assertNotIn(bad, rec["flag_names"])
        self.assertEqual(rec["pid"], rec["producer_pid"])
        if workload is not None:
            self.assertEqual(rec["workload"], workload)
            self.assertEqual(rec["namespace"], "default")
        port = self.server.port if reporter == "source" else None
        if port is not None:
            self.assertEqual(rec["peer"], "127.0.0.1:%d" % port)
            self.assertEqual(rec["authority"], "127.0.0.1:%d" % port)
            self.assertTrue(rec["local"].startswith("127.0.0.1:"))
        self.assertGreater(rec["ttfb_ns"], 0)
        self.assertGreaterEqual(rec["duration_ns"], rec["ttfb_ns"])
        if t0 is not None:
            self.assertGreaterEqual(rec["start_ns"], t0)
            self.assertLessEqual(rec["start_ns"], t1)
        if stream:
            self.assertIn("stream", rec["flag_names"])
            self.assertEqual(rec["chunks"], entry["content_chunks"])
            self.assertGreaterEqual(rec["ttft_ns"], rec["ttfb_ns"])
            self.assertLessEqual(rec["ttft_ns"], rec["duration_ns"])
        else:
            self.assertNotIn("stream", rec["flag_names"])
            self.assertEqual(rec["chunks"], 0)
            self.assertEqual(rec["ttft_ns"], 0)


class TestLibrary(unittest.TestCase):
    def test_ldd_shows_libc_only(self):
        out = run(["ldd", SHIM], base_env()).stdout.decode()
        libs = {l.split()[0] for l in out.splitlines() if l.strip()}
        self.assertEqual(libs, {"linux-vdso.so.1", "libc.so.6", "/lib64/ld-linux-x86-64.so.2"})

    def test_exports_only_interposed_symbols(self):
        out = run(["nm", "-D", "--defined-only", SHIM], base_env()).stdout.decode()
        names = {l.split()[-1] for l in out.splitlines() if l.strip()}
        self.assertEqual(names, EXPORTS)

    def test_errno_and_return_values_unchanged(self):
        closed = free_port()
        cap = Capture()
        plain = run([PROBE, "errno", str(closed)], base_env()).stdout
        shimmed = run([PROBE, "errno", str(closed)], shim_env(cap.path)).stdout
        cap.stop()
        self.assertEqual(shimmed, plain)
        self.assertIn(b"send_ok r=27 errno=kept", shimmed)
        self.assertIn(b"recv_reset r=-1 errno=Connection reset by peer", shimmed)


class TestClients(ShimCase):
    def test_curl_plain(self):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        cmd = curl_chat(self.server.url, body, "-H", "x-request-id: curl-req-1")
        plain = run(cmd, base_env()).stdout
        n0 = self.server.count()
        cap = Capture()
        t0 = wall_ns()
        shimmed = run(cmd, shim_env(cap.path)).stdout
        t1 = wall_ns()
        recs, stats = cap.stop()
        self.assertEqual(shimmed, plain)
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, workload="curl", t0=t0, t1=t1)
        self.assertEqual(stats["consumed"], 1)
        self.assertEqual(stats["dropped_detached"] + stats["dropped_full"], 0)

    def test_curl_streaming(self):
        body = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "stream please"}]}
        cmd = curl_chat(self.server.url, body, "-N")
        plain = run(cmd, base_env()).stdout
        n0 = self.server.count()
        cap = Capture()
        shimmed = run(cmd, shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        self.assertEqual(shimmed, plain)
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, stream=True, workload="curl")

    def test_curl_stream_without_usage(self):
        body = {"model": "gpt-4o", "stream": True, "messages": []}
        n0 = self.server.count()
        cap = Capture()
        run(curl_chat(self.server.url, body, "-N"), shim_env(cap.path))
        recs, _ = cap.stop()
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, stream=True)
        self.assertEqual(recs[0]["usage_status"], "not_requested")

    def test_python_requests_keepalive_session(self):
        script = (
            "import requests, sys\n"
            "s = requests.Session()\n"
            "for i in range(3):\n"
            "    r = s.post(sys.argv[1], json={'model': 'm%d' % i, 'messages': [{'role': 'user',"
            " 'content': 'x' * i}]})\n"
            "    print(r.status_code, r.json()['usage'])\n")
        url = self.server.url + CHAT
        plain = run([PY, "-c", script, url], base_env()).stdout
        n0 = self.server.count()
        cap = Capture()
        shimmed = run([PY, "-c", script, url], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        self.assertEqual(shimmed, plain)
        entries = self.server.entries(3, n0)
        self.assertEqual(len(recs), 3)
        for rec, entry in zip(recs, entries):
            self.assert_exchange(rec, entry, workload="python3")
        self.assertEqual(len({r["local"] for r in recs}), 1, "one keep-alive connection")
        self.assertEqual([r["request_model"] for r in recs], ["m0", "m1", "m2"])

    def test_python_httpx_streaming(self):
        script = (
            "import httpx, json, sys\n"
            "body = {'model': 'hx', 'stream': True, 'stream_options': {'include_usage': True},"
            " 'messages': []}\n"
            "with httpx.Client() as c:\n"
            "    with c.stream('POST', sys.argv[1], json=body) as r:\n"
            "        for line in r.iter_lines():\n"
            "            print(line)\n")
        url = self.server.url + CHAT
        plain = run([PY, "-c", script, url], base_env()).stdout
        n0 = self.server.count()
        cap = Capture()
        shimmed = run([PY, "-c", script, url], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        self.assertEqual(shimmed, plain)
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, stream=True, workload="python3")

    def test_node_openai_sdk(self):
        url = self.server.url + "/v1"
        plain = run(["node", NODE_CLIENT, url], base_env(), cwd=SRC).stdout
        n0 = self.server.count()
        cap = Capture()
        shimmed = run(["node", NODE_CLIENT, url], shim_env(cap.path), cwd=SRC).stdout
        recs, _ = cap.stop()
        self.assertEqual(shimmed, plain)
        entries = self.server.entries(2, n0)
        self.assertEqual(len(recs), 2)
        self.assert_exchange(recs[0], entries[0], workload="node")
        self.assert_exchange(recs[1], entries[1], stream=True, workload="node")

    def test_probe_every_call_shape(self):
        """writev/sendmsg/sendmmsg/sendto out, peek/read/readv/recvmsg/recvmmsg/
        recv/recvfrom in: records count exactly the bytes the calls moved."""
        n0 = self.server.count()
        cap = Capture()
        out = run([PROBE, "http", str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        probe = [json.loads(l) for l in out.decode().splitlines()]
        entries = self.server.entries(2, n0)
        self.assertEqual(len(recs), 2)
        for rec, entry, p in zip(recs, entries, probe):
            self.assertEqual(p["status"], "HTTP/1.1 200 OK")
            self.assertEqual(rec["req_bytes"], p["sent"])
            self.assertEqual(rec["resp_bytes"], p["received"])
            self.assert_exchange(rec, entry, workload="shim_probe")
        self.assertEqual(recs[0]["local"], recs[1]["local"])

    def test_fork_child_is_its_own_producer(self):
        script = (
            "import os, sys, requests\n"
            "requests.post(sys.argv[1], json={'model': 'parent'})\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    requests.post(sys.argv[1], json={'model': 'child'})\n"
            "    os._exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "print(os.getpid(), pid)\n")
        cap = Capture()
        out = run([PY, "-c", script, self.server.url + CHAT], shim_env(cap.path)).stdout
        recs, stats = cap.stop()
        parent, child = map(int, out.split())
        self.assertEqual(sorted((r["request_model"], r["pid"]) for r in recs),
                         [("child", child), ("parent", parent)])
        for r in recs:
            self.assertEqual(r["producer_pid"], r["pid"])
        self.assertEqual(stats["producers"], 2)


class TestServers(ShimCase):
    def test_python_http_server_destination(self):
        cap = Capture()
        srv = LogServer(env=shim_env(cap.path))
        try:
            body = {"model": "served", "messages": [{"role": "user", "content": "q"}]}
            run(curl_chat(srv.url, body, "-H", "x-request-id: dest-1"), base_env())
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            run(curl_chat(srv.url, body, "-N"), base_env())
            entries = srv.entries(2)
        finally:
            srv.stop()
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 2)
        self.assert_exchange(recs[0], entries[0], reporter="destination", workload="python3")
        self.assert_exchange(recs[1], entries[1], reporter="destination", stream=True)
        self.assertEqual(recs[0]["local"], "127.0.0.1:%d" % srv.port)
        self.assertTrue(recs[0]["peer"].startswith("127.0.0.1:"))

    def test_node_http_server_destination(self):
        cap = Capture()
        srv = Server(["node", NODE_SERVER, "0"], shim_env(cap.path))
        try:
            body = {"model": "nodeserved", "messages": []}
            out = run(curl_chat(srv.url, body, "-w", "\n%{size_request} %{size_upload} "
                                "%{size_header} %{size_download}"), base_env()).stdout
        finally:
            logged = srv.stop()
        recs, _ = cap.stop()
        sizes = [int(x) for x in out.decode().splitlines()[-1].split()]
        self.assertEqual(len(recs), 1)
        rec, entry = recs[0], logged[0]
        self.assertEqual(rec["reporter"], "destination")
        self.assertEqual(rec["workload"], "node")
        self.assertEqual(rec["req_bytes"], sizes[0] + sizes[1])
        self.assertEqual(rec["resp_bytes"], sizes[2] + sizes[3])
        self.assertEqual((rec["method"], rec["path"], rec["status"]), ("POST", CHAT, 200))
        self.assertEqual(rec["request_model"], entry["model"])
        self.assertEqual(rec["response_model"], entry["response_model"])
        self.assertEqual((rec["prompt_tokens"], rec["completion_tokens"], rec["total_tokens"]),
                         (entry["prompt_tokens"], entry["completion_tokens"],
                          entry["total_tokens"]))
        self.assertEqual(rec["local"], "127.0.0.1:%d" % srv.port)


class TestModes(ShimCase):
    def test_ring_absent_app_unchanged(self):
        body = {"model": "absent", "messages": []}
        cmd = curl_chat(self.server.url, body, "-v")
        plain = run(cmd, base_env())
        shimmed = run(cmd, shim_env("/dev/shm/tokenring-shimtest-missing-%d" % os.getpid()))
        self.assertEqual(shimmed.stdout, plain.stdout)
        strip = lambda e: [l for l in e.splitlines() if b"Trying" not in l
                           and b"Connected to" not in l and not l.startswith(b"< Date")]
        self.assertEqual(strip(shimmed.stderr), strip(plain.stderr))

    def test_disable_is_pure_passthrough(self):
        cap = Capture()
        run(curl_chat(self.server.url, {"model": "off"}), shim_env(cap.path, TOKENRING_DISABLE=1))
        recs, stats = cap.stop()
        self.assertEqual(recs, [])
        self.assertEqual(stats["producers"], 0)
        self.assertEqual(stats["tail"], 0)

    def test_http_all_and_llm_paths(self):
        cmd = ["curl", "-sS", self.server.url + "/health"]
        cap = Capture()
        run(cmd, shim_env(cap.path))
        run(cmd, shim_env(cap.path, TOKENRING_HTTP="all"))
        run(cmd, shim_env(cap.path, TOKENRING_LLM_PATHS="/v2/x,/health"))
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 2)
        for r in recs:
            self.assertEqual((r["method"], r["path"], r["status"]), ("GET", "/health", 200))
        self.assertNotIn("llm", recs[0]["flag_names"])
        self.assertEqual(recs[0]["usage_status"], "none")
        self.assertIn("llm", recs[1]["flag_names"])

    def test_identity_from_pod_env(self):
        cap = Capture()
        run(curl_chat(self.server.url, {"model": "id"}),
            shim_env(cap.path, POD_NAME="reviews-v1-5b8c7d9f4-x2x9z", POD_NAMESPACE="bookinfo"))
        run(curl_chat(self.server.url, {"model": "id"}),
            shim_env(cap.path, POD_NAME="reviews-v1-5b8c7d9f4-x2x9z",
                     TOKENRING_WORKLOAD="chat-ui", TOKENRING_NAMESPACE="ai"))
        recs, _ = cap.stop()
        self.assertEqual([(r["workload"], r["namespace"]) for r in recs],
                         [("reviews-v1", "bookinfo"), ("chat-ui", "ai")])

    def test_label_headers_from_ring(self):
        cap = Capture("--label-header", "x-team", "--label-header", "x-tenant")
        run(curl_chat(self.server.url, {"model": "lab"}, "-H", "X-Team: search",
                      "-H", "x-tenant: acme"), shim_env(cap.path))
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["labels"], ["search", "acme"])

    def test_reattach_after_absent_and_retired_ring(self):
        """Records made with no ring are counted as detached drops; a ring
        that appears later, or replaces a retired one, is attached within a
        second."""
        script = (
            "import sys, requests\n"
            "for line in sys.stdin:\n"
            "    requests.post(sys.argv[1], json={'model': line.strip()})\n"
            "    print('done', flush=True)\n")
        path = ring_path()
        app = subprocess.Popen([PY, "-c", script, self.server.url + CHAT], text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=shim_env(path))

        def req(model):
            app.stdin.write(model + "\n")
            app.stdin.flush()
            self.assertEqual(app.stdout.readline(), "done\n")

        try:
            req("before")  # no ring yet
            cap1 = Capture("--keep", "--capacity", "1024", path=path)
            time.sleep(1.1)
            req("first")
            recs1, stats1 = cap1.stop()
            # a ring of another capacity retires and replaces the kept file
            cap2 = Capture("--capacity", "2048", path=path)
            time.sleep(1.1)
            req("second")
            recs2, stats2 = cap2.stop()
        finally:
            app.stdin.close()
            app.wait(timeout=TIMEOUT)
        self.assertEqual([r["request_model"] for r in recs1], ["first"])
        self.assertEqual(stats1["dropped_detached"], 1)
        self.assertEqual([r["request_model"] for r in recs2], ["second"])
        self.assertEqual(stats2["dropped_detached"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
