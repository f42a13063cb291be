#!/usr/bin/python3
"""py_client.py LIB STEPS_JSON - a real Python HTTP client (LIB: requests or
httpx) for the feature tests, run under LD_PRELOAD by the harness.

Each step: {"url", "body", "headers", "stream": bool, "close_after": N|null,
"timeout": seconds (default 20)}.
A stream is read line by line; with close_after the client stops after N
`data:` lines and closes the response (the client gives up mid-stream).
Prints one JSON line per step: status, data lines read, the last usage
object seen, and the error class if the connection failed.
"""
import json
import sys


def usage_of(text):
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict):
        return obj.get("usage") or obj.get("usageMetadata")
    return None


def consume(lines, close_after, out):
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        if not line.startswith("data:"):
            continue
        out["data_lines"] += 1
        out["usage"] = usage_of(line[5:].strip()) or out["usage"]
        if close_after is not None and out["data_lines"] >= close_after:
            return


def with_requests(step, out):
    import requests
    with requests.Session() as s:
        r = s.post(step["url"], json=step["body"], headers=step.get("headers") or {},
                   stream=bool(step.get("stream")), timeout=step.get("timeout", 20))
        out["status"] = r.status_code
        if step.get("stream"):
            consume(r.iter_lines(), step.get("close_after"), out)
            r.close()
        else:
            out["usage"] = usage_of(r.text)


def with_httpx(step, out):
    import httpx
    with httpx.Client(timeout=step.get("timeout", 20)) as c:
        if not step.get("stream"):
            r = c.post(step["url"], json=step["body"], headers=step.get("headers") or {})
            out["status"] = r.status_code
            out["usage"] = usage_of(r.text)
            return
        with c.stream("POST", step["url"], json=step["body"],
                      headers=step.get("headers") or {}) as r:
            out["status"] = r.status_code
            consume(r.iter_lines(), step.get("close_after"), out)


def main():
    lib, steps = sys.argv[1], json.loads(sys.argv[2])
    run = {"requests": with_requests, "httpx": with_httpx}[lib]
    for step in steps:
        out = {"status": None, "data_lines": 0, "usage": None, "error": None}
        try:
            run(step, out)
        except Exception as e:  # the server died or reset: what the test wants
            out["error"] = type(e).__name__
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
