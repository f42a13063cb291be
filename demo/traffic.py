#!/usr/bin/python3
"""Mixed demo load against demo/llm_server.py (or any compatible server) from
a real socket client (http.client, keep-alive): several providers and models,
plain and streaming, a few errors. Prints, as JSON on stdout, what it sent
and the usage it read back from the responses, per model (the request's
model, as the daemon labels it), so a demo or test can compare.

Usage: traffic.py --port N [--host H] [--requests N] [--seed S] [--concurrency C]
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time

WORDS = "alpha beta gamma delta tokens model prompt stream mesh ring shim daemon".split()
PROMPT = ("prompt_tokens", "input_tokens", "promptTokenCount", "prompt_eval_count")
COMPLETION = ("completion_tokens", "output_tokens", "candidatesTokenCount", "eval_count")


def _chat(model, text, n, stream, usage=True):
    body = {"model": model, "messages": [{"role": "user", "content": text}],
            "max_tokens": n, "stream": stream}
    if stream and usage:
        body["stream_options"] = {"include_usage": True}
    return body


def scenarios():
    """(weight, model, stream, builder(text, n) -> (path, body, headers))."""
    return [
        (4, "gpt-4o-mini", False, lambda t, n: ("/v1/chat/completions", _chat("gpt-4o-mini", t, n, False), {})),
        (4, "gpt-4o-mini", True, lambda t, n: ("/v1/chat/completions", _chat("gpt-4o-mini", t, n, True), {})),
        (1, "gpt-4o-mini", True, lambda t, n: ("/v1/chat/completions", _chat("gpt-4o-mini", t, n, True, False), {})),
        (2, "gpt-4o", False, lambda t, n: ("/v1/responses", {"model": "gpt-4o", "input": t, "max_output_tokens": n}, {})),
        (3, "qwen-turbo", True, lambda t, n: ("/compatible-mode/v1/chat/completions", _chat("qwen-turbo", t, n, True), {})),
        (2, "qwen-plus", False, lambda t, n: ("/api/v1/services/aigc/text-generation/generation",
                                               {"model": "qwen-plus", "input": {"prompt": t}, "parameters": {"max_tokens": n}}, {})),
        (3, "claude-3-5-haiku-latest", True, lambda t, n: ("/v1/messages", dict(_chat("claude-3-5-haiku-latest", t, n, True)), {"anthropic-version": "2023-06-01"})),
        (2, "llama3.2", True, lambda t, n: ("/api/chat", {"model": "llama3.2", "messages": [{"role": "user", "content": t}], "options": {"num_predict": n}}, {})),
        (2, "gemini-1.5-flash", True, lambda t, n: ("/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse",
                                                     {"contents": [{"role": "user", "parts": [{"text": t}]}], "generationConfig": {"maxOutputTokens": n}}, {})),
        (1, "text-embedding-3-small", False, lambda t, n: ("/v1/embeddings", {"model": "text-embedding-3-small", "input": t}, {})),
    ]


def plan(count, seed):
    rng = random.Random(seed)
    table = scenarios()
    out = []
    for i in range(count):
        _, model, stream, build = rng.choices(table, weights=[s[0] for s in table])[0]
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
        path, body, headers = build(text, rng.randint(4, 40))
        headers = dict(headers, **{"Content-Type": "application/json", "x-request-id": "traffic-%d-%d" % (seed, i)})
        if rng.random() < 0.1:
            headers["x-mock-status"] = str(rng.choice([429, 500, 503]))
        out.append((model, stream, path, body, headers))
    return out


def frames(ctype, body):
    """The JSON objects of a response body: SSE data lines, NDJSON lines or JSON."""
    text = body.decode("utf-8", "replace")
    if "event-stream" in ctype:
        parts = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("data:")]
    elif "ndjson" in ctype:
        parts = [line for line in text.splitlines() if line.strip()]
    else:
        parts = [text]
    objs = []
    for p in parts:
        try:
            o = json.loads(p)
        except ValueError:
            continue
        objs.extend(o if isinstance(o, list) else [o])
    return objs


def usage_of(objs):
    """Merged usage numbers (last value wins) over a response's objects."""
    found = {}
    for o in objs:
        if not isinstance(o, dict):
            continue
        for u in (o.get("usage"), (o.get("message") or {}).get("usage") if isinstance(o.get("message"), dict) else None,
                  (o.get("response") or {}).get("usage") if isinstance(o.get("response"), dict) else None,
                  o.get("usageMetadata"), o if "eval_count" in o else None):
            if not isinstance(u, dict):
                continue
            for key, names in (("prompt", PROMPT), ("completion", COMPLETION)):
                for n in names:
                    if isinstance(u.get(n), int):
                        found[key] = u[n]
    return found


class Tally:
    def __init__(self):
        self.lock, self.models = threading.Lock(), {}

    def add(self, model, stream, status, usage):
        with self.lock:
            m = self.models.setdefault(model, {"requests": 0, "streams": 0, "status": {},
                                               "prompt_tokens": 0, "completion_tokens": 0,
                                               "with_usage": 0, "without_usage": 0})
            m["requests"] += 1
            m["streams"] += stream
            key = str(status)
            m["status"][key] = m["status"].get(key, 0) + 1
            if status == 200:
                m["with_usage" if usage else "without_usage"] += 1
            m["prompt_tokens"] += usage.get("prompt", 0)
            m["completion_tokens"] += usage.get("completion", 0)


def worker(host, port, jobs, tally, errors):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for model, stream, path, body, headers in jobs:
        try:
            conn.request("POST", path, json.dumps(body), headers)
            resp = conn.getresponse()
            data = resp.read()
            usage = usage_of(frames(resp.getheader("Content-Type", ""), data)) if resp.status == 200 else {}
            tally.add(model, stream, resp.status, usage)
        except (OSError, http.client.HTTPException) as e:
            errors.append("%s %s: %s" % (model, path, e))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args(argv)
    jobs = plan(args.requests, args.seed)
    tally, errors, t0 = Tally(), [], time.monotonic()
    n = max(1, args.concurrency)
    threads = [threading.Thread(target=worker, args=(args.host, args.port, jobs[i::n], tally, errors))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = {k: sum(m[k] for m in tally.models.values())
              for k in ("requests", "streams", "prompt_tokens", "completion_tokens")}
    json.dump({"requests": len(jobs), "seed": args.seed, "concurrency": n,
               "elapsed_s": round(time.monotonic() - t0, 3), "totals": totals,
               "models": dict(sorted(tally.models.items())), "client_errors": errors},
              sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
