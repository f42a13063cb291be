#!/usr/bin/python3
"""icount.py - instructions per unit of work, counted, not timed.

A workload runs twice, over N and over 2N units (records, exchanges,
events); the counted process's instructions are read from valgrind's
callgrind (or `perf stat -e instructions:u` where the kernel exposes it:
`--counter perf`), and

    per unit = (instructions(2N) - instructions(N)) / N

so start-up, set-up and exit cancel out. Counts are repeatable on a busy
or a quiet machine alike. With callgrind the same difference is taken per
function (self cost), which says where a unit's instructions go.

    bench/icount.py [--build DIR] [--quick] [--json FILE] [TARGET ...]

Targets are entries of TARGETS: a class with `unit`, `budget` (instructions
per unit, or None) and `run(counter, n, tmp)`, which sets the workload up
for n units, runs the process to be counted through `counter` and returns
counter's result. The shim's per-exchange workloads (reference LLM
exchange, SSE stream, non-LLM GET) are meant to be added the same way: a
client process run under the counter with LD_PRELOAD, once over N and
once over 2N exchanges.
"""
import argparse
import json
import mmap
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "shm"))
import ring_layout  # noqa: E402  (offsets checked against shm/ring.h by a test)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("icount: timed out waiting for " + what)


class Callgrind:
    """Run argv under callgrind; total and per-function self instructions."""
    name = "callgrind"

    def __init__(self, tmp):
        self.tmp = tmp
        self.runs = 0

    def __call__(self, argv, drive=None, stdout=subprocess.DEVNULL):
        self.runs += 1
        out = os.path.join(self.tmp, "callgrind.%d.out" % self.runs)
        err = open(os.path.join(self.tmp, "callgrind.%d.err" % self.runs), "w+")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                 "--dump-instr=no", "--compress-strings=no"] + argv,
                                stdout=stdout, stderr=err)
        try:
            if drive:
                drive(proc, err)
            rc = proc.wait(timeout=3600)
        finally:
            if proc.poll() is None:
                proc.kill()
            err.close()
        if rc != 0:
            with open(err.name) as f:
                raise RuntimeError("icount: %s exited %d: %s" % (argv[0], rc, f.read()[-2000:]))
        return self.parse(out)

    @staticmethod
    def parse(path):
        """(total, {function: self instructions}) from a callgrind output: a
        cost line right after `calls=` is the callee's inclusive cost, charged
        to the call, not to the caller's own instructions."""
        funcs, total, fn, after_call = {}, None, None, False
        with open(path) as f:
            for line in f:
                if line.startswith("fn="):
                    fn = re.sub(r"^\(\d+\) ?", "", line[3:].strip())
                elif line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
                elif line.startswith("calls="):
                    after_call = True
                elif fn and line[:1] in "0123456789+-*":
                    parts = line.split()
                    if not after_call and len(parts) >= 2:
                        funcs[fn] = funcs.get(fn, 0) + int(parts[1])
                    after_call = False
        return total, funcs


class Perf:
    """Run argv under perf stat; total user-space instructions only."""
    name = "perf"

    def __init__(self, tmp):
        self.tmp = tmp

    @staticmethod
    def available():
        r = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", "true"],
                           capture_output=True, text=True)
        return r.returncode == 0 and "<not supported>" not in r.stderr

    def __call__(self, argv, drive=None, stdout=subprocess.DEVNULL):
        out = os.path.join(self.tmp, "perf.out")
        err = open(os.path.join(self.tmp, "perf.err"), "w+")
        proc = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions:u", "-o", out,
                                 "--"] + argv, stdout=stdout, stderr=err)
        if drive:
            drive(proc, err)
        if proc.wait(timeout=3600) != 0:
            raise RuntimeError("icount: %s failed" % argv[0])
        err.close()
        with open(out) as f:
            for line in f:
                if "instructions" in line:
                    return int(line.split(",")[0]), {}
        raise RuntimeError("icount: no instruction count in " + out)


class DaemonRecords:
    """tokenringd per record: a ring pre-filled with N reference records
    (an SDK-shaped chat completion as the shim records it: model, tokens,
    request id, trace, user agent, addresses) is adopted by tokenringd under
    the counter, which drains it; once the ring's head reaches its tail the
    daemon is stopped (SIGTERM: drain, flush, exit 0). The drain tick is set
    to a second so idle ticks add nothing that grows with N."""
    unit = "record"

    def __init__(self, build, access_log, daemon=None):
        self.daemon = daemon or os.path.join(build, "aggregator", "tokenringd")
        self.writer = os.path.join(build, "tests", "aggregator", "ring_writer")
        self.access_log = access_log
        self.budget = 3000 if access_log else 600
        self.name = "tokenringd, access log %s" % ("on" if access_log else "off")

    def spec(self, n):
        return {"count": n, "model": "gpt-4o-mini", "response_model": "gpt-4o-mini-2024-07-18",
                "status": 200, "prompt_tokens": 23, "completion_tokens": 9,
                "total_tokens": 32, "duration_ms": 412, "ttfb_ms": 411, "req_bytes": 930,
                "resp_bytes": 1021, "provider": "openai", "operation": "chat",
                "method": "POST", "path": "/v1/chat/completions",
                "authority": "api.openai.com", "request_id": "req_8c1f0e5a9b7d4c2e",
                "user_agent": "OpenAI/Python 1.54.4", "local": "10.0.3.17:40512",
                "peer": "10.0.0.9:443",
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}

    def specs(self, n):
        """ring_writer's input: JSON lines, one spec each."""
        return json.dumps(self.spec(n)) + "\n"

    def base_args(self, ring, cap):
        return ["--ring", ring, "--ring-capacity", str(cap), "--listen", "127.0.0.1:0",
                "--summary-log", "off", "--tick-us", "1000000"]

    def run(self, counter, n, tmp):
        ring = os.path.join(tmp, "ring")
        log = os.path.join(tmp, "access.log")
        for p in (ring, log):
            if os.path.exists(p):
                os.unlink(p)
        cap = 1
        while cap < n:
            cap *= 2
        # the daemon creates the ring (natively), the writer fills it
        d = subprocess.Popen([self.daemon, "--access-log", "off"] + self.base_args(ring, cap),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: os.path.exists(ring), 30, "the ring file")
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        w = subprocess.run([self.writer, "--ring", ring, "--workload", "agent",
                            "--namespace", "prod"], input=self.specs(n),
                           capture_output=True, text=True, timeout=600)
        if w.returncode != 0 or w.stdout.split()[1] != str(n):
            raise RuntimeError("icount: ring_writer: " + w.stdout + w.stderr)

        def drive(proc, err):
            with open(ring, "r+b") as f:
                m = mmap.mmap(f.fileno(), ring_layout.CONTROL_SIZE)

            def drained():
                if proc.poll() is not None:
                    raise RuntimeError("icount: tokenringd exited early")
                return ring_layout.u64(m, "head") == ring_layout.u64(m, "tail") == n
            wait_for(drained, 3600, "tokenringd to drain the ring")
            m.close()
            proc.send_signal(signal.SIGTERM)

        args = ["--access-log", log if self.access_log else "off"]
        result = counter([self.daemon] + args + self.base_args(ring, cap), drive)
        if self.access_log:
            with open(log, "rb") as f:
                lines = f.read().count(b"\n")
            if lines != n:
                raise RuntimeError("icount: %d access log lines for %d records" % (lines, n))
        return result


class DaemonInterleaved(DaemonRecords):
    """tokenringd per record when no two records in a row share a tuple:
    the reference record under four models in turn, so each record finds
    its series through the tuple cache rather than the run shortcut (the
    worst case of the batch path short of new series). Access log off."""

    def __init__(self, build, daemon=None):
        super().__init__(build, access_log=False, daemon=daemon)
        self.budget = None
        self.name = "tokenringd, access log off, 4 tuples interleaved"

    def specs(self, n):
        models = ("gpt-4o-mini", "gpt-4o", "o3-mini", "gpt-4.1-nano")
        lines = []
        for i in range(n):
            spec = dict(self.spec(1), model=models[i % len(models)])
            lines.append(json.dumps(spec))
        return "\n".join(lines) + "\n"


class RingPublish:
    """The producer's side of the ring contract, per record: ring_writer
    publishes N copies of one record (no request id, so no formatting per
    record) into a ring tokenringd created, under the counter. The
    per-function rows that matter are ring_publish, ring_claim and the
    checksum: what the shim pays for each record it hands over."""
    unit = "record"
    budget = None
    name = "ring_publish (producer)"

    def __init__(self, build, daemon=None):
        self.daemon = daemon or os.path.join(build, "aggregator", "tokenringd")
        self.writer = os.path.join(build, "tests", "aggregator", "ring_writer")

    def run(self, counter, n, tmp):
        ring = os.path.join(tmp, "ring")
        if os.path.exists(ring):
            os.unlink(ring)
        cap = 1
        while cap < n:
            cap *= 2
        d = subprocess.Popen([self.daemon, "--ring", ring, "--ring-capacity", str(cap),
                              "--listen", "127.0.0.1:0", "--access-log", "off",
                              "--summary-log", "off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(ring), 30, "the ring file")
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        spec = dict(DaemonRecords.spec(None, n), request_id="")
        argv = [self.writer, "--ring", ring, "--workload", "agent", "--namespace", "prod",
                "--json", json.dumps(spec)]
        return counter(argv)


def measure(target, counter, n, tmp):
    t1, f1 = target.run(counter, n, tmp)
    t2, f2 = target.run(counter, 2 * n, tmp)
    per = (t2 - t1) / n
    funcs = sorted(((f2.get(k, 0) - f1.get(k, 0)) / n, k) for k in set(f1) | set(f2))
    funcs = [(round(v, 1), k) for v, k in reversed(funcs) if v >= 1]
    return {"target": target.name, "unit": target.unit, "n": n, "instructions_n": t1,
            "instructions_2n": t2, "per_unit": round(per, 1), "budget": target.budget,
            "functions": funcs[:15], "counter": counter.name}


def targets(build, daemon=None):
    return [DaemonRecords(build, access_log=True, daemon=daemon),
            DaemonRecords(build, access_log=False, daemon=daemon),
            DaemonInterleaved(build, daemon=daemon),
            RingPublish(build, daemon=daemon)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--quick", action="store_true", help="small N: proves the harness")
    ap.add_argument("-n", type=int, default=0, help="units in the first run")
    ap.add_argument("--counter", choices=["callgrind", "perf"], default="callgrind")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--daemon", help="count this tokenringd (e.g. an older build) instead")
    ap.add_argument("only", nargs="*", help="substrings of target names")
    args = ap.parse_args()
    n = args.n or (200 if args.quick else 20000)
    tmp = tempfile.mkdtemp(prefix="icount-")
    try:
        counter = Perf(tmp) if args.counter == "perf" else Callgrind(tmp)
        if args.counter == "perf" and not Perf.available():
            sys.exit("icount: perf stat cannot count instructions:u here; use callgrind")
        if args.counter == "callgrind" and not shutil.which("valgrind"):
            sys.exit("icount: valgrind not installed (scripts/apt/)")
        results = []
        for t in targets(args.build, args.daemon):
            if args.only and not any(s in t.name for s in args.only):
                continue
            r = measure(t, counter, n, tmp)
            results.append(r)
            print("%-40s %10.1f instructions per %s (budget %s)" % (
                r["target"], r["per_unit"], r["unit"], r["budget"]), flush=True)
            for v, fn in r["functions"][:8]:
                print("    %10.1f  %s" % (v, fn))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
