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

    bench/icount.py [--build DIR] [--quick] [-n N] [--json FILE] [--markdown FILE]
                    [--shim SO] [--before-shim SO [--before-daemon D]] [TARGET ...]

Targets are entries of targets(): a class with `unit`, `budget` (instructions
per unit, or None) and `run(counter, n, tmp)`, which sets the workload up
for n units, runs the process to be counted through `counter` and returns
counter's result. The shim's workloads (ShimExchanges: the reference LLM
exchange, a non-LLM GET, an SSE stream per event, the 4 KiB answer of
bench/results/compress.md) count a client with LD_PRELOAD minus the same
client alone; `--before-shim OLD.so` counts an older shim build in the
same run, and `--markdown FILE` writes the table of
bench/results/2026-12-06-shim-instructions.md.
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

    def __call__(self, argv, drive=None, stdout=subprocess.DEVNULL, env=None):
        self.runs += 1
        out = os.path.join(self.tmp, "callgrind.%d.out" % self.runs)
        err = open(os.path.join(self.tmp, "callgrind.%d.err" % self.runs), "w+")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                 "--dump-instr=no", "--compress-strings=no"] + argv,
                                stdout=stdout, stderr=err, env=env)
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
                    if len(parts) >= 2:
                        # "@fn": fn's inclusive cost (its own instructions and
                        # its calls'), which says what a component costs whole
                        funcs["@" + fn] = funcs.get("@" + fn, 0) + int(parts[1])
                        if not after_call:
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

    def __call__(self, argv, drive=None, stdout=subprocess.DEVNULL, env=None):
        out = os.path.join(self.tmp, "perf.out")
        err = open(os.path.join(self.tmp, "perf.err"), "w+")
        proc = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions:u", "-o", out,
                                 "--"] + argv, stdout=stdout, stderr=err, env=env)
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


class ShimExchanges:
    """What libtokenring.so adds to an app, per exchange or per SSE event.

    A client (bench/exchange_client, or bench/compress_client for the
    4 KiB answer of bench/results/compress.md) does keep-alive exchanges
    with its own server; it runs under the counter without the shim and
    with it (LD_PRELOAD, a tokenringd draining the ring it writes to), and
    the unit's cost is the difference:

        per unit = ((S(2N) - A(2N)) - (S(N) - A(N))) / N

    with S the shimmed run and A the app alone (A's own per-unit cost is
    reported too). Functions are compared the same way. Exchanges the shim
    should record are checked in tokenringd's counters, so a shim that
    silently stopped recording cannot look cheap.

    The SSE target counts events: N and 2N events beyond the first spread
    over the same number of streams (N // 50 streams of 51 events against
    as many of 101), so the per-exchange cost cancels too."""

    EVENTS_PER_STREAM = 50

    def __init__(self, build, name, kind, budget, records, unit="exchange", shim=None,
                 daemon=None):
        self.build, self.name, self.kind, self.budget = build, name, kind, budget
        self.records, self.unit = records, unit
        self.shim = shim or os.path.join(build, "producer", "libtokenring.so")
        # the daemon is not counted: it only drains the ring the shim writes
        # to, so an older shim (another RING_VERSION) comes with its own
        self.daemon = daemon or os.path.join(build, "aggregator", "tokenringd")
        self.tool = os.path.join(build, "bench", "compress_client" if kind == "plain4k"
                                 else "exchange_client")

    def exists(self):
        return all(os.path.exists(p) for p in (self.shim, self.daemon, self.tool))

    def shape(self, n):
        """(exchanges, events per stream) for n units."""
        if self.unit == "exchange":
            return n, 1
        streams = max(n // self.EVENTS_PER_STREAM, 1)
        return streams, 1 + n // streams

    @staticmethod
    def metric(port, name):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
            m = re.search(r"^%s (\S+)$" % name, r.read().decode(), re.M)
        return float(m.group(1)) if m else 0.0

    def run(self, counter, n, tmp):
        exchanges, events = self.shape(n)
        ring = os.path.join(tmp, "shim-ring")
        if os.path.exists(ring):
            os.unlink(ring)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENRING_", "LD_"))}
        derr = open(os.path.join(tmp, "shim-daemon.err"), "w+")
        daemon = subprocess.Popen([self.daemon, "--ring", ring, "--listen", "127.0.0.1:0",
                                   "--access-log", "off", "--summary-log", "off"],
                                  stdout=subprocess.DEVNULL, stderr=derr, env=base)
        serve = ["serve"] if self.kind == "plain4k" else ["serve", str(events)]
        server = subprocess.Popen([self.tool] + serve, stdout=subprocess.PIPE, text=True,
                                  env=base)
        try:
            port = server.stdout.readline().strip()

            def listening():
                derr.seek(0)
                return re.search(r"listening on 127\.0\.0\.1:(\d+)", derr.read())
            dport = int(wait_for(listening, 60, "tokenringd to listen").group(1))
            mode = "plain" if self.kind == "plain4k" else self.kind
            argv = [self.tool, "client", port, str(exchanges), mode]
            app, app_f = counter(argv, env=base)
            before = self.metric(dport, "tokenring_ring_records_total")
            shimmed, shim_f = counter(argv, env=dict(base, LD_PRELOAD=self.shim,
                                                     TOKENRING_RING=ring))
            if self.records:
                # A record whose producer stalled past the ring's skip timeout between
                # claim and commit (callgrind slows it ~50x; a loaded machine deschedules
                # it) is skipped, never consumed: wait for every slot to be settled
                # either way, or the wait could not end on a busy machine.
                want = before + exchanges
                wait_for(lambda: self.metric(dport, "tokenring_ring_consumed_total")
                         + self.metric(dport, "tokenring_ring_skipped_total") >= want,
                         120, "tokenringd to settle the shim's records")
            got = self.metric(dport, "tokenring_ring_records_total") - before
            if got != (exchanges if self.records else 0):
                raise RuntimeError("icount: %s: the shim wrote %d records for %d exchanges"
                                   % (self.name, got, exchanges))
        finally:
            for p in (server, daemon):
                p.terminate()
                p.wait(timeout=60)
            derr.close()
        funcs = {k: shim_f.get(k, 0) - app_f.get(k, 0) for k in set(app_f) | set(shim_f)}
        return shimmed - app, funcs, app


def measure(target, counter, n, tmp):
    r1 = target.run(counter, n, tmp)
    r2 = target.run(counter, 2 * n, tmp)
    (t1, f1), (t2, f2) = r1[:2], r2[:2]
    per = (t2 - t1) / n
    diffs = sorted(((f2.get(k, 0) - f1.get(k, 0)) / n, k) for k in set(f1) | set(f2))
    funcs = [(round(v, 1), k) for v, k in reversed(diffs) if v >= 1 and k[:1] != "@"]
    inclusive = [(round(v, 1), k[1:]) for v, k in reversed(diffs) if v >= 1 and k[:1] == "@"]
    return {"target": target.name, "unit": target.unit, "n": n, "instructions_n": t1,
            "instructions_2n": t2, "per_unit": round(per, 1), "budget": target.budget,
            "functions": funcs[:15], "inclusive": inclusive[:60], "counter": counter.name,
            # the app's own instructions per unit, when the target counts an addition
            "app_per_unit": round((r2[2] - r1[2]) / n, 1) if len(r1) > 2 else None}


def shim_targets(build, shim=None):
    """The shim's workloads (issue 14's reference shapes)."""
    return [ShimExchanges(build, "shim, LLM exchange (SDK chat POST, 234-byte answer)", "chat",
                          2000, True, shim=shim),
            ShimExchanges(build, "shim, non-LLM GET /healthz", "health", 400, False, shim=shim),
            ShimExchanges(build, "shim, SSE stream (234-byte chat chunks)", "sse", 150, True,
                          unit="event beyond the first", shim=shim),
            ShimExchanges(build, "shim, plain exchange with a 4 KiB answer (compress.md)",
                          "plain4k", None, True, shim=shim)]


def targets(build, daemon=None, shim=None):
    return [DaemonRecords(build, access_log=True, daemon=daemon),
            DaemonRecords(build, access_log=False, daemon=daemon),
            DaemonInterleaved(build, daemon=daemon),
            RingPublish(build, daemon=daemon)] + shim_targets(build, shim)


def markdown(rows, before_label=None):
    """A table of results; rows are (result, result of the older build or None)."""
    out = ["| what | per | %sinstructions | budget | verdict | app alone | top functions "
           "(instructions per unit) |" % ("before | ratio | " if before_label else ""),
           "|---|---|---|%s---|---|---|---|" % ("---|---|" if before_label else "")]
    for r, b in rows:
        top = ", ".join("%s %.0f" % (fn.split(":")[-1], v) for v, fn in r["functions"][:8])
        verdict = "-" if r["budget"] is None else (
            "meets" if r["per_unit"] <= r["budget"] else "misses")
        old = ""
        if before_label:
            old = "%s | %s | " % ("%.0f" % b["per_unit"] if b else "-",
                                  "%.1fx" % (b["per_unit"] / r["per_unit"])
                                  if b and r["per_unit"] > 0 else "-")
        out.append("| %s | %s | %s%.0f | %s | %s | %s | %s |" % (
            r["target"], r["unit"], old, r["per_unit"],
            "<= %d" % r["budget"] if r["budget"] else "-", verdict,
            "%.0f" % r["app_per_unit"] if r["app_per_unit"] is not None else "-", top))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--quick", action="store_true", help="small N: proves the harness")
    ap.add_argument("-n", type=int, default=0, help="units in the first run")
    ap.add_argument("--counter", choices=["callgrind", "perf"], default="callgrind")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--daemon", help="count this tokenringd (e.g. an older build) instead")
    ap.add_argument("--shim", help="count this libtokenring.so (e.g. an older build) instead")
    ap.add_argument("--before-shim", help="also count this libtokenring.so (an older build) "
                    "on the shim's workloads, in the same run: side by side")
    ap.add_argument("--before-daemon", help="the tokenringd the --before-shim writes to (its "
                    "build's, when the ring layout changed since)")
    ap.add_argument("--markdown", help="write the results as a markdown table here")
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
        results, rows = [], []
        for t in targets(args.build, args.daemon, args.shim):
            if args.only and not any(s in t.name for s in args.only):
                continue
            r = measure(t, counter, n, tmp)
            results.append(r)
            b = None
            if args.before_shim and isinstance(t, ShimExchanges):
                old = ShimExchanges(t.build, t.name, t.kind, t.budget, t.records, t.unit,
                                    shim=args.before_shim, daemon=args.before_daemon)
                b = measure(old, counter, n, tmp)
                b["shim"] = args.before_shim
                r["before"] = b
                print("%-40s %10.1f instructions per %s before" % (b["target"], b["per_unit"],
                                                                  b["unit"]), flush=True)
            rows.append((r, b))
            print("%-40s %10.1f instructions per %s (budget %s)%s" % (
                r["target"], r["per_unit"], r["unit"], r["budget"],
                "; the app alone: %.1f" % r["app_per_unit"] if r["app_per_unit"] else ""),
                flush=True)
            for v, fn in r["functions"][:8]:
                print("    %10.1f  %s" % (v, fn))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(markdown(rows, args.before_shim))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
