#!/usr/bin/python3
"""test_containers.py - the shim in every container (issue 16, docs/containers.md).

Real programs of both C libraries (tests/containers/tc_http.c built with gcc
and with musl-gcc) under both builds of libtokenring.so, the deploy files'
LD_PRELOAD selector, and the symbol versions the glibc build asks for.
Environment (set by CTest): TOKENRING_SHIM (glibc build), TOKENRING_SHIM_MUSL,
TOKENRING_CAPTURE, TC_HTTP_GLIBC, TC_HTTP_MUSL, TOKENRING_SRC.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SHIM = os.environ["TOKENRING_SHIM"]
SHIM_MUSL = os.environ["TOKENRING_SHIM_MUSL"]
CAPTURE = os.environ["TOKENRING_CAPTURE"]
TC = {"glibc": os.environ["TC_HTTP_GLIBC"], "musl": os.environ["TC_HTTP_MUSL"]}
SRC = os.environ["TOKENRING_SRC"]
SHIMS = {"glibc": SHIM, "musl": SHIM_MUSL}
TIMEOUT = 30
N = 3  # exchanges per run
OLDEST_GLIBC = (2, 17)


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENRING_", "POD_", "LD_PRELOAD"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


_seq = [0]


def ring_path():
    _seq[0] += 1
    return "/dev/shm/tokenring-containers-%d-%d" % (os.getpid(), _seq[0])


class Capture:
    """tests/tools/ring_capture owning a fresh ring (events: also print the
    event entries, as objects with "kind": "event")."""

    def __init__(self, events=False):
        self.path = ring_path()
        self.proc = subprocess.Popen([CAPTURE, "--ring", self.path] + (["--events"] if events else []),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ring_capture did not start: " + self.proc.stderr.read())
            time.sleep(0.01)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        stats = [json.loads(l)["stats"] for l in err.splitlines() if l.startswith('{"stats"')]
        if not stats:
            raise AssertionError("no stats from ring_capture: " + err)
        self.stats = stats[0]
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def lost(self):
        """Entries producers claimed but the ring skipped (a producer
        descheduled past the skip timeout under load): counted, never
        silent; the identities below account for them."""
        return self.stats["skipped"]


def run_pair(server_bin, client_bin, server_env, client_env):
    """Run tc_http server N and client PORT N; return (server, client) as
    (returncode, stdout, stderr) each."""
    srv = subprocess.Popen([server_bin, "server", str(N)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=server_env)
    first = srv.stdout.readline()
    if not first.startswith("listening on "):
        srv.kill()
        raise AssertionError("server did not start: %r %s" % (first, srv.stderr.read()))
    port = first.split()[-1]
    cli = subprocess.run([client_bin, "client", port, str(N)], capture_output=True, text=True,
                         env=client_env, timeout=TIMEOUT)
    out, err = srv.communicate(timeout=TIMEOUT)
    # the port differs from run to run: compare what it prints around it
    return ((srv.returncode, first.replace(port, "PORT") + out, err),
            (cli.returncode, cli.stdout, cli.stderr))


class MuslShimTests(unittest.TestCase):
    """The musl build in musl programs: full function, exact records."""

    def test_musl_client_and_server_records(self):
        cap = Capture()
        try:
            common = dict(LD_PRELOAD=SHIM_MUSL, TOKENRING_RING=cap.path)
            (srv, cli) = run_pair(TC["musl"], TC["musl"],
                                  base_env(TOKENRING_WORKLOAD="musl-server", **common),
                                  base_env(TOKENRING_WORKLOAD="musl-client", **common))
        finally:
            recs = cap.stop()
        self.assertEqual((0, ""), (srv[0], srv[2]))
        self.assertEqual((0, ""), (cli[0], cli[2]))
        self.assertEqual(N, len(cli[1].splitlines()))
        by_side = {"source": [], "destination": []}
        for r in recs:
            by_side[r["reporter"]].append(r)
        self.assertEqual(2 * N, len(recs), recs)
        for side, workload in (("source", "musl-client"), ("destination", "musl-server")):
            got = sorted(by_side[side], key=lambda r: r["prompt_tokens"])
            self.assertEqual(N, len(got), side)
            for i, r in enumerate(got):
                with self.subTest(side=side, i=i):
                    self.assertEqual(("POST", "/v1/chat/completions", 200),
                                     (r["method"], r["path"], r["status"]))
                    self.assertEqual(("tc-model", "tc-model"),
                                     (r["request_model"], r["response_model"]))
                    self.assertEqual((10 + i, 20 + i, 30 + 2 * i),
                                     (r["prompt_tokens"], r["completion_tokens"],
                                      r["total_tokens"]))
                    self.assertEqual((workload, "default"), (r["workload"], r["namespace"]))
                    self.assertEqual("available", r["usage_status"])
                    self.assertIn("llm", r["flag_names"])
                    self.assertNotIn("parse_error", r["flag_names"])
                    # the exact bytes each side moved
                    body = json.loads(cli[1].splitlines()[i])
                    self.assertEqual("r%d" % i, body["id"])
                    self.assertEqual(r["resp_bytes"], resp_wire_bytes(cli[1].splitlines()[i]))
                    self.assertEqual(r["req_bytes"], req_wire_bytes(r["authority"], i))


def req_wire_bytes(authority, i):
    body = ('{"model":"tc-model","messages":[{"role":"user","content":"q%d"}]}' % i)
    head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (authority, len(body)))
    return len(head) + len(body)


def resp_wire_bytes(body):
    head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    return len(head) + len(body)


class CrossLibcTests(unittest.TestCase):
    """Each build preloaded into the other C library's programs: they run
    and print exactly what they print without the shim; the shim steps
    aside (says why only with TOKENRING_DEBUG=1) and records nothing."""

    def check(self, prog_libc, shim_libc):
        plain = run_pair(TC[prog_libc], TC[prog_libc], base_env(), base_env())
        cap = Capture()
        try:
            env = base_env(LD_PRELOAD=SHIMS[shim_libc], TOKENRING_RING=cap.path)
            shimmed = run_pair(TC[prog_libc], TC[prog_libc], env, env)
        finally:
            recs = cap.stop()
        self.assertEqual(0, plain[0][0])
        self.assertEqual(plain, shimmed)
        self.assertEqual([], recs)
        # with TOKENRING_DEBUG=1 (only then) it says why
        r = subprocess.run([TC[prog_libc], "usage"], capture_output=True, text=True,
                           env=base_env(LD_PRELOAD=SHIMS[shim_libc], TOKENRING_DEBUG=1),
                           timeout=TIMEOUT)
        self.assertRegex(r.stderr, r"tokenring\[\d+\]: %s build in a (non-)?glibc process: "
                         r"stepping aside" % shim_libc)

    def test_glibc_build_in_musl_program(self):
        self.check("musl", "glibc")

    def test_musl_build_in_glibc_program(self):
        self.check("glibc", "musl")


class SelectorTests(unittest.TestCase):
    """deploy/shim-tree.sh's tree and the one LD_PRELOAD value the deploy
    files set pick the right build in each C library's programs."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tokenring-shim-tree-")
        tree = os.path.join(self.dir, "shim")
        subprocess.run([os.path.join(SRC, "deploy", "shim-tree.sh"), SHIM, SHIM_MUSL, tree],
                       check=True)
        self.preload = tree + "/$LIB/libtokenring.so"  # literally $LIB

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_each_libc_gets_its_build_and_records(self):
        for libc in ("glibc", "musl"):
            with self.subTest(libc=libc):
                cap = Capture()
                try:
                    env = base_env(LD_PRELOAD=self.preload, TOKENRING_RING=cap.path,
                                   TOKENRING_WORKLOAD="sel-" + libc)
                    srv, cli = run_pair(TC[libc], TC[libc], env, env)
                finally:
                    recs = cap.stop()
                self.assertEqual((0, ""), (cli[0], cli[2]))
                self.assertEqual((0, ""), (srv[0], srv[2]))
                self.assertEqual(2 * N, len(recs))
                self.assertEqual({"sel-" + libc}, {r["workload"] for r in recs})

    def test_debug_names_the_build_loaded(self):
        for libc in ("glibc", "musl"):
            r = subprocess.run([TC[libc], "usage"], capture_output=True, text=True,
                               env=base_env(LD_PRELOAD=self.preload, TOKENRING_DEBUG=1),
                               timeout=TIMEOUT)
            self.assertRegex(r.stderr, r"tokenring\[\d+\]: active")
            self.assertNotIn("stepping aside", r.stderr)
            self.assertNotIn("ld.so", r.stderr)


class DeepbindTests(unittest.TestCase):
    """Libraries opened with RTLD_DEEPBIND have their calls seen, and bind
    every other name as they would without the shim."""

    def exchange(self, cmd, shim, workload):
        """Run cmd (given the server's port) against a plain tc_http
        server; return (returncode, stdout, stderr, records)."""
        cap = Capture() if shim else None
        srv = subprocess.Popen([TC["glibc"], "server", str(N)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=base_env())
        try:
            port = srv.stdout.readline().split()[-1]
            env = base_env(LD_PRELOAD=SHIM, TOKENRING_RING=cap.path,
                           TOKENRING_WORKLOAD=workload) if shim else base_env()
            r = subprocess.run(cmd(port), capture_output=True, text=True, env=env,
                               timeout=TIMEOUT)
            srv.communicate(timeout=TIMEOUT)
        finally:
            if srv.poll() is None:
                srv.kill()
            recs = cap.stop() if cap else []
        return r.returncode, r.stdout, r.stderr, recs

    def check_records(self, recs, workload, request_model):
        self.assertEqual(N, len(recs), recs)
        for i, r in enumerate(sorted(recs, key=lambda r: r["prompt_tokens"])):
            with self.subTest(i=i):
                self.assertEqual(("source", workload), (r["reporter"], r["workload"]))
                self.assertEqual(("POST", "/v1/chat/completions", 200),
                                 (r["method"], r["path"], r["status"]))
                self.assertEqual((request_model, "tc-model"),
                                 (r["request_model"], r["response_model"]))
                self.assertEqual((10 + i, 20 + i), (r["prompt_tokens"], r["completion_tokens"]))

    def test_php_curl_exec_counted_exactly(self):
        php = os.environ["TC_PHP"]
        mods = subprocess.run([php, "-m"], capture_output=True, text=True).stdout.split()
        self.assertIn("curl", mods, "php-curl is not installed (scripts/apt/containers.txt)")
        script = os.path.join(SRC, "tests", "containers", "tc_chat.php")
        cmd = lambda port: [php, script, port, str(N)]
        plain = self.exchange(cmd, False, "")
        shimmed = self.exchange(cmd, True, "php-chat")
        self.assertEqual((0, ""), (plain[0], plain[2]))
        self.assertEqual(plain[:3], shimmed[:3])
        self.check_records(shimmed[3], "php-chat", "php-model")

    def test_deep_bound_library_seen_other_names_unchanged(self):
        cmd = lambda port: [os.environ["TC_DEEP_MAIN"], os.environ["TC_DEEP_DIR"], port, str(N)]
        plain = self.exchange(cmd, False, "")
        shimmed = self.exchange(cmd, True, "deep")
        self.assertEqual((0, ""), (plain[0], plain[2]))
        self.assertTrue(plain[1].startswith("who=b\n"), plain[1])  # deep binding at work
        self.assertEqual(plain[:3], shimmed[:3])
        self.check_records(shimmed[3], "deep", "tc-model")


PY = "/usr/bin/python3"
HERE = os.path.join(SRC, "tests", "containers")
TLS_SERVER = os.path.join(HERE, "tc_tls_server.py")
MANY_PAIRS = 2100  # both ends of each take a slot: 2 * 2100 - 4096 find the table full
FDT_SLOTS = 4096


def read_port(proc):
    first = proc.stdout.readline()
    if not first.startswith("listening on "):
        proc.kill()
        raise AssertionError("server did not start: %r %s" % (first, proc.stderr.read()))
    return first.split()[-1]


class CoverTests(unittest.TestCase):
    """What cannot be read is said: TLS no hook saw (Node's bundled OpenSSL,
    Java's JSSE) as opaque connections with their SNI and exact bytes, a Go
    binary as unreadable, connections past the slot table as untracked;
    never an LLM record invented. Then the same through tokenringd's
    /metrics."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tokenring-cover-")
        cls.cert, cls.key = os.path.join(cls.tmp, "cert.pem"), os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        cls.key, "-out", cls.cert, "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def node_cmd(self, port):
        return [os.environ["TC_NODE"], os.path.join(HERE, "tc_node_https.mjs"), port, str(N),
                "api.openai.test"]

    def java_cmd(self, port):
        return [os.environ["TC_JAVA"], "-Djdk.internal.httpclient.disableHostnameVerification=true",
                os.path.join(HERE, "TcJavaHttps.java"), port, str(N)]

    def run_tls(self, cmd, env):
        """cmd(port) against tc_tls_server.py: (client result, server's
        per-connection lines)."""
        srv = subprocess.Popen([PY, TLS_SERVER, self.cert, self.key, str(N)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=base_env())
        try:
            port = read_port(srv)
            r = subprocess.run(cmd(port), capture_output=True, text=True, env=env,
                               timeout=120)
            out, err = srv.communicate(timeout=TIMEOUT)
        finally:
            if srv.poll() is None:
                srv.kill()
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual(N, len(r.stdout.splitlines()), r.stdout)
        return r, [json.loads(l) for l in out.splitlines()], int(port)

    def opaque(self, cmd, workload, sni):
        cap = Capture(events=True)
        try:
            r, conns, port = self.run_tls(cmd, base_env(LD_PRELOAD=SHIM, TOKENRING_RING=cap.path,
                                                        TOKENRING_WORKLOAD=workload))
        finally:
            entries = cap.stop()
        events = [e for e in entries if e.get("kind") == "event"]
        self.assertEqual([], [e for e in entries if e.get("kind") != "event"],
                         "no LLM record may be invented from ciphertext")
        # one entry per connection: delivered, or counted as skipped
        self.assertEqual(N, len(events) + cap.lost(), events)
        self.assertEqual([sni] * N, [c["sni"] for c in conns])  # what the server was sent
        for e in events:
            self.assertEqual(("opaque_tls", "source", workload, sni),
                             (e["type"], e["reporter"], e["workload"], e["sni"]))
            self.assertEqual("127.0.0.1:%d" % port, e["peer"])
            self.assertEqual(1, e["count"])
        # the exact bytes each way, connection by connection (the server
        # counted every byte on its socket)
        server = sorted((c["raw_in"], c["raw_out"]) for c in conns)
        for e in events:
            server.remove((e["bytes_sent"], e["bytes_received"]))  # ValueError: no such connection
        self.assertEqual(cap.lost(), len(server))
        return events

    def test_node_https_is_opaque_with_sni_and_bytes(self):
        self.opaque(self.node_cmd, "cover-node", "api.openai.test")

    def test_java_httpclient_is_opaque_with_sni_and_bytes(self):
        self.opaque(self.java_cmd, "cover-java", "localhost")

    def go_run(self, env):
        srv = subprocess.Popen([TC["glibc"], "server", str(N)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=base_env())
        try:
            port = read_port(srv)
            r = subprocess.run([os.environ["TC_GO_CLIENT"], port, str(N)], capture_output=True,
                               text=True, env=env, timeout=TIMEOUT)
            srv.communicate(timeout=TIMEOUT)
        finally:
            if srv.poll() is None:
                srv.kill()
        self.assertEqual((0, ""), (r.returncode, r.stderr))
        self.assertEqual(N, len(r.stdout.splitlines()))

    def test_go_binary_reported_unreadable_once(self):
        out = subprocess.run(["readelf", "-d", os.environ["TC_GO_CLIENT"]], capture_output=True,
                             text=True).stdout
        self.assertIn("libc.so.6", out, "the Go client must be linked with cgo (dynamically)")
        cap = Capture(events=True)
        try:
            self.go_run(base_env(LD_PRELOAD=SHIM, TOKENRING_RING=cap.path,
                                 TOKENRING_WORKLOAD="cover-go"))
        finally:
            entries = cap.stop()
        self.assertEqual([("event", "unreadable", "go", "cover-go")] * (1 - cap.lost()),
                         [(e.get("kind"), e.get("type"), e.get("reason"), e["workload"])
                          for e in entries])

    def many_run(self, env):
        r = subprocess.run([os.environ["TC_MANY"], str(MANY_PAIRS)], capture_output=True,
                           text=True, env=env, timeout=120)
        self.assertEqual((0, "%d pairs\n" % MANY_PAIRS), (r.returncode, r.stdout), r.stderr)

    def test_connections_past_the_slot_table_counted(self):
        cap = Capture(events=True)
        try:
            self.many_run(base_env(LD_PRELOAD=SHIM, TOKENRING_RING=cap.path,
                                   TOKENRING_WORKLOAD="cover-many"))
        finally:
            entries = cap.stop()
        want = 2 * MANY_PAIRS - FDT_SLOTS - cap.lost()
        self.assertEqual([("event", "untracked", "slots_full", "cover-many")] * want,
                         [(e.get("kind"), e.get("type"), e.get("reason"), e["workload"])
                          for e in entries])

    def test_daemon_metrics(self):
        import urllib.request
        ring = ring_path()
        with socket_port() as port:
            pass
        d = subprocess.Popen([os.environ["TOKENRINGD"], "--ring", ring, "--listen",
                              "127.0.0.1:%d" % port, "--access-log", "off", "--summary-log", "off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ring):
                self.assertIsNone(d.poll(), "tokenringd exited")
                self.assertLess(time.monotonic(), deadline, "tokenringd did not start")
                time.sleep(0.01)
            env = lambda w: base_env(LD_PRELOAD=SHIM, TOKENRING_RING=ring,
                                     TOKENRING_WORKLOAD=w, TOKENRING_NAMESPACE="cover")
            _, conns, _ = self.run_tls(self.node_cmd, env("cover-node"))
            self.go_run(env("cover-go"))
            self.many_run(env("cover-many"))
            url = "http://127.0.0.1:%d/metrics" % port
            while True:  # the daemon may still be binding its port
                try:
                    body = urllib.request.urlopen(url, timeout=10).read().decode()
                    break
                except OSError:
                    self.assertLess(time.monotonic(), deadline + 20)
                    time.sleep(0.05)
        finally:
            d.terminate()
            d.communicate(timeout=TIMEOUT)
        lab = 'source_workload="%s",source_namespace="cover"'
        want = {
            'tokenring_opaque_connections_total{%s,sni="api.openai.test"}' % (lab % "cover-node"): N,
            'tokenring_opaque_bytes_total{%s,sni="api.openai.test",direction="sent"}'
            % (lab % "cover-node"): sum(c["raw_in"] for c in conns),
            'tokenring_opaque_bytes_total{%s,sni="api.openai.test",direction="received"}'
            % (lab % "cover-node"): sum(c["raw_out"] for c in conns),
            'tokenring_unreadable_processes_total{%s,reason="go"}' % (lab % "cover-go"): 1,
            'tokenring_untracked_connections_total{%s,reason="slots_full"}'
            % (lab % "cover-many"): 2 * MANY_PAIRS - FDT_SLOTS,
        }
        got, skipped = {}, None
        for line in body.splitlines():
            if line.startswith(("tokenring_opaque_", "tokenring_unreadable_", "tokenring_untracked_")):
                name, value = line.rsplit(" ", 1)
                got[name] = int(value)
            elif line.startswith("tokenring_ring_skipped_total "):
                skipped = int(line.split()[1])
        self.assertIsNotNone(skipped, "tokenring_ring_skipped_total missing")
        if skipped == 0:
            self.assertEqual(want, got)
        else:  # under load: every entry delivered or counted as skipped
            entries = lambda d: sum(v for k, v in d.items() if "_bytes_" not in k)
            self.assertEqual(set(want), set(got))
            self.assertEqual(entries(want), entries(got) + skipped)
        # and the whole exposition stays valid
        chk = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                             text=True)
        self.assertNotIn("error", (chk.stdout + chk.stderr).lower(), chk.stdout + chk.stderr)


class socket_port:
    """A free loopback port (bound, then released)."""

    def __enter__(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc):
        return False


def glibc_version(v):
    return tuple(int(x) for x in v.split("."))


def dynamic_symbols(lib):
    """[(name, version or None, undefined, weak)] from objdump -T."""
    out = subprocess.run(["objdump", "-T", lib], capture_output=True, text=True,
                         check=True).stdout
    syms = []
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ (.{7}) (\S+)\s+[0-9a-f]+\s+(?:\(?([\w.]+)\)?\s+)?(\S+)$", line)
        if m:
            flags, section, version, name = m.groups()
            syms.append((name, version if version and version != "Base" else None,
                         section == "*UND*", "w" in flags))
    return syms


def needed(lib):
    out = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


class SymbolVersionTests(unittest.TestCase):
    """The glibc build loads on glibc 2.17 and newer; the musl build asks a
    glibc loader for nothing it lacks."""

    def test_glibc_build_requires_nothing_newer_than_2_17(self):
        out = subprocess.run(["readelf", "-V", SHIM], capture_output=True, text=True,
                             check=True).stdout
        required = set(re.findall(r"Name: (GLIBC_[\d.]+)", out))
        self.assertTrue(required, out)  # it does ask for versions
        for v in sorted(required):
            self.assertLessEqual(glibc_version(v[len("GLIBC_"):]), OLDEST_GLIBC, v)
        for name, version, undef, _ in dynamic_symbols(SHIM):
            if undef and version and version.startswith("GLIBC_"):
                self.assertLessEqual(glibc_version(version[6:]), OLDEST_GLIBC,
                                     "%s@%s" % (name, version))
        self.assertEqual({"libc.so.6", "libdl.so.2"}, set(needed(SHIM)))

    def test_musl_build_loads_under_any_glibc(self):
        self.assertEqual([], needed(SHIM_MUSL))
        libc = subprocess.run(["ldd", "/bin/true"], capture_output=True, text=True).stdout
        libc = re.search(r"libc\.so\.6 => (\S+)", libc).group(1)
        oldest = {}  # name -> oldest version glibc defines it at
        for name, version, undef, _ in dynamic_symbols(libc):
            if not undef and version and version.startswith("GLIBC_2"):
                v = glibc_version(version[6:])
                oldest[name] = min(oldest.get(name, v), v)
        for name, version, undef, weak in dynamic_symbols(SHIM_MUSL):
            if undef and not weak:
                with self.subTest(symbol=name):
                    self.assertIn(name, oldest, "glibc has no %s" % name)
                    self.assertLessEqual(oldest[name], OLDEST_GLIBC, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
