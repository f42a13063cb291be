#!/usr/bin/python3
"""compress_bench.py [BUILD_DIR] [OUT.md] - compressed bodies, side by side
in one run (issue 13):

1. Instructions the app spends per exchange (callgrind, repeatable): a
   client doing N and 2N keep-alive exchanges with a 4 KiB answer, plain
   or gzip, with and without libtokenring.so; per exchange = (I(2N) -
   I(N)) / N, so start-up cancels; added = with shim - without.
2. Ring slots per exchange, from tokenringd's own counters after the
   client runs (records + body entries).
3. tokenringd's decode throughput per coding (bench/decode_bench: decoded
   MB/s of an SSE stream and of the 4 KiB answer).

Writes a markdown table to OUT.md (default: stdout)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

N = 2000


def callgrind_ir(argv, env):
    with tempfile.NamedTemporaryFile(suffix=".cg") as out:
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out.name]
                       + argv, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        text = open(out.name).read()
    m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    return int(m.group(1))


def metric(port, name):
    text = subprocess.run(["curl", "-sf", "http://127.0.0.1:%d/metrics" % port],
                          stdout=subprocess.PIPE, text=True, check=True).stdout
    m = re.search(r"^%s (\S+)$" % name, text, re.M)
    return float(m.group(1))


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/release")
    out_path = sys.argv[2] if len(sys.argv) > 2 else None
    client = os.path.join(build, "bench", "compress_client")
    shim = os.path.join(build, "producer", "libtokenring.so")
    tmp = tempfile.mkdtemp(prefix="tokenring-compress-bench-")
    ring = os.path.join(tmp, "ring")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENRING_", "LD_"))}
    err = open(os.path.join(tmp, "d.err"), "w+")
    daemon = subprocess.Popen([os.path.join(build, "aggregator", "tokenringd"), "--ring", ring,
                               "--listen", "127.0.0.1:0"], stderr=err, env=base)
    while not re.search(r"listening on 127\.0\.0\.1:(\d+)", open(err.name).read()):
        time.sleep(0.05)
    dport = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", open(err.name).read()).group(1))
    server = subprocess.Popen([client, "serve"], stdout=subprocess.PIPE, text=True, env=base)
    port = server.stdout.readline().strip()
    rows, ir = [], {}
    try:
        for mode in ("plain", "gzip"):
            for shimmed in (False, True):
                env = dict(base, TOKENRING_RING=ring, **({"LD_PRELOAD": shim} if shimmed else {}))
                before = (metric(dport, "tokenring_ring_consumed_total"),
                          metric(dport, "tokenring_body_entries_total"))
                a = callgrind_ir([client, "client", port, str(N), mode], env)
                b = callgrind_ir([client, "client", port, str(2 * N), mode], env)
                ir[(mode, shimmed)] = (b - a) / N
                if shimmed:
                    want = before[0] + 3 * N
                    for _ in range(200):
                        if metric(dport, "tokenring_ring_consumed_total") >= want:
                            break
                        time.sleep(0.05)
                    slots = metric(dport, "tokenring_ring_consumed_total") - before[0]
                    entries = metric(dport, "tokenring_body_entries_total") - before[1]
                    rows.append((mode, slots / (3 * N), entries / (3 * N)))
    finally:
        server.kill()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    dec = [json.loads(line) for line in subprocess.run(
        [os.path.join(build, "bench", "decode_bench")], stdout=subprocess.PIPE, text=True,
        check=True).stdout.splitlines()]
    lines = ["# Compressed bodies: one run, side by side", "",
             "Machine: %s; %d CPUs." % (os.uname().machine, os.cpu_count()), "",
             "## Instructions per exchange in the app (callgrind, 4 KiB answer, keep-alive)", "",
             "| answer | without shim | with shim | added by the shim |", "|---|---|---|---|"]
    for mode in ("plain", "gzip"):
        w, s = ir[(mode, False)], ir[(mode, True)]
        lines.append("| %s | %.0f | %.0f | %.0f |" % (
            "4 KiB JSON" if mode == "plain" else "the same, gzip (Content-Encoding)", w, s, s - w))
    added = ir[("gzip", True)] - ir[("gzip", False)] - (ir[("plain", True)] - ir[("plain", False)])
    lines += ["", "Compressed minus plain, added by the shim: %+.0f instructions per exchange." % added,
              "", "## Ring slots per exchange (tokenringd's counters)", "",
              "| answer | slots per exchange | of which body entries |", "|---|---|---|"]
    for mode, slots, entries in rows:
        lines.append("| %s | %.2f | %.2f |" % (mode, slots, entries))
    lines += ["", "## tokenringd decode throughput (decode_bench, median of 5)", "",
              "| body | coding | decoded bytes | compressed bytes | decoded MB/s | ring slots |",
              "|---|---|---|---|---|---|"]
    for d in dec:
        lines.append("| %s | %s | %d | %d | %d | %d |" % (
            d["body"], d["coding"], d["decoded_bytes"], d["compressed_bytes"],
            d["decoded_mb_s"], d["ring_slots"]))
    text = "\n".join(lines) + "\n"
    if out_path:
        with open(out_path, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
