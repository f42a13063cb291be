#!/usr/bin/python3
"""Added cost of the shim per HTTPS request (TLS plaintext hooks) next to
plain HTTP, side by side in one run.

wrk (OpenSSL, dynamically linked) drives a keep-alive loopback load, one
connection, against an LLM-shaped nginx upstream that listens both plain
and with TLS (a self-signed certificate made here). Modes: no shim, shim in
the client (wrk), shim in the server (nginx: OpenSSL too), each over http
and https; interleaved over the repeats so drift hits all alike. tokenringd
drains the ring when --daemon is given (its CPU is counted). Prints a
markdown table: median over repeats (min-max) of the time per request
(1/rate: one connection, so it is the mean latency), wrk's p50 (1 us
resolution) and CPU per request (wrk + nginx + tokenringd), and what the
shim adds vs the same protocol without it.

    python3 bench/tls_bench.py --shim build/rel/producer/libtokenring.so \\
        [--daemon build/rel/aggregator/tokenringd] [--duration 3] [--repeats 3]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_bench as hb  # noqa: E402  (Stack, wrk parsing, ports)
from httpload import nginx  # noqa: E402

MODES = [("http", None), ("http", "client"), ("http", "server"),
         ("https", None), ("https", "client"), ("https", "server")]
PATH = "/v1/chat/completions"


def tls_upstream(dir, port, tls_port, cert, key):
    """nginx answering every POST with the bench chat completion, plain on
    port and TLS (HTTP/1.1 only) on tls_port."""
    return nginx._HEAD.format(dir=dir, name="upstream") + """  access_log off;
  server {{
    listen 127.0.0.1:{port} reuseport;
    listen 127.0.0.1:{tls_port} ssl reuseport;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_session_cache off;
    location / {{
      default_type application/json;
      return 200 '{body}';
    }}
  }}
}}
""".format(port=port, tls_port=tls_port, cert=cert, key=key, body=nginx.CHAT_BODY)


def run_once(stack, proto, shim, args):
    port, tls_port = hb.free_port(), hb.free_port()
    stack.start_nginx("upstream", tls_upstream(stack.tmp, port, tls_port, stack.cert,
                                               stack.key), shim == "server")
    hb.wait_port(tls_port)
    watched = [stack.procs[n].pid for n in ("upstream", "daemon") if n in stack.procs]
    before = stack.recorded() if shim else None
    cpu0 = sum(hb.cpu_seconds(p) for p in watched)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    url = "%s://127.0.0.1:%d%s" % (proto, tls_port if proto == "https" else port, PATH)
    cmd = ["wrk", "-t1", "-c1", "-d%gs" % args.duration, "--latency", "-s",
           os.path.join(hb.HERE, "httpload", "post_chat.lua"), url]
    out = subprocess.run(cmd, env=stack.env(shim == "client"), check=True,
                         capture_output=True, text=True).stdout
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.05)  # let the daemon drain its last tick
    cpu1 = sum(hb.cpu_seconds(p) for p in watched)
    rps, reqs, p50, p99 = hb.parse_wrk(out)
    wrk_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    rec = stack.recorded() - before if before is not None else None
    stack.stop("upstream")
    return {"rps": rps, "reqs": reqs, "p50": p50, "p99": p99,
            "cpu_us": (cpu1 - cpu0 + wrk_cpu) / reqs * 1e6, "recorded": rec}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shim", required=True, help="path to libtokenring.so")
    ap.add_argument("--daemon", help="path to tokenringd (drains the ring)")
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    results = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="tokenring-tls-bench-") as tmp:
        stack = hb.Stack(args, tmp)
        stack.cert, stack.key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", stack.key, "-out", stack.cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        try:
            stack.start_daemon()
            for _ in range(args.repeats):
                for m in MODES:
                    results[m].append(run_once(stack, m[0], m[1], args))
        finally:
            stack.stop_all()
    print("wrk -t1 -c1 keep-alive POST %s over loopback, %gs x %d repeats; "
          "median (min-max)\n" % (PATH, args.duration, args.repeats))
    print("| protocol | shim | us/request (1/rate) | added us | p50 us | CPU us/request "
          "| added CPU us | recorded/sent |")
    print("|---|---|---|---|---|---|---|---|")
    for proto, shim in MODES:
        rs = results[(proto, shim)]
        base = results[(proto, None)]
        per, per_med = hb.fmt([1e6 / r["rps"] for r in rs])
        p50, _ = hb.fmt([r["p50"] for r in rs])
        cpu, cpu_med = hb.fmt([r["cpu_us"] for r in rs])
        added = added_cpu = "-"
        if shim:
            added = "%+.2f" % (per_med - statistics.median(1e6 / r["rps"] for r in base))
            added_cpu = "%+.2f" % (cpu_med - statistics.median(r["cpu_us"] for r in base))
        rec = "-"
        if shim and rs[0]["recorded"] is not None:
            rec = "%d/%d" % (sum(r["recorded"] for r in rs), sum(r["reqs"] for r in rs))
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            proto, shim or "none", per, added, p50, cpu, added_cpu, rec))


if __name__ == "__main__":
    main()
