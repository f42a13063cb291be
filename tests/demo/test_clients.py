"""demo/llm_server.py and demo/traffic.py with real client libraries:
requests (keep-alive Session, streaming), httpx (streaming), and the traffic
generator, whose summary must equal the server's log.
Run: /usr/bin/python3 test_clients.py -v (in tests/demo)."""
import collections
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import tt, PYTHON, TRAFFIC, Server  # noqa: E402

import httpx  # noqa: E402  Debian python3-httpx (scripts/apt/demo.txt); a missing one fails
import requests  # noqa: E402  Debian python3-requests

SRV = None
MSGS = [{"role": "user", "content": "one two three"}]


def setUpModule():
    global SRV
    SRV = Server("--token-delay-ms", "1")


def tearDownModule():
    SRV.stop()


def data_lines(lines):
    return [json.loads(x[5:]) for x in lines if x.startswith("data:") and x[5:].strip() != "[DONE]"]


class Clients(unittest.TestCase):
    def test_requests_session_plain_and_stream(self):
        url = "http://127.0.0.1:%d" % SRV.port
        with requests.Session() as s:
            r = s.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSGS,
                                                          "max_tokens": 4}, headers={"x-request-id": "rq-1"})
            self.assertEqual(r.json()["usage"], {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})
            self.assertEqual(r.headers["x-request-id"], "rq-1")
            with s.post(url + "/v1/chat/completions", stream=True, headers={"x-request-id": "rq-2"},
                        json={"model": "gpt-4o-mini", "messages": MSGS, "max_tokens": 4, "stream": True,
                              "stream_options": {"include_usage": True}}) as r:
                self.assertEqual(r.headers["transfer-encoding"], "chunked")
                objs = data_lines(r.iter_lines(decode_unicode=True))
            log = SRV.log_for("rq-2")
            self.assertEqual(objs[-1]["usage"]["completion_tokens"], log["completion_tokens"])
            self.assertEqual(sum(bool(o["choices"] and o["choices"][0]["delta"].get("content")) for o in objs),
                             log["content_chunks"])
            r = s.post(url + "/v1/messages", json={"model": "error-529", "messages": MSGS})
            self.assertEqual((r.status_code, r.json()["type"]), (529, "error"))

    def test_httpx_stream_ndjson_and_sse(self):
        with httpx.Client(base_url="http://127.0.0.1:%d" % SRV.port) as c:
            with c.stream("POST", "/api/chat", json={"model": "llama3.2", "messages": MSGS},
                          headers={"x-request-id": "hx-1"}) as r:
                objs = [json.loads(line) for line in r.iter_lines() if line]
            log = SRV.log_for("hx-1")
            self.assertEqual((objs[-1]["prompt_eval_count"], objs[-1]["eval_count"]),
                             (log["prompt_tokens"], log["completion_tokens"]))
            self.assertEqual(len(objs), log["events"])
            with c.stream("POST", "/v1/messages", headers={"x-request-id": "hx-2"},
                          json={"model": "claude-3-5-haiku-latest", "messages": MSGS, "stream": True}) as r:
                objs = data_lines(list(r.iter_lines()))
            log = SRV.log_for("hx-2")
            self.assertEqual(objs[0]["message"]["usage"]["input_tokens"], log["prompt_tokens"])
            self.assertEqual(objs[-2]["usage"]["output_tokens"], log["completion_tokens"])

    def test_traffic_summary_equals_log(self):
        # curl: Debian's, from scripts/apt/demo.txt (a missing one fails)
        out = subprocess.run([PYTHON, TRAFFIC, "--port", str(SRV.port), "--requests", "60", "--seed", "7",
                              "--concurrency", "3", "--curl", "0.3"], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        summary = json.loads(out.stdout)
        want = collections.defaultdict(lambda: {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                "status": collections.Counter()})
        for e in SRV.logs():
            if (e["request_id"] or "").startswith("traffic-7-"):
                m = want[e["model"]]
                m["requests"] += 1
                m["status"][str(e["status"])] += 1
                m["prompt_tokens"] += e["prompt_tokens"] or 0
                m["completion_tokens"] += e["completion_tokens"] or 0
        self.assertEqual(summary["totals"]["requests"], 60)
        self.assertEqual(sum(summary["clients"].values()), 60)
        self.assertGreaterEqual(len(summary["models"]), 5)
        got = {k: {f: (dict(v[f]) if f == "status" else v[f]) for f in want[k]} for k, v in summary["models"].items()}
        self.assertEqual(got, {k: dict(v, status=dict(v["status"])) for k, v in want.items()})


if __name__ == "__main__":
    tt.main()
