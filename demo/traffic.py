#!/usr/bin/python3
"""Mixed demo load against demo/llm_server.py (or any compatible server) from
a real socket client (http.client, keep-alive): several providers and models,
plain and streaming, a few errors. Prints, as JSON on stdout, what it sent
and the usage it read back from the responses, per model (the request's
model, as the daemon labels it), so a demo or test can compare.

Usage: traffic.py --port N [--host H] [--requests N] [--seed S] [--concurrency C]
                  [--curl FRACTION]   (that share of the requests sent by curl)
                  [--latency-ms MEAN] [--token-delay-ms MEAN]  (asked of the server
                  per request, scaled by a per-model speed and a seeded jitter)
"""
import argparse
import http.client
import json
import random
import subprocess
import sys
import threading
import time

WORDS = "alpha beta gamma delta tokens model prompt stream mesh ring shim daemon".split()
PROMPT = ("prompt_tokens", "input_tokens", "promptTokenCount", "prompt_eval_count")
COMPLETION = ("completion_tokens", "output_tokens", "candidatesTokenCount", "eval_count")


GEMINI = "/v1beta/models/gemini-1.5-flash:streamGenerateContent?alt=sse"
DASHSCOPE = "/api/v1/services/aigc/text-generation/generation"
# weight, model, stream, path, body kind
SCENARIOS = [
    (4, "gpt-4o-mini", False, "/v1/chat/completions", "chat"),
    (4, "gpt-4o-mini", True, "/v1/chat/completions", "chat+usage"),
    (1, "gpt-4o-mini", True, "/v1/chat/completions", "chat"),  # stream without usage
    (2, "gpt-4o", False, "/v1/responses", "responses"),
    (3, "qwen-turbo", True, "/compatible-mode/v1/chat/completions", "chat+usage"),
    (2, "qwen-plus", False, DASHSCOPE, "dashscope"),
    (3, "claude-3-5-haiku-latest", True, "/v1/messages", "chat"),
    (2, "llama3.2", True, "/api/chat", "ollama"),
    (2, "gemini-1.5-flash", True, GEMINI, "gemini"),
    (1, "text-embedding-3-small", False, "/v1/embeddings", "embeddings"),
]


# relative slowness per model, so a demo's per-model latency differs
SPEED = {"gpt-4o-mini": 0.6, "gpt-4o": 1.0, "qwen-turbo": 0.5, "qwen-plus": 0.9,
         "claude-3-5-haiku-latest": 1.2, "llama3.2": 0.4, "gemini-1.5-flash": 0.7,
         "text-embedding-3-small": 0.2}


def body_for(kind, model, stream, text, n):
    """The request body of one scenario: text is the prompt, n the max tokens."""
    msgs = [{"role": "user", "content": text}]
    if kind.startswith("chat"):
        body = {"model": model, "messages": msgs, "max_tokens": n, "stream": stream}
        if kind == "chat+usage":
            body["stream_options"] = {"include_usage": True}
        return body
    return {
        "responses": {"model": model, "input": text, "max_output_tokens": n},
        "dashscope": {"model": model, "input": {"prompt": text}, "parameters": {"max_tokens": n}},
        "ollama": {"model": model, "messages": msgs, "options": {"num_predict": n}},
        "gemini": {"contents": [{"role": "user", "parts": [{"text": text}]}],
                   "generationConfig": {"maxOutputTokens": n}},
        "embeddings": {"model": model, "input": text},
    }[kind]


def plan(count, seed, curl_share=0.0, latency_ms=0.0, token_delay_ms=0.0):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        _, model, stream, path, kind = rng.choices(SCENARIOS, weights=[s[0] for s in SCENARIOS])[0]
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
        body = body_for(kind, model, stream, text, rng.randint(4, 40))
        headers = {"Content-Type": "application/json", "x-request-id": "traffic-%d-%d" % (seed, i)}
        if path == "/v1/messages":
            headers["anthropic-version"] = "2023-06-01"
        if rng.random() < 0.1:
            headers["x-mock-status"] = str(rng.choice([429, 500, 503]))
        client = "curl" if rng.random() < curl_share else "python"
        slow = SPEED[model] * rng.uniform(0.5, 1.5)
        if latency_ms > 0:
            headers["x-mock-latency-ms"] = "%.1f" % (latency_ms * slow)
        if token_delay_ms > 0:
            headers["x-mock-token-delay-ms"] = "%.2f" % (token_delay_ms * slow)
        out.append((model, stream, path, body, headers, client))
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
        nested = [o.get(k).get("usage") for k in ("message", "response") if isinstance(o.get(k), dict)]
        for u in [o.get("usage"), o.get("usageMetadata"), o if "eval_count" in o else None] + nested:
            if not isinstance(u, dict):
                continue
            for key, names in (("prompt", PROMPT), ("completion", COMPLETION)):
                for n in names:
                    if isinstance(u.get(n), int):
                        found[key] = u[n]
    return found


class Tally:
    def __init__(self):
        self.lock, self.models, self.clients = threading.Lock(), {}, {}

    def add(self, model, stream, status, usage, client, seconds):
        with self.lock:
            self.clients[client] = self.clients.get(client, 0) + 1
            m = self.models.setdefault(model, {"requests": 0, "streams": 0, "status": {},
                                               "prompt_tokens": 0, "completion_tokens": 0,
                                               "with_usage": 0, "without_usage": 0, "ms": []})
            m["ms"].append(seconds * 1000)
            m["requests"] += 1
            m["streams"] += stream
            key = str(status)
            m["status"][key] = m["status"].get(key, 0) + 1
            if status == 200:
                m["with_usage" if usage else "without_usage"] += 1
            m["prompt_tokens"] += usage.get("prompt", 0)
            m["completion_tokens"] += usage.get("completion", 0)


def via_curl(host, port, path, body, headers):
    """One request by curl (send/recv, its own framing); (status, type, body)."""
    mark = b"\n--traffic-status--"
    cmd = ["curl", "-sS", "-N", "--max-time", "30", "-o", "-", "--data-binary", "@-",
           "-w", mark.decode() + "%{http_code} %{content_type}", "http://%s:%d%s" % (host, port, path)]
    for name, value in headers.items():
        cmd += ["-H", "%s: %s" % (name, value)]
    done = subprocess.run(cmd, input=json.dumps(body).encode(), capture_output=True, timeout=60)
    if done.returncode:
        raise OSError("curl exit %d: %s" % (done.returncode, done.stderr.decode().strip()))
    data, _, tail = done.stdout.rpartition(mark)
    status, _, ctype = tail.decode().partition(" ")
    return int(status), ctype, data


def via_http_client(conn, path, body, headers):
    conn.request("POST", path, json.dumps(body), headers)
    resp = conn.getresponse()
    return resp.status, resp.getheader("Content-Type", ""), resp.read()


def worker(host, port, conn, jobs, tally, errors):
    for model, stream, path, body, headers, client in jobs:
        t0 = time.monotonic()
        try:
            if client == "curl":
                status, ctype, data = via_curl(host, port, path, body, headers)
            else:
                status, ctype, data = via_http_client(conn, path, body, headers)
            usage = usage_of(frames(ctype, data)) if status == 200 else {}
            tally.add(model, stream, status, usage, client, time.monotonic() - t0)
        except (OSError, http.client.HTTPException, subprocess.SubprocessError) as e:
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
    ap.add_argument("--latency-ms", type=float, default=0.0, help="mean time to first byte asked")
    ap.add_argument("--token-delay-ms", type=float, default=0.0, help="mean gap between chunks asked")
    ap.add_argument("--curl", type=float, default=0.0, metavar="FRACTION",
                    help="share of the requests sent with curl instead of http.client")
    args = ap.parse_args(argv)
    jobs = plan(args.requests, args.seed, args.curl, args.latency_ms, args.token_delay_ms)
    tally, errors, t0 = Tally(), [], time.monotonic()
    n = max(1, args.concurrency)
    # Connections are opened here, before the threads start. Under the shim
    # the first connection attaches the ring; a thread whose exchange ended
    # while another was still attaching would have its record dropped
    # (counted as "detached": a shim never waits), and this run compares
    # exact counts.
    conns = []
    for _ in range(n):
        conns.append(http.client.HTTPConnection(args.host, args.port, timeout=30))
        conns[-1].connect()
    threads = [threading.Thread(target=worker,
                                args=(args.host, args.port, conns[i], jobs[i::n], tally, errors))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m in tally.models.values():  # client-side duration, nearest rank
        ms = sorted(m.pop("ms"))
        m["duration_ms"] = {"p50": round(ms[(len(ms) - 1) // 2], 3),
                            "p95": round(ms[max(0, -(-len(ms) * 95 // 100) - 1)], 3)}
    totals = {k: sum(m[k] for m in tally.models.values())
              for k in ("requests", "streams", "prompt_tokens", "completion_tokens")}
    json.dump({"requests": len(jobs), "seed": args.seed, "concurrency": n,
               "elapsed_s": round(time.monotonic() - t0, 3), "totals": totals, "clients": tally.clients,
               "models": dict(sorted(tally.models.items())), "client_errors": errors},
              sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
