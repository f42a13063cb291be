#!/usr/bin/python3
"""Print what tokenringd measured, per model, next to what the demo client
itself saw (traffic.py's JSON), so a new user sees the numbers and that
they agree. Usage: show.py SUMMARY_URL TRAFFIC_JSON [REPORTER]"""
import json
import sys
import urllib.request


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def by_model(summary, reporter):
    rows = {}
    for s in summary["series"]:
        if s["reporter"] != reporter:
            continue
        r = rows.setdefault(s["model"], dict(requests=0, successes=0, prompt=0,
                                             completion=0, p50=0, p95=0, ttft=0))
        r["requests"] += s["requests"]
        r["successes"] += s["successes"]
        r["prompt"] += s["prompt_tokens"]
        r["completion"] += s["completion_tokens"]
        # one series per model here (one workload, one destination): take its quantiles
        r["p50"], r["p95"], r["ttft"] = (s["latency_p50_ms"], s["latency_p95_ms"],
                                         s["ttft_p50_ms"])
    return rows


def main():
    summary = fetch(sys.argv[1])
    with open(sys.argv[2]) as f:
        client = json.load(f)["models"]
    reporter = sys.argv[3] if len(sys.argv) > 3 else "source"
    rows = by_model(summary, reporter)
    head = ("model", "requests", "success", "p50 ms", "p95 ms", "TTFT p50", "prompt tok",
            "compl. tok", "client saw (req / tokens)")
    fmt = "%-26s %8s %8s %8s %8s %9s %10s %10s  %s"
    print(fmt % head)
    mismatches = 0
    for model in sorted(set(rows) | set(client)):
        r = rows.get(model)
        c = client.get(model, {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0})
        seen = "%d / %d+%d" % (c["requests"], c["prompt_tokens"], c["completion_tokens"])
        if not r:
            print(fmt % (model, "-", "-", "-", "-", "-", "-", "-", seen + "  <- not measured"))
            mismatches += 1
            continue
        same = (r["requests"], r["prompt"], r["completion"]) == (
            c["requests"], c["prompt_tokens"], c["completion_tokens"])
        mismatches += not same
        print(fmt % (model[:26], r["requests"], "%.0f%%" % (100.0 * r["successes"] / r["requests"]),
                     "%.2f" % r["p50"], "%.2f" % r["p95"],
                     "%.2f" % r["ttft"] if r["ttft"] else "-", r["prompt"], r["completion"],
                     seen + ("  = same" if same else "  <- differs")))
    print()
    print("%d records in the daemon, %d series; %s" % (
        summary["records"], summary["series_count"],
        "every model's requests and tokens equal what the client saw" if not mismatches
        else "%d model(s) differ from what the client saw" % mismatches))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
