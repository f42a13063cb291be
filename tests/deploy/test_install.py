#!/usr/bin/python3
"""test_install.py - `cmake --install` of this build into a temporary
prefix gives the layout a package ships (bin/tokenringd,
LIBDIR/libtokenring.so, share/tokenring/dashboards/), and the installed
files work together: the installed tokenringd counts, exactly, a request
made by curl with the installed shim preloaded.

Environment (CTest sets it): TOKENRING_BUILD_DIR, TOKENRING_SRC,
TOKENRING_LIBDIR (CMAKE_INSTALL_LIBDIR of this build).
"""
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)

BUILD = os.environ["TOKENRING_BUILD_DIR"]
LIBDIR = os.environ["TOKENRING_LIBDIR"]


class TestInstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tokenring-install-")
        self.prefix = os.path.join(self.tmp, "prefix")
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", self.prefix],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_layout_is_a_package_layout(self):
        files = sorted(os.path.relpath(os.path.join(d, f), self.prefix)
                       for d, _, names in os.walk(self.prefix) for f in names)
        self.assertEqual(files, sorted([
            "bin/tokenringd",
            os.path.join(LIBDIR, "libtokenring.so"),
            "share/tokenring/dashboards/README.md",
            "share/tokenring/dashboards/tokenring.json"]))
        self.assertTrue(os.access(os.path.join(self.prefix, "bin/tokenringd"), os.X_OK))
        for f in ("README.md", "tokenring.json"):
            self.assertTrue(filecmp.cmp(os.path.join(tt.SRC, "dashboards", f),
                                        os.path.join(self.prefix, "share/tokenring/dashboards", f),
                                        shallow=False), f)
        with open(os.path.join(self.prefix, "share/tokenring/dashboards/tokenring.json")) as f:
            self.assertIn("panels", json.load(f))  # a Grafana dashboard, whole

    def test_installed_daemon_counts_a_request_of_the_installed_shim(self):
        os.environ["TOKENRINGD"] = os.path.join(self.prefix, "bin/tokenringd")
        d = tt.Daemon(self.tmp)
        server_log = os.path.join(self.tmp, "server.jsonl")
        server = subprocess.Popen([tt.PY, os.path.join(tt.SRC, "demo", "llm_server.py"),
                                   "--port", "0", "--log", server_log],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=tt.clean_env())
        try:
            port = int(server.stdout.readline().split()[-1])
            env = tt.clean_env(LD_PRELOAD=os.path.join(self.prefix, LIBDIR, "libtokenring.so"),
                               TOKENRING_RING=d.ring, TOKENRING_WORKLOAD="installed")
            for _ in range(3):
                r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H",
                                    "Content-Type: application/json", "--data",
                                    json.dumps({"model": "install-check", "messages": [
                                        {"role": "user", "content": "one two"}]}),
                                    "http://127.0.0.1:%d/v1/chat/completions" % port],
                                   env=env, capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")  # the shim never prints
        finally:
            server.terminate()
            server.wait(timeout=30)
            server.stdout.close()

        def counted():
            m = tt.Metrics(d.metrics_text())
            return m.by("tokenring_requests_total", "source_workload",
                        model="install-check") == {"installed": 3}
        tt.wait_for(counted, what="3 requests from the installed shim")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    tt.main()
