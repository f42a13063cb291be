#!/usr/bin/python3
"""Memory of the shim and of tokenringd, for bench/run.py.

shim: a Python client makes 40 LLM requests (plain and streamed) to the
demo server, then reports its own private resident memory (RssAnon +
RssFile, i.e. without the ring mapping, which is RssShmem); run with and
without LD_PRELOAD, the difference is what the shim costs per process.
daemon: tokenringd with --max-series 10000, VmRSS/VmData at start and after
20 000 distinct model names (twice the bound) were written into its ring.
Prints one JSON object of KiB values."""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"

CLIENT = r'''
import http.client, json, sys
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(40):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}],
            "stream": i % 2 == 1, "stream_options": {"include_usage": True}}
    c.request("POST", "/v1/chat/completions", json.dumps(body),
              {"Content-Type": "application/json"})
    c.getresponse().read()
kib = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    if k in ("RssAnon", "RssFile", "RssShmem"):
        kib[k] = int(v.split()[0])
print(json.dumps(kib))
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def wait_http(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("no answer from " + url)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--writer", help="ring_writer (tests/aggregator), for the daemon part")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tokenring-mem-")
    ring = "/dev/shm/tokenring-mem-%d" % os.getpid()
    port = free_port()
    daemon = subprocess.Popen([args.daemon, "--ring", ring, "--listen", "127.0.0.1:%d" % port,
                               "--max-series", "10000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([PY, os.path.join(ROOT, "demo", "llm_server.py"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = {}
    try:
        wait_http("http://127.0.0.1:%d/healthz" % port)
        sport = int(server.stdout.readline().split()[-1])
        out["daemon_rss_at_start_kib"] = status_kib(daemon.pid, "VmRSS")
        out["daemon_data_at_start_kib"] = status_kib(daemon.pid, "VmData")
        runs = {}
        for name, env in (("plain", {}), ("shim", {"LD_PRELOAD": args.shim})):
            e = dict(os.environ, TOKENRING_RING=ring, **env)
            r = subprocess.run([PY, "-c", CLIENT, str(sport)], env=e, check=True,
                               capture_output=True, text=True)
            runs[name] = json.loads(r.stdout)
        private = lambda k: runs[k]["RssAnon"] + runs[k]["RssFile"]
        out["client_private_rss_without_shim_kib"] = private("plain")
        out["client_private_rss_with_shim_kib"] = private("shim")
        out["shim_private_rss_added_kib"] = private("shim") - private("plain")
        out["ring_mapping_resident_in_client_kib"] = runs["shim"]["RssShmem"]
        writer = args.writer or os.path.join(os.path.dirname(args.daemon), "..", "tests",
                                             "aggregator", "ring_writer")
        if os.path.exists(writer):
            lines = "".join(json.dumps({"model": "model-%05d" % i}) + "\n" for i in range(20000))
            subprocess.run([writer, "--ring", ring], input=lines, text=True, check=True,
                           capture_output=True)
            time.sleep(0.5)
            out["daemon_rss_after_20k_series_kib"] = status_kib(daemon.pid, "VmRSS")
            out["daemon_data_after_20k_series_kib"] = status_kib(daemon.pid, "VmData")
    finally:
        for p in (server, daemon):
            p.send_signal(signal.SIGTERM)
            p.wait(10)
        if os.path.exists(ring):
            os.unlink(ring)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
