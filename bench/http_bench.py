#!/usr/bin/python3
"""Per-request cost on real HTTP, four ways side by side in one run:
no shim; shim in the client (wrk); shim in the server (nginx); one nginx
reverse-proxy hop with a JSON access log (what a sidecar user pays).

wrk drives a keep-alive loopback load (one connection, so latency is per
request) against an LLM-shaped nginx upstream. tokenringd drains the ring
and writes its access log in the shim runs, and its CPU time is counted.
Modes are interleaved over the repeats so drift hits all of them alike.
Prints a markdown table: median over repeats (min-max), ratios vs no shim,
and the shim's added p50 next to the proxy hop's."""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpload import nginx  # noqa: E402  (bench/httpload/nginx.py)

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d did not open" % port)


def cpu_seconds(pid):
    """utime + stime of a live process, from /proc (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def parse_wrk(out):
    def dur(v, unit):
        return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    p = {}
    for pct, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        p[pct] = dur(v, unit)
    return rps, reqs, p["50"], p["99"]


class Stack:
    """nginx upstream (+ proxy) and tokenringd, in a temp dir."""

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.procs = {}
        self.ring = os.path.join("/dev/shm", "tokenring-bench-%d" % os.getpid())
        self.static = os.path.join(tmp, "static")
        os.makedirs(os.path.join(self.static, "size"), exist_ok=True)
        for d in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(tmp, d), exist_ok=True)

    def env(self, shim):
        e = dict(os.environ)
        e["TOKENRING_RING"] = self.ring
        if shim:
            e["LD_PRELOAD"] = self.args.shim
        return e

    def start_daemon(self):
        if not self.args.daemon:
            return
        self.daemon_port = free_port()
        p = subprocess.Popen([self.args.daemon, "--ring", self.ring, "--listen",
                              "127.0.0.1:%d" % self.daemon_port, "--access-log",
                              os.path.join(self.tmp, "tokenring-access.log"),
                              "--summary-log", "off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs["daemon"] = p
        wait_port(self.daemon_port)

    def start_nginx(self, name, conf, shim):
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            f.write(conf)
        p = subprocess.Popen(["nginx", "-p", self.tmp, "-c", path], env=self.env(shim),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs[name] = p

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p:
            p.send_signal(signal.SIGTERM if name == "daemon" else signal.SIGQUIT)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)
        if os.path.exists(self.ring):
            os.unlink(self.ring)

    def recorded(self):
        """Sum of tokenring_requests_total the daemon reports."""
        if "daemon" not in self.procs:
            return None
        url = "http://127.0.0.1:%d/metrics" % self.daemon_port
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("tokenring_requests_total{"))


def run_once(stack, mode, args, path="/v1/chat/completions"):
    up, px = free_port(), free_port()
    shim_server = mode == "shim in server"
    stack.start_nginx("upstream", nginx.upstream(stack.tmp, up, stack.static), shim_server)
    wait_port(up)
    port = up
    if mode == "nginx proxy hop":
        stack.start_nginx("proxy", nginx.proxy(stack.tmp, px, up), False)
        wait_port(px)
        port = px
    watched = [stack.procs[n].pid for n in ("upstream", "proxy", "daemon") if n in stack.procs]
    before_rec = stack.recorded() if mode.startswith("shim") else None
    cpu0 = sum(cpu_seconds(p) for p in watched)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = ["wrk", "-t1", "-c1", "-d%gs" % args.duration, "--latency", "-s",
           os.path.join(HERE, "httpload", "post_chat.lua"), "http://127.0.0.1:%d%s" % (port, path)]
    out = subprocess.run(cmd, env=stack.env(mode == "shim in client"), check=True,
                         capture_output=True, text=True).stdout
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.05)  # let the daemon drain its last tick
    cpu1 = sum(cpu_seconds(p) for p in watched)
    rps, reqs, p50, p99 = parse_wrk(out)
    wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    rec = None
    if before_rec is not None:
        rec = stack.recorded() - before_rec
    stack.stop("proxy")
    stack.stop("upstream")
    return {"rps": rps, "reqs": reqs, "p50": p50, "p99": p99,
            "cpu_us": (cpu1 - cpu0 + wrk_cpu) / reqs * 1e6, "recorded": rec}


def fmt(vals, unit=""):
    med = statistics.median(vals)
    return "%.2f%s (%.2f-%.2f)" % (med, unit, min(vals), max(vals)), med


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shim", help="path to libtokenring.so")
    ap.add_argument("--daemon", help="path to tokenringd")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=0,
                    help="response body bytes (padded chat completion); 0 = small fixed body")
    ap.add_argument("--sse", action="store_true",
                    help="with --size: an SSE stream of that size instead of one JSON body")
    ap.add_argument("--modes", help="comma-separated subset of the modes")
    ap.add_argument("--json", action="store_true", help="print raw results as JSON")
    ap.add_argument("--json-out", help="also write the raw results as JSON to this file")
    args = ap.parse_args()
    modes = ["no shim", "nginx proxy hop"]
    if args.shim and args.daemon:
        modes[1:1] = ["shim in client", "shim in server"]
    if args.modes:
        modes = [m for m in modes if m in args.modes.split(",")]
    tmp = tempfile.mkdtemp(prefix="tokenring-bench-")
    stack = Stack(args, tmp)
    path = "/v1/chat/completions"
    if args.size and args.sse:
        path = "/sse/%d.txt" % args.size
        os.makedirs(os.path.join(stack.static, "sse"), exist_ok=True)
        with open(os.path.join(stack.static, "sse", "%d.txt" % args.size), "w") as f:
            f.write(nginx.sized_sse(args.size))
    elif args.size:
        path = "/size/%d.json" % args.size
        with open(os.path.join(stack.static, "size", "%d.json" % args.size), "w") as f:
            f.write(nginx.sized_body(args.size))
    res = {m: [] for m in modes}
    try:
        stack.start_daemon()
        for _ in range(args.repeats):
            for m in modes:
                res[m].append(run_once(stack, m, args, path))
    finally:
        stack.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(res, f)
    if args.json:
        json.dump(res, sys.stdout)
        print()
        return
    base50 = statistics.median(r["p50"] for r in res["no shim"])
    base_cpu = statistics.median(r["cpu_us"] for r in res["no shim"])
    proxy_added = (statistics.median(r["p50"] for r in res["nginx proxy hop"]) - base50
                   if "nginx proxy hop" in res else float("nan"))
    print("wrk -t1 -c1 keep-alive POST %s over loopback, %gs x %d repeats; "
          "median (min-max)\n" % (path, args.duration, args.repeats))
    print("| mode | req/s | p50 µs | p99 µs | CPU µs/req (all processes) | added p50 µs | "
          "proxy hop added / this added | recorded by tokenringd |")
    print("|---|---|---|---|---|---|---|---|")
    for m in modes:
        rs = res[m]
        rps, _ = fmt([r["rps"] for r in rs])
        p50s, p50 = fmt([r["p50"] for r in rs])
        p99s, _ = fmt([r["p99"] for r in rs])
        cpus, cpu = fmt([r["cpu_us"] for r in rs])
        added = p50 - base50
        ratio = "-" if not m.startswith("shim") or added <= 0 else "%.1f" % (proxy_added / added)
        if m.startswith("shim") and added <= 0:
            ratio = "not measurable (added <= 0)"
        rec = "-" if rs[0]["recorded"] is None else "%d of %d" % (
            sum(r["recorded"] for r in rs), sum(r["reqs"] for r in rs))
        print("| %s | %s | %s | %s | %s (x%.2f) | %+.2f | %s | %s |" % (
            m, rps, p50s, p99s, cpus, cpu / base_cpu, added, ratio, rec))


if __name__ == "__main__":
    main()
