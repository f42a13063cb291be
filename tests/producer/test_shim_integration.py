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
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import free_port  # noqa: E402,F401  (also test_tls_integration's)

base_env = tt.clean_env

SHIM = os.environ["TOKENRING_SHIM"]
CAPTURE = os.environ["TOKENRING_CAPTURE"]
PROBE = os.environ["TOKENRING_PROBE"]
EARLY = os.environ["TOKENRING_EARLY"]
SRC = os.environ.get("TOKENRING_SRC", os.getcwd())
HERE = os.path.join(SRC, "tests", "producer")
PY = "/usr/bin/python3"
DEMO_SERVER = os.path.join(SRC, "demo", "llm_server.py")
NODE_SERVER = os.path.join(HERE, "shim_node_server.js")
NODE_CLIENT = os.path.join(HERE, "shim_openai_client.mjs")
CHAT = "/v1/chat/completions"
EXPORTS = {"send", "sendto", "sendmsg", "sendmmsg", "write", "writev", "recv",
           "recvfrom", "recvmsg", "recvmmsg", "read", "readv", "connect", "accept",
           "accept4", "close", "close_range", "dup2", "dup3", "fork",
           "dlopen"}  # RTLD_DEEPBIND objects rebound (producer/hooks_dl.c)
# TLS plaintext hooks (issue 8, producer/hooks_tls.c)
EXPORTS |= {"SSL_read", "SSL_read_ex", "SSL_peek", "SSL_peek_ex", "SSL_write", "SSL_write_ex",
            "SSL_shutdown", "SSL_free", "gnutls_record_recv", "gnutls_record_send",
            "gnutls_bye", "gnutls_deinit"}
TIMEOUT = 20
CURL_UA = "curl/" + subprocess.run(["curl", "--version"], stdout=subprocess.PIPE,
                                  text=True).stdout.split()[1]
HTTPX_VERSION = subprocess.run([PY, "-c", "import httpx; print(httpx.__version__)"],
                               stdout=subprocess.PIPE, text=True).stdout.strip()

_ring_seq = [0]


def ring_path():
    _ring_seq[0] += 1
    return "/dev/shm/tokenring-shimtest-%d-%d" % (os.getpid(), _ring_seq[0])


def shim_env(ring, **extra):
    return base_env(LD_PRELOAD=SHIM, TOKENRING_RING=ring, **extra)


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
    """A test server (the demo LLM server, or the Node one), maybe under the shim."""

    def __init__(self, cmd, env, ready):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        first = self.proc.stdout.readline()
        if not first.startswith(ready):
            raise RuntimeError("server did not start: %r %s" % (first, self.proc.stderr.read()))
        self.port = int(first.split()[-1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=TIMEOUT)
        return [json.loads(l) for l in out.splitlines() if l.strip()]


class LogServer(Server):
    """demo/llm_server.py, logging what it sent to a file."""

    def __init__(self, env=None):
        self.logfile = "/tmp/shim-llm-server-%d-%d.log" % (os.getpid(), free_port())
        super().__init__([PY, DEMO_SERVER, "--port", "0", "--log", self.logfile],
                         env or base_env(), "listening on")

    def entries(self, n, after=0):
        """The log entries after the first `after`, waiting for n of them (the
        server logs just after its last write, so a client can be faster)."""
        deadline = time.monotonic() + tt.DEADLINE
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
        """Entries so far. Each test has a server of its own (ShimCase), so
        no other test's exchange can still be on its way to the log."""
        return len(self.entries(0))

    def stop(self):
        super().stop()
        if os.path.exists(self.logfile):
            os.unlink(self.logfile)


def same_reply(a, b):
    """Client outputs equal but for what the server makes up per reply
    (demo/llm_server.py numbers ids per process and stamps `created`)."""
    mask = lambda x: re.sub(rb'("created":\s*)\d+|((?:chatcmpl|resp|msg)[-_]?)\w+',
                            rb"\1\2#", x)
    return mask(a) == mask(b)


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
    """A server per test: the log lines of one test's exchanges (written
    just after the last byte, so possibly after its client is done) can
    never land in the next test's count, however late they come."""
    server = None

    def make_server(self):
        return LogServer()

    def setUp(self):
        self.server = self.make_server()

    def tearDown(self):
        self.server.stop()

    def assert_exchange(self, rec, entry, reporter="source", workload=None, req_bytes=None,
                        t0=None, t1=None, user_agent=None, port=None):
        """A record equals what demo/llm_server.py logged for the exchange."""
        stream = entry["stream"]
        self.assertEqual(rec["reporter"], reporter)
        self.assertEqual((rec["method"], rec["path"], rec["status"]),
                         (entry["method"], entry["path"], entry["status"]))
        self.assertEqual(rec["resp_bytes"], entry["wire_bytes"])
        if req_bytes is not None:
            self.assertEqual(rec["req_bytes"], req_bytes)
        self.assertGreater(rec["req_bytes"], entry["request_bytes"])
        self.assertEqual(rec["request_model"], entry["model"] or "")
        self.assertEqual(rec["response_model"], entry["response_model"] or "")
        for k in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
                  "cache_creation_tokens", "reasoning_tokens"):
            self.assertEqual(rec[k], entry[k] or 0, k)
        self.assertEqual(rec["provider"], "openai")
        self.assertEqual(rec["operation"], "chat")
        self.assertIn("llm", rec["flag_names"])
        if entry["total_tokens"] is not None:
            self.assertEqual(rec["usage_status"], "available")
        else:
            self.assertEqual(rec["usage_status"], "not_requested" if stream else "missing")
        if user_agent is not None:
            self.assertEqual(rec["user_agent"], user_agent[:31])  # REC_USER_AGENT_LEN - 1
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
            self.assertEqual((rec["workload"], rec["namespace"]), (workload, "default"))
        port = port or self.server.port
        server_end = "127.0.0.1:%d" % port
        self.assertEqual(rec["peer" if reporter == "source" else "local"], server_end)
        self.assertTrue(rec["local" if reporter == "source" else "peer"].startswith("127.0.0.1:"))
        self.assertEqual(rec["authority"], server_end)
        self.assertGreater(rec["ttfb_ns"], 0)
        self.assertGreaterEqual(rec["duration_ns"], rec["ttfb_ns"])
        if t0 is not None:
            self.assertTrue(t0 <= rec["start_ns"] <= t1)
        if stream:
            self.assertIn("stream", rec["flag_names"])
            self.assertEqual(rec["chunks"], entry["content_chunks"])
            self.assertGreaterEqual(rec["ttft_ns"], rec["ttfb_ns"])
            self.assertLessEqual(rec["ttft_ns"], rec["duration_ns"])
        else:
            self.assertNotIn("stream", rec["flag_names"])
            self.assertEqual((rec["chunks"], rec["ttft_ns"]), (0, 0))

    def shimmed_vs_plain(self, cmd, n, cap_args=(), **env):
        """Run cmd without then with the shim; outputs must match. Returns
        (records, stats, server log entries of the shimmed run, output)."""
        kw = {"cwd": SRC}
        n0 = self.server.count()
        plain = run(cmd, base_env(), **kw).stdout
        self.assertEqual(len(self.server.entries(n, n0)), n)
        n0 += n
        cap = Capture(*cap_args)
        t0 = wall_ns()
        shimmed = run(cmd, shim_env(cap.path, **env), **kw).stdout
        t1 = wall_ns()
        recs, stats = cap.stop()
        self.assertTrue(same_reply(shimmed, plain), (shimmed, plain))
        entries = self.server.entries(n, n0)
        self.assertEqual(len(entries), n)
        self.assertEqual(len(recs), n, recs)
        self.t0, self.t1 = t0, t1
        return recs, stats, entries, shimmed


CURL_SIZES = ["-w", "\n%{size_request}"]


def curl_sent(out):
    """Request bytes curl reports having sent (size_request: head + body)."""
    return int(out.decode().splitlines()[-1])


class TestLibrary(unittest.TestCase):
    def test_ldd_shows_libc_only(self):
        out = run(["ldd", SHIM], base_env()).stdout.decode()
        libs = {l.split()[0] for l in out.splitlines() if l.strip()}
        # libdl.so.2 is glibc's own (package libc6): where a glibc older than
        # 2.34 keeps dlsym (producer/libc_compat.h, docs/containers.md)
        self.assertEqual(libs, {"linux-vdso.so.1", "libc.so.6", "libdl.so.2",
                                "/lib64/ld-linux-x86-64.so.2"})

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
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}]}
        cmd = curl_chat(self.server.url, body, "-H", "x-request-id: curl-req-1",
                        "-H", "x-mock-response-model: gpt-4o-mini-2024-07-18",
                        "-H", "x-mock-cached: 2", *CURL_SIZES)
        recs, stats, (entry,), out = self.shimmed_vs_plain(cmd, 1)
        self.assertEqual(entry["response_model"], "gpt-4o-mini-2024-07-18")
        self.assert_exchange(recs[0], entry, workload="curl", req_bytes=curl_sent(out),
                             t0=self.t0, t1=self.t1, user_agent=CURL_UA)
        self.assertEqual(recs[0]["cached_tokens"], 2)
        self.assertEqual((stats["consumed"], stats["dropped_detached"], stats["dropped_full"]),
                         (1, 0, 0))

    def test_curl_streaming(self):
        body = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": 6, "messages": [{"role": "user", "content": "stream please"}]}
        cmd = curl_chat(self.server.url, body, "-N", *CURL_SIZES)
        recs, _, (entry,), out = self.shimmed_vs_plain(cmd, 1)
        self.assertEqual(entry["content_chunks"], 6)
        self.assert_exchange(recs[0], entry, workload="curl", req_bytes=curl_sent(out))

    def test_curl_stream_without_usage(self):
        body = {"model": "gpt-4o", "stream": True, "messages": []}
        recs, _, (entry,), out = self.shimmed_vs_plain(
            curl_chat(self.server.url, body, "-N", *CURL_SIZES), 1)
        self.assert_exchange(recs[0], entry, req_bytes=curl_sent(out))
        self.assertEqual(recs[0]["usage_status"], "not_requested")

    def test_python_requests_keepalive_session(self):
        script = (
            "import requests, sys\n"
            "s = requests.Session()\n"
            "for i in range(3):\n"
            "    r = s.post(sys.argv[1], headers={'x-request-id': 'py-%d' % i},\n"
            "               json={'model': 'm%d' % i, 'messages': [{'role': 'user',"
            " 'content': 'word ' * i}]})\n"
            "    print(r.status_code, r.json()['usage'])\n")
        recs, _, entries, _ = self.shimmed_vs_plain([PY, "-c", script,
                                                     self.server.url + CHAT], 3)
        for rec, entry in zip(recs, entries):
            self.assert_exchange(rec, entry, workload="python3")
        self.assertEqual(len({r["local"] for r in recs}), 1, "one keep-alive connection")
        self.assertEqual([r["request_model"] for r in recs], ["m0", "m1", "m2"])
        self.assertEqual([r["prompt_tokens"] for r in recs], [0, 1, 2])

    def test_python_httpx_streaming(self):
        script = (
            "import httpx, sys\n"
            "body = {'model': 'hx', 'stream': True, 'stream_options': {'include_usage': True},"
            " 'messages': [{'role': 'user', 'content': 'a b c'}]}\n"
            "with httpx.Client() as c:\n"
            "    with c.stream('POST', sys.argv[1], json=body) as r:\n"
            "        for line in r.iter_lines():\n"
            "            print(line)\n")
        recs, _, (entry,), _ = self.shimmed_vs_plain([PY, "-c", script,
                                                      self.server.url + CHAT], 1)
        self.assert_exchange(recs[0], entry, workload="python3")
        self.assertEqual(recs[0]["user_agent"], "python-httpx/" + HTTPX_VERSION)

    def test_node_openai_sdk(self):
        recs, _, entries, _ = self.shimmed_vs_plain(
            ["node", NODE_CLIENT, self.server.url + "/v1"], 2)
        self.assert_exchange(recs[0], entries[0], workload="node")
        self.assert_exchange(recs[1], entries[1], workload="node")

    def test_probe_every_call_shape(self):
        """writev/sendmsg/sendmmsg/sendto out; MSG_PEEK, 1-byte read, readv,
        recvmsg, recvmmsg, recv, recvfrom in: records count exactly the bytes
        the calls moved, and parse them."""
        n0 = self.server.count()
        cap = Capture()
        out = run([PROBE, "http", str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        probe = [json.loads(l) for l in out.decode().splitlines()]
        entries = self.server.entries(2, n0)
        self.assertEqual(len(recs), 2)
        for rec, entry, p in zip(recs, entries, probe):
            self.assertEqual(p["status"], "HTTP/1.1 200 OK")
            self.assertEqual(p["received"], entry["wire_bytes"])
            self.assert_exchange(rec, entry, workload="shim_probe", req_bytes=p["sent"],
                                 user_agent="shim-probe/1")
        self.assertEqual(recs[0]["local"], recs[1]["local"])

    def test_request_before_the_shim_constructor(self):
        """Another preloaded library's constructor, run before ours, makes an
        LLM request: the shim initialises lazily inside the hooks."""
        n0 = self.server.count()
        cap = Capture()
        env = shim_env(cap.path, SHIM_EARLY_PORT=self.server.port, TOKENRING_DEBUG=1)
        env["LD_PRELOAD"] = SHIM + ":" + EARLY
        err = run(["/bin/true"], env).stderr.decode().splitlines()
        recs, _ = cap.stop()
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(err[0], "early: start")
        self.assertTrue(err[1].startswith("tokenring[") and "active" in err[1], err)
        self.assertIn("early: done", err)
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, workload="true")

    def test_hooks_inside_signal_handlers(self):
        n0 = self.server.count()
        cap = Capture()
        out = run([PROBE, "signal", str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        probe = [json.loads(l) for l in out.decode().splitlines()]
        entries = self.server.entries(20, n0)
        self.assertEqual((len(probe), len(recs)), (20, 20))
        for rec, entry, p in zip(recs, entries, probe):
            self.assertEqual(p["status"], "HTTP/1.1 200 OK")
            self.assert_exchange(rec, entry, req_bytes=p["sent"])

    def test_msg_trunc_stops_parsing_that_connection(self):
        """recv(MSG_TRUNC) on TCP consumes bytes the app never sees: the
        exchange in flight is flagged parse_error, the rest of the connection
        passes through (no record for its second request)."""
        n0 = self.server.count()
        cap = Capture()
        out = run([PROBE, "trunc", str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        probe = json.loads(out)
        entries = self.server.entries(2, n0)
        self.assertEqual((probe["discarded"], probe["received"], probe["received2"]),
                         (5, entries[0]["wire_bytes"] - 5, entries[1]["wire_bytes"]))
        self.assertEqual(len(recs), 1)
        self.assertEqual((recs[0]["request_id"], recs[0]["method"], recs[0]["path"]),
                         ("probe-1", "POST", CHAT))
        self.assertIn("parse_error", recs[0]["flag_names"])

    def test_close_dup2_close_range_end_connections(self):
        cap = Capture()
        run([PROBE, "reset", str(self.server.port)], shim_env(cap.path))
        recs, _ = cap.stop()
        self.assertEqual(sorted(r["request_id"] for r in recs),
                         ["probe-0", "probe-1", "probe-2"])
        for r in recs:
            self.assertEqual((r["method"], r["path"], r["status"], r["resp_bytes"]),
                             ("POST", CHAT, 0, 0))
            self.assertIn("conn_closed", r["flag_names"])
            self.assertIn("no_response", r["flag_names"])
            self.assertEqual(r["request_model"], "probe-model")

    def test_vfork_child_leaves_parent_state_alone(self):
        n0 = self.server.count()
        cap = Capture()
        out = run([PROBE, "vfork", str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        (entry,) = self.server.entries(1, n0)
        probe = json.loads(out)
        self.assertEqual(probe["status"], "HTTP/1.1 200 OK")
        self.assertEqual(len(recs), 1)
        self.assert_exchange(recs[0], entry, workload="shim_probe")
        self.assertEqual(recs[0]["resp_bytes"], probe["received"])

    def test_threads_on_many_connections(self):
        """8 threads x 10 requests, each thread its own keep-alive session."""
        script = (
            "import sys, requests\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "def work(t):\n"
            "    s = requests.Session()\n"
            "    for i in range(10):\n"
            "        s.post(sys.argv[1], headers={'x-request-id': 't%d-%d' % (t, i)},\n"
            "               json={'model': 'thr-%d' % t, 'messages': [{'content': 'w ' * i}]})\n"
            "with ThreadPoolExecutor(8) as ex:\n"
            "    list(ex.map(work, range(8)))\n")
        n0 = self.server.count()
        cap = Capture()
        run([PY, "-c", script, self.server.url + CHAT], shim_env(cap.path))
        recs, stats = cap.stop()
        entries = {e["request_id"]: e for e in self.server.entries(80, n0)}
        self.assertEqual(len(entries), 80)
        self.assertEqual(sorted(r["request_id"] for r in recs), sorted(entries))
        for r in recs:
            self.assert_exchange(r, entries[r["request_id"]], workload="python3")
            t = r["request_id"].split("-")[0][1:]
            self.assertEqual(r["request_model"], "thr-" + t)
        self.assertEqual(len({r["local"] for r in recs}), 8)
        self.assertEqual(stats["consumed"], 80)

    def test_non_http_tcp_is_passed_through(self):
        """TLS-looking bytes, RESP, and an SSH server speaking first: not HTTP/1.x, so
        no record, even with TOKENRING_HTTP=all; the app sees the same."""
        script = (
            "import socket, sys\n"
            "import threading\n"
            "for first in (b'\\x16\\x03\\x01\\x00\\x05hello', b'*1\\r\\n$4\\r\\nPING\\r\\n'):\n"
            "    c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
            "    c.sendall(first)\n"
            "    c.shutdown(socket.SHUT_WR)\n"
            "    data = b''\n"
            "    while True:\n"
            "        d = c.recv(4096)\n"
            "        if not d: break\n"
            "        data += d\n"
            "    print(data.split(b'\\r\\n')[0])\n"
            "# a server that speaks first, with an upper-case banner (SSH)\n"
            "l = socket.create_server(('127.0.0.1', 0))\n"
            "def serve():\n"
            "    s, _ = l.accept()\n"
            "    s.sendall(b'SSH-2.0-OpenSSH_9.2p1\\r\\n')\n"
            "    print(s.recv(100))\n"
            "    s.sendall(b'GET / HTTP/1.1\\r\\n\\r\\n')\n"
            "    s.close()\n"
            "t = threading.Thread(target=serve)\n"
            "t.start()\n"
            "c = socket.create_connection(l.getsockname())\n"
            "print(c.recv(100))\n"
            "c.sendall(b'SSH-2.0-client\\r\\n')\n"
            "t.join()\n"
            "print(c.recv(100))\n")
        cmd = [PY, "-c", script, str(self.server.port)]
        plain = run(cmd, base_env()).stdout
        cap = Capture()
        shimmed = run(cmd, shim_env(cap.path, TOKENRING_HTTP="all")).stdout
        recs, stats = cap.stop()
        self.assertEqual(shimmed, plain)
        self.assertEqual(recs, [])
        self.assertEqual(stats["tail"], 0)

    def test_fork_child_closing_inherited_fd_reports_nothing(self):
        """A child that closes an inherited connection (as before exec) does
        not report the parent's request in flight; the parent's record is
        whole."""
        script = (
            "import http.client, os, sys\n"
            "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
            "c.request('POST', '/v1/chat/completions', body='{\"model\": \"inherit\"}',\n"
            "          headers={'x-request-id': 'fork-1'})\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.close(c.sock.fileno())\n"
            "    os._exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "print(c.getresponse().status)\n")
        n0 = self.server.count()
        cap = Capture()
        out = run([PY, "-c", script, str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        (entry,) = self.server.entries(1, n0)
        self.assertEqual(out, b"200\n")
        self.assertEqual(len(recs), 1, recs)
        self.assert_exchange(recs[0], entry, workload="python3")

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
        """demo/llm_server.py (Python http.server) under the shim."""
        cap = Capture()
        srv = LogServer(env=shim_env(cap.path))
        try:
            body = {"model": "served", "messages": [{"role": "user", "content": "q r"}]}
            out1 = run(curl_chat(srv.url, body, "-H", "x-request-id: dest-1", *CURL_SIZES),
                       base_env()).stdout
            body.update(stream=True, stream_options={"include_usage": True})
            out2 = run(curl_chat(srv.url, body, "-N", *CURL_SIZES), base_env()).stdout
            entries = srv.entries(2)
        finally:
            srv.stop()
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 2)
        self.assert_exchange(recs[0], entries[0], reporter="destination", workload="python3",
                             req_bytes=curl_sent(out1), port=srv.port)
        self.assert_exchange(recs[1], entries[1], reporter="destination",
                             req_bytes=curl_sent(out2), port=srv.port)

    def test_node_http_server_destination(self):
        cap = Capture()
        srv = Server(["node", NODE_SERVER, "0"], shim_env(cap.path), "ready")
        try:
            body = {"model": "nodeserved", "messages": []}
            out = run(curl_chat(srv.url, body, "-w", "\n%{size_request} "
                                "%{size_header} %{size_download}"), base_env()).stdout
        finally:
            logged = srv.stop()
        recs, _ = cap.stop()
        sizes = [int(x) for x in out.decode().splitlines()[-1].split()]
        self.assertEqual(len(recs), 1)
        rec, entry = recs[0], logged[0]
        self.assertEqual((rec["reporter"], rec["workload"]), ("destination", "node"))
        self.assertEqual(rec["req_bytes"], sizes[0])
        self.assertEqual(rec["resp_bytes"], sizes[1] + sizes[2])
        self.assertEqual((rec["method"], rec["path"], rec["status"]), ("POST", CHAT, 200))
        self.assertEqual(rec["request_model"], entry["model"])
        self.assertEqual(rec["response_model"], entry["response_model"])
        self.assertEqual((rec["prompt_tokens"], rec["completion_tokens"], rec["total_tokens"]),
                         (entry["prompt_tokens"], entry["completion_tokens"],
                          entry["total_tokens"]))
        self.assertEqual(rec["local"], "127.0.0.1:%d" % srv.port)
        self.assertEqual(rec["usage_status"], "available")


class TestModes(ShimCase):
    def test_ring_absent_app_unchanged(self):
        cmd = curl_chat(self.server.url, {"model": "absent"}, "-v", "-H", "x-request-id: a")
        plain = run(cmd, base_env())
        shimmed = run(cmd, shim_env("/dev/shm/tokenring-shimtest-missing-%d" % os.getpid()))
        self.assertTrue(same_reply(shimmed.stdout, plain.stdout))
        # curl -v: same lines but for the port it connected from and the date
        strip = lambda e: [l for l in e.splitlines() if b"Trying" not in l
                           and b"Connected to" not in l and not l.startswith(b"< Date")]
        self.assertEqual(strip(shimmed.stderr), strip(plain.stderr))

    def test_ring_of_another_layout_is_not_touched(self):
        path = ring_path()
        junk = bytes(range(256)) * 64
        with open(path, "wb") as f:
            f.write(junk)
        try:
            cmd = curl_chat(self.server.url, {"model": "junk"}, "-H", "x-request-id: j")
            plain = run(cmd, base_env()).stdout
            shimmed = run(cmd, shim_env(path, TOKENRING_DEBUG=1))
            self.assertTrue(same_reply(shimmed.stdout, plain))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), junk)
            # only TOKENRING_DEBUG=1 may print, and it says why it did not attach
            self.assertIn(b"not attached", shimmed.stderr)
        finally:
            os.unlink(path)

    def test_ipv6_addresses(self):
        srv = Server([PY, DEMO_SERVER, "--host", "::1", "--port", "0"], base_env(),
                     "listening on")
        try:
            cap = Capture()
            run(["curl", "-sS", "-g", "-d", '{"model":"v6"}',
                 "http://[::1]:%d%s" % (srv.port, CHAT)], shim_env(cap.path))
            recs, _ = cap.stop()
        finally:
            srv.stop()
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["peer"], "[::1]:%d" % srv.port)
        self.assertTrue(recs[0]["local"].startswith("[::1]:"))
        self.assertEqual((recs[0]["request_model"], recs[0]["status"]), ("v6", 200))

    def test_disable_is_pure_passthrough(self):
        cap = Capture()
        run(curl_chat(self.server.url, {"model": "off"}), shim_env(cap.path, TOKENRING_DISABLE=1))
        recs, stats = cap.stop()
        self.assertEqual(recs, [])
        self.assertEqual((stats["producers"], stats["tail"]), (0, 0))

    def test_http_all_and_llm_paths(self):
        cmd = ["curl", "-sS", self.server.url + "/healthz"]
        cap = Capture()
        run(cmd, shim_env(cap.path))
        run(cmd, shim_env(cap.path, TOKENRING_HTTP="all"))
        run(cmd, shim_env(cap.path, TOKENRING_LLM_PATHS="/v2/x,/healthz"))
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 2)
        for r in recs:
            self.assertEqual((r["method"], r["path"], r["status"]), ("GET", "/healthz", 200))
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
    tt.main()
