#!/usr/bin/python3
"""tokenring's benchmark harness: one command, one report.

Builds a Release tree, then runs, side by side in one run: the limits (one
syscall, a bare copy loop), the shim's passthrough cost, the ring against a
pipe and a mutex queue, the daemon's ingest and render, the per-request
cost on real HTTP four ways (no shim, shim in client, shim in server, nginx
proxy hop), and the scaling curves (response size, producer processes,
live series, ring capacity under bursts). Writes
bench/results/<date>-<host>.md with every budget of DESIGN.md next to its
measured value, and PNG plots (gnuplot) beside it.

    bench/run.py [--quick]     (--quick: about a minute; proves the harness)
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


class Harness:
    def __init__(self, quick, build, outdir):
        self.quick, self.build, self.outdir = quick, build, outdir
        self.q = ["--quick"] if quick else []
        self.md = []
        self.budgets = []  # (what, budget, measured, verdict)
        stamp = datetime.datetime.utcnow().strftime("%Y-%m-%d")
        self.name = "%s-%s%s" % (stamp, socket.gethostname().split(".")[0],
                                 "-quick" if quick else "")
        self.bin = lambda *p: os.path.join(build, *p)
        self.shim = self.bin("producer", "libtokenring.so")
        self.daemon = self.bin("aggregator", "tokenringd")
        self.have_shim = os.path.exists(self.shim) and os.path.exists(self.daemon)

    def add(self, *lines):
        self.md.extend(lines)

    def budget(self, what, budget, measured, ok):
        verdict = "n/a" if ok is None else ("meets" if ok else "misses")
        self.budgets.append((what, budget, measured, verdict))

    def machine(self):
        cpu = [l.split(":", 1)[1].strip() for l in sh(["lscpu"]).splitlines()
               if l.startswith("Model name")]
        try:
            commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
        except subprocess.CalledProcessError:
            commit = "unknown"
        self.add("# tokenring benchmark report", "",
                 "- date: %s UTC, commit %s%s" % (
                     datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), commit,
                     ", --quick (numbers indicative only)" if self.quick else ""),
                 "- machine: %s, %d cpus, kernel %s, %s" % (
                     cpu[0] if cpu else "?", os.cpu_count(), platform.release(),
                     platform.platform()),
                 "- load average at start: %s" % open("/proc/loadavg").read().split()[:3], "")

    def limits(self):
        base = dict(l.split() for l in sh([self.bin("bench", "syscall_bench")] + self.q).splitlines())
        self.add("## Limits and passthrough", "",
                 "| what | ns per call |", "|---|---|",
                 "| one bare syscall (getppid) | %s |" % base["syscall"],
                 "| write(2) 1 byte to /dev/null, no shim | %s |" % base["write_devnull"])
        if self.have_shim:
            env = dict(os.environ, LD_PRELOAD=self.shim,
                       TOKENRING_RING="/dev/shm/tokenring-bench-absent")
            shim = dict(l.split() for l in sh([self.bin("bench", "syscall_bench")] + self.q,
                                                env=env).splitlines())
            added = float(shim["write_devnull"]) - float(base["write_devnull"])
            pipe_added = (float(shim["pipe_write_read"]) - float(base["pipe_write_read"])) / 2
            self.add("| write(2) 1 byte to /dev/null, shim loaded | %s |" % shim["write_devnull"],
                     "| **added by the shim on a regular file (/dev/null)** | **%.2f** |" % added,
                     "| pipe write + read of 1 byte, no shim | %s |" % base["pipe_write_read"],
                     "| pipe write + read of 1 byte, shim loaded | %s |" % shim["pipe_write_read"],
                     "| **added by the shim per pipe call** | **%.2f** |" % pipe_added)
            self.budget("passthrough call on a non-socket fd (file)", "<= 10 ns added",
                        "%.2f ns" % added, added <= 10)
            self.budget("passthrough call on a non-socket fd (pipe)", "<= 10 ns added",
                        "%.2f ns per call" % pipe_added, pipe_added <= 10)
        self.add("")

    def ring(self):
        out = sh([self.bin("bench", "ring_bench")] + self.q)
        big = sh([self.bin("bench", "ring_bench")] + self.q + ["--capacity", "65536"])
        self.add("## Ring handoff", "", out, "", "The daemon's default ring size:", "", big, "")
        rows = {}
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 3 and cells[1] in ("ring", "bare"):
                rows[(cells[1], cells[2])] = float(cells[3])
        spsc, mpsc = rows.get(("ring", "1 x 1")), rows.get(("ring", "2 x 2"))
        self.budget("ring handoff, 1 producer -> consumer", ">= 20 M records/s",
                    "%.2f M/s (bare copy loop: %.2f)" % (spsc, rows.get(("bare", "1 x 1"), 0)),
                    spsc >= 20)
        self.budget("ring handoff, 4 producer threads in 2 processes", ">= 10 M records/s",
                    "%.2f M/s" % mpsc, mpsc >= 10)

    def daemon_core(self):
        agg = self.bin("bench", "agg_bench")
        if not os.path.exists(agg):
            self.add("## Daemon ingest and render", "", "agg_bench not built.", "")
            return
        out = sh([agg, "1" if self.quick else "7"])
        self.add("## Daemon ingest and render (one core, 10 k live series)", "", out.strip(), "")
        rows = {}
        for line in out.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 4 and cells[3]:
                rows[cells[1]] = cells[3]
        for what, v in rows.items():
            if what.startswith("ingest (batch), 10k live series, default"):
                self.budget("daemon ingest into 10 k live series", ">= 5 M records/s",
                            "%s M/s (batched, as tokenringd drains)" % v, float(v) >= 5)
            if what.startswith("/metrics render, default families"):
                self.budget("/metrics with 10 k series (default families)", "<= 10 ms per scrape",
                            "%s ms, %s" % (v, what.split("(")[1].rstrip(")")), float(v) <= 10)
            if what.startswith("/metrics render, all families"):
                self.budget("/metrics with 10 k series (all five families)", "<= 10 ms per scrape",
                            "%s ms, %s" % (v, what.split("(")[1].rstrip(")")), float(v) <= 10)

    def instructions(self):
        """Instructions per unit (bench/icount.py: callgrind over N and 2N
        units), beside the figures before the issue-14 work."""
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        import icount
        with open(os.path.join(ROOT, "bench", "icount_previous.json")) as f:
            prev = json.load(f)
        self.add("## Instructions per unit (callgrind, counted over N and 2N units)", "",
                 "Repeatable counts (bench/icount.py): per unit = (I(2N) - I(N)) / N of the "
                 "counted process (for the shim's workloads: the app with the shim minus the app "
                 "alone); the previous figures are from %s (the shim's from %s)." % (
                     prev["commit"], ", ".join(sorted(set(prev.get("commits", {}).values())))
                     or prev["commit"]), "",
                 "| what | previous | now | budget | top functions now (instructions per unit) |",
                 "|---|---|---|---|---|")
        if not shutil.which("valgrind"):
            self.add("valgrind not installed: no counts.", "")
            return
        n = 2000 if self.quick else 20000  # counts, not timings: a quick run is exact too
        tmp = os.path.join(self.outdir, "tmp-icount")
        os.makedirs(tmp, exist_ok=True)
        try:
            for t in icount.targets(self.build):
                if not (t.exists() if hasattr(t, "exists") else os.path.exists(t.daemon)):
                    continue
                r = icount.measure(t, icount.Callgrind(tmp), n, tmp)
                before = prev["per_unit"].get(r["target"])
                was = prev.get("commits", {}).get(r["target"], prev["commit"])
                top = ", ".join("%s %.0f" % (fn.split(":")[-1], v) for v, fn in r["functions"][:6])
                budget = "<= %d" % r["budget"] if r["budget"] is not None else "-"
                self.add("| %s, per %s | %s | %.0f | %s | %s |" % (
                    r["target"], r["unit"], "%.0f" % before if before else "-", r["per_unit"],
                    budget, top))
                if r["budget"] is None:  # measured beside the others, no budget of its own
                    continue
                self.budget("instructions per %s in %s" % (r["unit"], r["target"]), budget,
                            "%.0f (was %s at %s; n=%d)" % (r["per_unit"],
                                                         "%.0f" % before if before else "-",
                                                         was, n),
                            r["per_unit"] <= r["budget"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.add("")

    def http(self):
        cmd = [PY, os.path.join(ROOT, "bench", "http_bench.py"),
               "--duration", "1" if self.quick else "5", "--repeats", "1" if self.quick else "3"]
        if self.have_shim:
            cmd += ["--shim", self.shim, "--daemon", self.daemon]
        raw = os.path.join(self.outdir, "http.json.tmp")
        table = sh(cmd + ["--json-out", raw])
        self.add("## Per-request cost on real HTTP", "", table, "")
        with open(raw) as f:
            res = json.load(f)
        os.unlink(raw)
        if self.have_shim:
            med = lambda m, k: sorted(r[k] for r in res[m])[len(res[m]) // 2]
            base, proxy = med("no shim", "p50"), med("nginx proxy hop", "p50")
            for m in ("shim in client", "shim in server"):
                added = med(m, "p50") - base
                ratio = (proxy - base) / added if added > 0 else float("inf")
                self.budget("added latency per LLM request (%s)" % m,
                            "<= 1 us median and >= 40x less than a proxy hop",
                            "%+.2f us p50, wrk resolution 1 us (proxy hop %+.2f us); CPU %+.2f us/req" % (
                                added, proxy - base,
                                med(m, "cpu_us") - med("no shim", "cpu_us")),
                            added <= 1 and ratio >= 40)

    def scan(self):
        scan = self.bin("bench", "scan_bench")
        if not os.path.exists(scan):
            return
        rows = [l.split() for l in sh([scan]).splitlines()]
        self.add("## Body scan rate (the shim's tracker, conn_feed)", "",
                 "| body shape | bytes | GB/s median | min - max |", "|---|---|---|---|")
        self.add(*["| %s | %s | %s | %s - %s |" % (r[0], r[4], r[1], r[2], r[3]) for r in rows])
        self.add("", "big_content and embeddings arrive in 64 KiB reads; sse_events is one read "
                 "per ~280-byte event, as a stream arrives.", "")
        for r in rows:
            self.budget("body scanning (%s)" % r[0], ">= 2 GB/s", "%s GB/s" % r[1],
                        float(r[1]) >= 2)

    def memory(self):
        if not self.have_shim:
            return
        probe = os.path.join(ROOT, "bench", "memory_probe.py")
        out = json.loads(sh([PY, probe, "--shim", self.shim, "--daemon", self.daemon]))
        self.add("## Memory", "", "| what | KiB |", "|---|---|")
        for k, v in out.items():
            self.add("| %s | %d |" % (k.replace("_", " "), v))
        self.add("")
        shim = out["shim_private_rss_added_kib"]
        self.budget("shim memory per process besides the mapping", "<= 1 MiB RSS",
                    "%d KiB" % shim, shim <= 1024)
        if "daemon_rss_after_20k_series_kib" in out:
            self.budget("daemon memory", "bounded by its config",
                        "RSS %d KiB at start, %d KiB after 20 k model names (--max-series "
                        "10000); allocated (VmData) %d -> %d KiB" % (
                            out["daemon_rss_at_start_kib"], out["daemon_rss_after_20k_series_kib"],
                            out["daemon_data_at_start_kib"],
                            out["daemon_data_after_20k_series_kib"]),
                        out["daemon_data_after_20k_series_kib"] == out["daemon_data_at_start_kib"])

    def curve_producers(self):
        rows = []
        for p in (1, 2, 4) if self.quick else (1, 2, 3, 4, 6, 8):
            med, lo, hi = sh([self.bin("bench", "ring_bench")] + self.q +
                             ["--one", "ring", str(p), "1"]).split()
            rows.append((p, float(med), float(lo), float(hi)))
        self.add("## Curve: ring throughput vs producer processes", "",
                 "| producer processes | M records/s median | min - max |", "|---|---|---|")
        self.add(*["| %d | %.2f | %.2f - %.2f |" % r for r in rows])
        self.add("", self.plot("producers", rows, "producer processes", "M records/s"), "")

    def curve_bursts(self):
        out = sh([self.bin("bench", "burst_bench")] + self.q)
        rows = [tuple(int(x) for x in l.split()) for l in out.splitlines()]
        below = [(c, b, d) for c, b, d in rows if b <= c]
        self.budget("loss", "zero records lost below capacity; every loss counted",
                    "%d of %d bursts <= capacity lost records; every drop matched the "
                    "ring's counters" % (sum(1 for _, _, d in below if d), len(below)),
                    all(d == 0 for _, _, d in below))
        self.add("## Curve: loss vs burst length (consumer on a 1 ms tick)", "",
                 "| ring capacity | burst | dropped | loss % |", "|---|---|---|---|")
        self.add(*["| %d | %d | %d | %.1f |" % (c, b, d, 100.0 * d / b) for c, b, d in rows])
        self.add("")

    def curve_sizes(self):
        if not self.have_shim:
            return
        sizes = (1024, 65536) if self.quick else (1024, 16384, 131072, 1048576)
        rows = []
        for size in sizes:
            row = [size]
            for sse in (False, True):
                res = json.loads(sh([PY, os.path.join(ROOT, "bench", "http_bench.py"), "--json",
                                     "--shim", self.shim, "--daemon", self.daemon,
                                     "--modes", "no shim,shim in client", "--size", str(size),
                                     "--duration", "1" if self.quick else "3",
                                     "--repeats", "1" if self.quick else "3"] +
                                    (["--sse"] if sse else [])))
                med = lambda m, k: sorted(r[k] for r in res[m])[len(res[m]) // 2]
                row += [med("shim in client", "cpu_us") - med("no shim", "cpu_us"),
                        med("shim in client", "p50") - med("no shim", "p50")]
            rows.append(tuple(row))
        self.add("## Curve: added cost vs response size (shim in client)", "",
                 "| response bytes | JSON: added CPU us/req | JSON: added p50 us | "
                 "SSE stream: added CPU us/req | SSE stream: added p50 us |",
                 "|---|---|---|---|---|")
        self.add(*["| %d | %.2f | %+.2f | %.2f | %+.2f |" % r for r in rows])
        self.add("", "SSE bodies are ~280-byte chat chunk events served whole by nginx, so "
                 "this is the parsing cost per byte of a stream, not its pacing.", "")
        self.add("", self.plot("sizes", [(r[0], r[1], r[1], r[1]) for r in rows],
                               "response bytes", "added CPU us/request (JSON)", logx=True), "")

    def curve_series(self):
        agg = self.bin("bench", "agg_bench")
        if not os.path.exists(agg) or self.quick:
            return
        rows = [l.split() for l in sh([agg, "--curve"]).splitlines()]
        self.add("## Curve: daemon vs live series (default families, one core)", "",
                 "| live series | batched ingest M records/s | /metrics render ms | "
                 "/metrics MB |", "|---|---|---|---|")
        self.add(*["| %s | %s | %s | %s |" % (r[0], r[1], r[2], r[3]) for r in rows])
        self.add("", self.plot("series", [(float(r[0]), float(r[2]), float(r[2]), float(r[2]))
                                          for r in rows],
                               "live series", "/metrics render ms", logx=True), "")

    def plot(self, name, rows, xlabel, ylabel, logx=False):
        if not shutil.which("gnuplot"):
            return "(gnuplot not installed: no plot)"
        png = "%s-%s.png" % (self.name, name)
        data = os.path.join(self.outdir, png + ".dat")
        with open(data, "w") as f:
            f.writelines("%s %s %s %s\n" % r for r in rows)
        script = ("set terminal png size 720,400; set output '%s'; set grid; "
                  "set xlabel '%s'; set ylabel '%s'; %s"
                  "plot '%s' using 1:2:3:4 with yerrorlines title '%s'" % (
                      os.path.join(self.outdir, png), xlabel, ylabel,
                      "set logscale x; " if logx else "", data, ylabel))
        subprocess.run(["gnuplot", "-e", script], check=True)
        os.unlink(data)
        return "![%s](%s)" % (name, png)

    def write(self):
        self.add("## Budgets (DESIGN.md) and what this run measured", "",
                 "| what | budget | measured | verdict |", "|---|---|---|---|")
        self.add(*["| %s | %s | %s | %s |" % b for b in self.budgets])
        path = os.path.join(self.outdir, self.name + ".md")
        with open(path, "w") as f:
            f.write("\n".join(self.md) + "\n")
        return path


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--no-build", action="store_true", help="use --build as it is")
    ap.add_argument("--steps", help="comma-separated subset of the steps (e.g. instructions)")
    args = ap.parse_args()
    if not args.no_build:
        # tests included: the memory probe uses tests/aggregator/ring_writer
        subprocess.run(["cmake", "-S", ROOT, "-B", args.build, "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", args.build, "-j%d" % os.cpu_count()], check=True,
                       stdout=subprocess.DEVNULL)
    os.makedirs(args.out, exist_ok=True)
    h = Harness(args.quick, args.build, args.out)
    h.machine()
    steps = (h.limits, h.ring, h.daemon_core, h.instructions, h.scan, h.memory, h.http,
             h.curve_producers, h.curve_sizes, h.curve_series, h.curve_bursts)
    if args.steps:
        want = args.steps.split(",")
        steps = [s for s in steps if s.__name__ in want]
        h.name += "-" + "-".join(want)
    for step in steps:
        print("bench: %s" % step.__name__, file=sys.stderr, flush=True)
        step()
    path = h.write()
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
