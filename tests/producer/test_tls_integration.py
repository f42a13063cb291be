#!/usr/bin/python3
"""test_tls_integration.py - LLM traffic inside TLS, seen through the
OpenSSL and GnuTLS hooks of libtokenring.so.

A local HTTPS OpenAI-compatible server (demo/llm_server.py wrapped with
Python's ssl module: tls_llm_server.py) with a self-signed certificate made
here with `openssl req`; real clients under LD_PRELOAD: curl (OpenSSL),
Python requests and httpx (the ssl module: OpenSSL), gnutls-cli and
libcurl's GnuTLS flavour (GnuTLS), and tls_probe (OpenSSL's API called
the unusual ways: peek, 1-byte reads, the _ex calls, a memory of
decrypted bytes). Records must equal what the server logged it sent, with
the `tls` flag, exactly once (the ciphertext is never parsed too).
Environment (set by CTest): as test_shim_integration.py, plus
TOKENRING_TLS_PROBE.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_shim_integration as base  # noqa: E402  (shared harness)
from test_shim_integration import (CHAT, CURL_SIZES, PY, SRC, Capture, base_env,  # noqa: E402
                                   curl_sent, run, shim_env)

HERE = os.path.join(SRC, "tests", "producer")
TLS_SERVER = os.path.join(HERE, "tls_llm_server.py")
CURL_GNUTLS = os.path.join(HERE, "tls_curl_gnutls.py")
TLS_PROBE = os.environ["TOKENRING_TLS_PROBE"]
TLS_TWIN = os.environ["TOKENRING_TLS_TWIN"]
TLS_EXPORTS = {"SSL_read", "SSL_read_ex", "SSL_peek", "SSL_peek_ex", "SSL_write",
               "SSL_write_ex", "SSL_shutdown", "SSL_free", "gnutls_record_recv",
               "gnutls_record_send", "gnutls_bye", "gnutls_deinit"}
LIBC_EXPORTS = {"send", "sendto", "sendmsg", "sendmmsg", "write", "writev", "recv",
                "recvfrom", "recvmsg", "recvmmsg", "read", "readv", "connect", "accept",
                "accept4", "close", "close_range", "dup2", "dup3", "fork",
                "dlopen"}  # RTLD_DEEPBIND objects rebound (producer/hooks_dl.c)

CERT_DIR = tempfile.mkdtemp(prefix="tokenring-tls-")
CERT = os.path.join(CERT_DIR, "cert.pem")
KEY = os.path.join(CERT_DIR, "key.pem")


def make_cert():
    """A self-signed certificate for 127.0.0.1, made now (Debian openssl)."""
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
         "-out", CERT, "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"], base_env())


class TLSLogServer(base.LogServer):
    """demo/llm_server.py over HTTPS, logging what it sent (plaintext bytes)."""

    def __init__(self, env=None):
        self.logfile = "/tmp/tls-llm-server-%d-%d.log" % (os.getpid(), base.free_port())
        base.Server.__init__(self, [PY, TLS_SERVER, "--cert", CERT, "--key", KEY,
                                    "--port", "0", "--log", self.logfile],
                             env or base_env(), "listening on")
        self.url = "https://127.0.0.1:%d" % self.port


def wait_port(port):
    """Until something accepts on 127.0.0.1:port (at most 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def http_request(port, body, *headers):
    """A raw HTTP/1.1 POST to the chat endpoint, as bytes."""
    data = json.dumps(body).encode()
    head = ["POST %s HTTP/1.1" % CHAT, "Host: 127.0.0.1:%d" % port,
            "Content-Type: application/json", "Content-Length: %d" % len(data), *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def read_response(stream, buf):
    """One HTTP/1.1 response (Content-Length or chunked) from a pipe."""
    def more():
        d = os.read(stream.fileno(), 65536)
        if not d:
            raise AssertionError("EOF before the response ended: %r" % buf)
        return d
    while b"\r\n\r\n" not in buf:
        buf += more()
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    hdrs = {l.split(b":", 1)[0].strip().lower(): l.split(b":", 1)[1].strip()
            for l in lines[1:]}
    if b"content-length" in hdrs:
        n = int(hdrs[b"content-length"])
        while len(rest) < n:
            rest += more()
        return head + b"\r\n\r\n" + rest[:n], rest[n:]
    while b"\r\n0\r\n\r\n" not in rest and not rest.startswith(b"0\r\n\r\n"):
        rest += more()
    end = rest.index(b"0\r\n\r\n") + 5 if rest.startswith(b"0\r\n\r\n") else \
        rest.index(b"\r\n0\r\n\r\n") + 7
    return head + b"\r\n\r\n" + rest[:end], rest[end:]


class TLSCase(base.ShimCase):
    def make_server(self):
        return TLSLogServer()

    def assert_tls_exchange(self, rec, entry, **kw):
        self.assert_exchange(rec, entry, **kw)
        self.assertIn("tls", rec["flag_names"])


class TestTLSLibrary(unittest.TestCase):
    def test_ldd_shows_libc_only(self):
        out = run(["ldd", base.SHIM], base_env()).stdout.decode()
        libs = {l.split()[0] for l in out.splitlines() if l.strip()}
        # libdl.so.2 is glibc's own (package libc6): where a glibc older than
        # 2.34 keeps dlsym (producer/libc_compat.h, docs/containers.md)
        self.assertEqual(libs, {"linux-vdso.so.1", "libc.so.6", "libdl.so.2",
                                "/lib64/ld-linux-x86-64.so.2"})

    def test_exports_only_interposed_symbols(self):
        out = run(["nm", "-D", "--defined-only", base.SHIM], base_env()).stdout.decode()
        names = {l.split()[-1] for l in out.splitlines() if l.strip()}
        self.assertEqual(names, LIBC_EXPORTS | TLS_EXPORTS)


class TestOpenSSLClients(TLSCase):
    def test_curl_https(self):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}]}
        cmd = base.curl_chat(self.server.url, body, "-k", "-H", "x-request-id: tls-curl-1",
                             "-H", "x-mock-response-model: gpt-4o-mini-2024-07-18",
                             *CURL_SIZES)
        recs, stats, (entry,), out = self.shimmed_vs_plain(cmd, 1)
        self.assertEqual(entry["response_model"], "gpt-4o-mini-2024-07-18")
        self.assert_tls_exchange(recs[0], entry, workload="curl", req_bytes=curl_sent(out),
                                 t0=self.t0, t1=self.t1, user_agent=base.CURL_UA)
        self.assertEqual((recs[0]["prompt_tokens"], recs[0]["completion_tokens"]), (2, 8))
        self.assertEqual((stats["consumed"], stats["dropped_detached"]), (1, 0))

    def test_curl_https_streaming(self):
        body = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": 6, "messages": [{"role": "user", "content": "stream please"}]}
        cmd = base.curl_chat(self.server.url, body, "-k", "-N", *CURL_SIZES)
        recs, _, (entry,), out = self.shimmed_vs_plain(cmd, 1)
        self.assertEqual(entry["content_chunks"], 6)
        self.assert_tls_exchange(recs[0], entry, workload="curl", req_bytes=curl_sent(out))

    def test_python_requests_keepalive_session(self):
        script = (
            "import requests, sys\n"
            "s = requests.Session()\n"
            "for i in range(3):\n"
            "    r = s.post(sys.argv[1], headers={'x-request-id': 'tls-py-%d' % i},\n"
            "               json={'model': 'm%d' % i, 'messages': [{'role': 'user',"
            " 'content': 'word ' * i}]}, verify=sys.argv[2])\n"
            "    print(r.status_code, r.json()['usage'])\n")
        recs, _, entries, _ = self.shimmed_vs_plain(
            [PY, "-c", script, self.server.url + CHAT, CERT], 3)
        for rec, entry in zip(recs, entries):
            self.assert_tls_exchange(rec, entry, workload="python3")
        self.assertEqual(len({r["local"] for r in recs}), 1, "one keep-alive connection")
        self.assertEqual([r["request_model"] for r in recs], ["m0", "m1", "m2"])
        self.assertEqual([r["prompt_tokens"] for r in recs], [0, 1, 2])

    def test_python_httpx_streaming(self):
        script = (
            "import httpx, sys\n"
            "body = {'model': 'hx', 'stream': True, 'stream_options': {'include_usage': True},"
            " 'messages': [{'role': 'user', 'content': 'a b c'}]}\n"
            "with httpx.Client(verify=sys.argv[2]) as c:\n"
            "    with c.stream('POST', sys.argv[1], json=body) as r:\n"
            "        for line in r.iter_lines():\n"
            "            print(line)\n")
        recs, _, (entry,), _ = self.shimmed_vs_plain(
            [PY, "-c", script, self.server.url + CHAT, CERT], 1)
        self.assert_tls_exchange(recs[0], entry, workload="python3")
        self.assertEqual(recs[0]["user_agent"], "python-httpx/" + base.HTTPX_VERSION)
        self.assertEqual(recs[0]["prompt_tokens"], 3)

    def test_python_httpx_async_memory_bio(self):
        """httpx.AsyncClient: asyncio does TLS on memory BIOs (SSLObject), so
        no call touches the socket: tracked on a slot of its own, no
        addresses, every HTTP and LLM field exact."""
        script = (
            "import asyncio, httpx, sys\n"
            "async def main():\n"
            "    async with httpx.AsyncClient(verify=sys.argv[2]) as c:\n"
            "        for i in range(2):\n"
            "            r = await c.post(sys.argv[1], headers={'x-request-id': 'aio-%d' % i},\n"
            "                             json={'model': 'aio-%d' % i, 'stream': i == 1,\n"
            "                                   'stream_options': {'include_usage': True},\n"
            "                                   'messages': [{'content': 'x y z'}]})\n"
            "            print(r.status_code, len(r.content))\n"
            "asyncio.run(main())\n")
        recs, _, entries, _ = self.shimmed_vs_plain(
            [PY, "-c", script, self.server.url + CHAT, CERT], 2)
        for rec, entry in zip(recs, entries):
            # no socket: no addresses (assert_exchange checks them), the rest exact
            self.assertEqual((rec["local"], rec["peer"]), ("", ""))
            rec = dict(rec, peer="127.0.0.1:%d" % self.server.port, local="127.0.0.1:1")
            self.assert_tls_exchange(rec, entry, workload="python3")
        self.assertEqual([r["request_model"] for r in recs], ["aio-0", "aio-1"])
        self.assertEqual([r["prompt_tokens"] for r in recs], [3, 3])

    def test_failed_handshake_unchanged(self):
        """curl against a plain-HTTP port over https: the same error, exit
        code and no record with the shim as without."""
        plain_srv = base.LogServer()
        try:
            cmd = base.curl_chat(plain_srv.url.replace("http:", "https:"), {"model": "x"}, "-k")
            plain = run(cmd, base_env(), check=False)
            cap = Capture()
            shimmed = run(cmd, shim_env(cap.path), check=False)
            recs, _ = cap.stop()
        finally:
            plain_srv.stop()
        self.assertNotEqual(plain.returncode, 0)
        self.assertEqual((shimmed.returncode, shimmed.stdout, shimmed.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        self.assertEqual(recs, [])


class TestTLSBehaviour(TLSCase):
    def test_threads_on_many_sessions(self):
        """6 threads x 5 requests, each thread its own keep-alive TLS session."""
        script = (
            "import sys, requests\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "def work(t):\n"
            "    s = requests.Session()\n"
            "    for i in range(5):\n"
            "        s.post(sys.argv[1], headers={'x-request-id': 't%d-%d' % (t, i)},\n"
            "               json={'model': 'thr-%d' % t, 'messages': [{'content': 'w ' * i}]},\n"
            "               verify=sys.argv[2])\n"
            "with ThreadPoolExecutor(6) as ex:\n"
            "    list(ex.map(work, range(6)))\n")
        n0 = self.server.count()
        cap = Capture()
        run([PY, "-c", script, self.server.url + CHAT, CERT], shim_env(cap.path))
        recs, stats = cap.stop()
        entries = {e["request_id"]: e for e in self.server.entries(30, n0)}
        self.assertEqual(len(entries), 30)
        self.assertEqual(sorted(r["request_id"] for r in recs), sorted(entries))
        for r in recs:
            self.assert_tls_exchange(r, entries[r["request_id"]], workload="python3")
            self.assertEqual(r["request_model"], "thr-" + r["request_id"].split("-")[0][1:])
        self.assertEqual(len({r["local"] for r in recs}), 6)
        self.assertEqual(stats["consumed"], 30)

    def test_non_http_plaintext_is_passed_through(self):
        """A TLS session whose plaintext is not HTTP/1.x gives no record, even
        with TOKENRING_HTTP=all; a later HTTPS request in the same process does."""
        script = (
            "import socket, ssl, sys, requests\n"
            "ctx = ssl.create_default_context(cafile=sys.argv[3])\n"
            "raw = socket.create_connection(('127.0.0.1', int(sys.argv[2])))\n"
            "c = ctx.wrap_socket(raw, server_hostname='127.0.0.1')\n"
            "c.sendall(b'\\x00\\x01 not http\\r\\n\\r\\n')\n"
            "print(c.recv(100).split(b'\\r\\n')[0])\n"
            "c.close()\n"
            "r = requests.post(sys.argv[1], json={'model': 'after'}, verify=sys.argv[3])\n"
            "print(r.status_code)\n")
        cmd = [PY, "-c", script, self.server.url + CHAT, str(self.server.port), CERT]
        plain = run(cmd, base_env()).stdout
        cap = Capture()
        shimmed = run(cmd, shim_env(cap.path, TOKENRING_HTTP="all")).stdout
        recs, _ = cap.stop()
        self.assertEqual(shimmed, plain)
        self.assertEqual(shimmed.splitlines()[-1], b"200")
        self.assertEqual([(r["request_model"], r["flag_names"]) for r in recs],
                         [("after", ["llm", "tls", "request_id_generated"])])

    def test_disable_is_pure_passthrough(self):
        body = {"model": "off", "messages": []}
        cap = Capture()
        out = run(base.curl_chat(self.server.url, body, "-k"),
                  shim_env(cap.path, TOKENRING_DISABLE=1)).stdout
        recs, stats = cap.stop()
        self.assertIn(b'"model":"off"', out)
        self.assertEqual(recs, [])
        self.assertEqual((stats["producers"], stats["tail"]), (0, 0))


class TestGnuTLSClients(TLSCase):
    def test_gnutls_cli_keepalive(self):
        """gnutls-cli (GnuTLS, its own socket via gnutls_transport_set_int):
        a plain and a streamed request on one connection, fed on stdin."""
        reqs = [http_request(self.server.port, {"model": "gnu-1", "messages": [
                    {"role": "user", "content": "one two"}]}, "x-request-id: gnu-1"),
                http_request(self.server.port, {"model": "gnu-2", "stream": True,
                             "stream_options": {"include_usage": True}, "max_tokens": 4,
                             "messages": []}, "x-request-id: gnu-2")]
        n0 = self.server.count()
        cap = Capture()
        p = subprocess.Popen(["gnutls-cli", "--insecure", "--logfile=/dev/null", "-p",
                              str(self.server.port), "127.0.0.1"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=shim_env(cap.path))
        try:
            got, buf = [], b""
            for req in reqs:
                p.stdin.write(req)
                p.stdin.flush()
                resp, buf = read_response(p.stdout, buf)
                got.append(resp)
        finally:
            p.stdin.close()  # EOF on stdin: gnutls-cli says bye and exits
            p.wait(timeout=base.TIMEOUT)
            p.stdout.close()
            p.stderr.close()
        recs, stats = cap.stop()
        entries = self.server.entries(2, n0)
        self.assertEqual([r.split(b"\r\n")[0] for r in got], [b"HTTP/1.1 200 OK"] * 2)
        self.assertEqual(len(recs), 2, recs)
        for rec, entry, req, resp in zip(recs, entries, reqs, got):
            self.assert_tls_exchange(rec, entry, workload="gnutls-cli", req_bytes=len(req))
            self.assertEqual(rec["resp_bytes"], len(resp))
        self.assertEqual([r["request_model"] for r in recs], ["gnu-1", "gnu-2"])
        self.assertEqual(recs[1]["chunks"], 4)
        self.assertEqual(recs[0]["local"], recs[1]["local"])
        self.assertEqual(stats["consumed"], 2)

    def test_libcurl_gnutls_via_ctypes(self):
        """libcurl's GnuTLS flavour, loaded by ctypes (RTLD_LOCAL: out of
        RTLD_NEXT's reach), with its own push/pull transport callbacks."""
        recs, _, entries, out = self.shimmed_vs_plain(
            [PY, CURL_GNUTLS, self.server.url + CHAT, "ctg-a", "ctg-b"], 2)
        sent = [int(x) for x in out.decode().split()[-2:]]
        for rec, entry, n in zip(recs, entries, sent):
            self.assert_tls_exchange(rec, entry, workload="python3", req_bytes=n)
        self.assertEqual([r["request_model"] for r in recs], ["ctg-a", "ctg-b"])
        self.assertEqual(recs[0]["local"], recs[1]["local"])


class TestOpenSSLCallShapes(TLSCase):
    def test_probe_peek_small_reads_and_ex_calls(self):
        """SSL_write in 7-byte pieces, SSL_peek before each read (feeds
        nothing), 1-byte SSL_read (decrypted bytes with no socket I/O),
        SSL_write_ex / SSL_read_ex / SSL_peek_ex; then a session on a
        custom BIO (no SSL_get_fd) over the same calls."""
        n0 = self.server.count()
        cap = Capture()
        out = run([TLS_PROBE, str(self.server.port)], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        probe = [json.loads(l) for l in out.decode().splitlines()]
        entries = self.server.entries(len(probe), n0)
        self.assertEqual(len(probe), 4)
        self.assertEqual(len(recs), 4, recs)
        for rec, entry, p in zip(recs, entries, probe):
            self.assertEqual(p["status"], "HTTP/1.1 200 OK")
            self.assertEqual(p["received"], entry["wire_bytes"])
            self.assert_tls_exchange(rec, entry, workload="tls_probe", req_bytes=p["sent"],
                                     user_agent="tls-probe/1")
        self.assertEqual(recs[0]["local"], recs[1]["local"])
        self.assertEqual(recs[2]["local"], recs[3]["local"])


    def test_two_tls_libraries_in_one_process(self):
        """A module opened RTLD_LOCAL, linked to a stand-in libssl (OpenSSL's
        names, its own struct: a wheel's bundled copy), next to the real
        libssl: each hook calls the copy its caller binds to (a wrong one
        would crash), and both sessions are recorded."""
        n0 = self.server.count()
        cap = Capture()
        out = run([TLS_PROBE, str(self.server.port), TLS_TWIN], shim_env(cap.path)).stdout
        recs, _ = cap.stop()
        lines = [json.loads(l) for l in out.decode().splitlines()]
        entries = self.server.entries(2, n0)
        self.assertEqual(len(lines), 3)
        self.assertEqual(len(recs), 3, recs)
        for rec, entry, p in zip(recs, entries, lines):
            self.assert_tls_exchange(rec, entry, workload="tls_probe", req_bytes=p["sent"])
        twin = recs[2]
        self.assertEqual(lines[2], {"twin_sent": twin["req_bytes"], "twin_received": 161})
        self.assertEqual((twin["request_model"], twin["response_model"], twin["authority"]),
                         ("twin-model", "twin-model", "twin.example"))
        self.assertEqual((twin["prompt_tokens"], twin["completion_tokens"],
                          twin["total_tokens"], twin["resp_bytes"], twin["status"]),
                         (5, 6, 11, 161, 200))
        self.assertEqual((twin["local"], twin["peer"]), ("", ""))
        self.assertIn("tls", twin["flag_names"])


class TestTLSServer(TLSCase):
    def test_python_ssl_server_destination(self):
        """The HTTPS server itself under the shim (Python ssl: SSL_read_ex /
        SSL_write_ex on accepted sockets): destination records, flagged."""
        cap = Capture()
        srv = TLSLogServer(env=shim_env(cap.path))
        try:
            body = {"model": "served", "messages": [{"role": "user", "content": "q r"}]}
            out1 = run(base.curl_chat(srv.url, body, "-k", "-H", "x-request-id: tls-dest-1",
                                      *CURL_SIZES), base_env()).stdout
            body.update(stream=True, stream_options={"include_usage": True})
            out2 = run(base.curl_chat(srv.url, body, "-k", "-N", *CURL_SIZES),
                       base_env()).stdout
            entries = srv.entries(2)
        finally:
            srv.stop()
        recs, _ = cap.stop()
        self.assertEqual(len(recs), 2, recs)
        self.assert_tls_exchange(recs[0], entries[0], reporter="destination",
                                 workload="python3", req_bytes=curl_sent(out1), port=srv.port)
        self.assert_tls_exchange(recs[1], entries[1], reporter="destination",
                                 req_bytes=curl_sent(out2), port=srv.port)


class TestGnuTLSServer(unittest.TestCase):
    def test_gnutls_serv_destination(self):
        """gnutls-serv --http under the shim (gnutls_record_recv/send on an
        accepted socket; HTTP/1.0, the response framed by the close):
        a destination record, with TOKENRING_HTTP=all (not an LLM API)."""
        port = base.free_port()
        cap = Capture()
        srv = subprocess.Popen(["gnutls-serv", "--http", "--x509certfile", CERT,
                                "--x509keyfile", KEY, "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=shim_env(cap.path, TOKENRING_HTTP="all"))
        try:
            wait_port(port)
            out = run(["curl", "-sS", "-k", "--noproxy", "*", "-H", "x-request-id: gs-1",
                       "-w", "\n%{size_request} %{size_header} %{size_download} %{http_code}",
                       "https://127.0.0.1:%d/" % port], base_env()).stdout
        finally:
            srv.terminate()
            srv.wait(timeout=base.TIMEOUT)
        recs, _ = cap.stop()
        sent, head, body, code = map(int, out.decode().splitlines()[-1].split())
        self.assertEqual(code, 200)
        self.assertEqual(len(recs), 1, recs)
        r = recs[0]
        self.assertEqual((r["reporter"], r["workload"], r["method"], r["path"], r["status"]),
                         ("destination", "gnutls-serv", "GET", "/", 200))
        self.assertEqual((r["req_bytes"], r["resp_bytes"]), (sent, head + body))
        self.assertEqual((r["request_id"], r["local"]), ("gs-1", "127.0.0.1:%d" % port))
        self.assertIn("tls", r["flag_names"])
        self.assertNotIn("conn_closed", r["flag_names"])


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


if __name__ == "__main__":
    make_cert()
    base.tt.main()
