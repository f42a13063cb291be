"""Compressed bodies read end to end: real clients under the shim (reporter
source) against gz_server.py under the shim (reporter destination), every
record checked against the server's log: exact model, tokens, usage status,
stream chunks and Content-Encoding, for gzip, deflate (zlib and raw), br
and zstd, JSON bodies and SSE / NDJSON streams flushed per event, and a
zstd-compressed request body."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import tt, CHAT, MESSAGES, PY, SRC, CompressCase

REQUESTS_CALL = r"""
import json, sys, requests
url, rid, accept = sys.argv[1], sys.argv[2], sys.argv[3]
h = {"x-request-id": rid}
if accept != "default":
    h["Accept-Encoding"] = accept
r = requests.post(url, json={"model": "gpt-4o", "messages": [
    {"role": "user", "content": "one two three four"}]}, headers=h)
r.raise_for_status()
print(json.dumps({"usage": r.json()["usage"], "sent": r.request.headers["Accept-Encoding"]}))
"""

HTTPX_STREAM = r"""
import json, sys, httpx
url, rid, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
events = 0
with httpx.Client(headers={"Accept-Encoding": "gzip"}) as c:
    with c.stream("POST", url, json=body, headers={"x-request-id": rid,
                  "anthropic-version": "2023-06-01"}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            events += line.startswith("data:")
print(events)
"""


class Clients(CompressCase):

    def post_requests(self, rid, accept):
        out = self.s.py(REQUESTS_CALL, self.s.url + CHAT, rid, accept)
        return json.loads(out)

    def test_requests_gzip(self):
        got = self.post_requests("rq-gzip", "gzip, deflate")
        self.assertEqual(got["usage"]["prompt_tokens"], 4)
        self.assert_exact(["rq-gzip"], "gzip")

    def test_requests_default_asks_br(self):
        # With python3-brotli installed, requests asks for br by default,
        # and a provider answers br.
        got = self.post_requests("rq-default", "default")
        self.assertIn("br", got["sent"])
        self.assert_exact(["rq-default"], "br")

    def test_httpx_anthropic_sse_gzip(self):
        body = {"model": "claude-3-5-haiku-latest", "max_tokens": 32, "stream": True,
                "messages": MESSAGES}
        events = int(self.s.py(HTTPX_STREAM, self.s.url + "/v1/messages", "hx-anthropic",
                               json.dumps(body)))
        self.assertEqual(events, self.s.server_lines(["hx-anthropic"])["hx-anthropic"]["events"])
        self.assert_exact(["hx-anthropic"], "gzip")

    def test_httpx_openai_sse_include_usage_gzip(self):
        body = {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                "messages": MESSAGES}
        self.s.py(HTTPX_STREAM, self.s.url + CHAT, "hx-openai", json.dumps(body))
        self.assert_exact(["hx-openai"], "gzip")

    def test_openai_node_sdk(self):
        node_dir = os.path.join(SRC, "node_modules", "openai")
        self.assertTrue(os.path.isdir(node_dir), "scripts/setup.d/npm.sh installs the SDK")
        out = self.s.run(["node", os.path.join(os.path.dirname(__file__), "node_sdk.mjs"),
                          self.s.url + "/v1", "node"], workload="node-client")
        usages = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual([u["prompt_tokens"] for u in usages], [4, 4])
        # undici's fetch asks for gzip, deflate over plain HTTP (br only over
        # HTTPS): the server answers gzip, as a provider would.
        self.assertEqual(self.s.server_lines(["node-json"])["node-json"]["accept_encoding"], "gzip, deflate")
        self.assert_exact(["node-json", "node-stream"], "gzip")

    def curl(self, rid, *args):
        return self.s.run(["curl", "-sS", "--fail", "--compressed", "-H", "x-request-id: " + rid,
                           "-H", "Content-Type: application/json"] + list(args),
                          workload="curl")

    def test_curl_compressed_every_coding(self):
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES})
        stream = json.dumps({"model": "gpt-4o", "stream": True, "messages": MESSAGES,
                             "stream_options": {"include_usage": True}})
        for coding in ("gzip", "x-gzip", "deflate", "deflate-raw", "br", "zstd"):
            with self.subTest(coding=coding):
                self.curl("cu-%s-json" % coding, "-H", "x-test-encoding: " + coding,
                          "-d", body, self.s.url + CHAT)
                self.curl("cu-%s-sse" % coding, "-H", "x-test-encoding: " + coding,
                          "-d", stream, self.s.url + CHAT)
                self.assert_exact(["cu-%s-json" % coding, "cu-%s-sse" % coding], coding)

    def test_curl_ndjson_stream_ollama(self):
        body = json.dumps({"model": "llama3.2", "stream": True, "messages": MESSAGES})
        self.curl("cu-ollama", "-H", "x-test-encoding: gzip", "-d", body,
                  self.s.url + "/api/chat")
        self.assert_exact(["cu-ollama"], "gzip")

    def test_zstd_request_body(self):
        body = json.dumps({"model": "gpt-4o-zstd", "messages": MESSAGES}).encode()
        packed = subprocess.run(["zstd", "-q", "-c"], input=body, stdout=subprocess.PIPE,
                                check=True).stdout
        with tempfile.NamedTemporaryFile(suffix=".zst") as f:
            f.write(packed)
            f.flush()
            self.curl("cu-zstd-req", "-H", "Content-Encoding: zstd", "-H",
                      "x-test-encoding: gzip", "--data-binary", "@" + f.name,
                      self.s.url + CHAT)
        lines = self.assert_exact(["cu-zstd-req"], "gzip")
        self.assertEqual(self.s.server_lines(["cu-zstd-req"])["cu-zstd-req"]["request_coding"], "zstd")
        for rep in ("source", "destination"):
            e = lines[("cu-zstd-req", rep)]
            self.assertEqual((e["request_model"], e["request_content_encoding"]),
                             ("gpt-4o-zstd", "zstd"))

    def test_model_names_with_json_escapes(self):
        # Python's json.dumps writes "caf\u00e9 \"\u4e2d\"": the records say
        # the name the client meant, from the plain request and from the
        # gzip answer alike (issue 17: escapes decoded).
        name = 'caf\u00e9 "\u4e2d"'
        body = json.dumps({"model": name, "messages": MESSAGES})
        self.assertIn("\\u00e9", body)
        self.curl("cu-escaped", "-H", "x-test-encoding: gzip", "-d", body, self.s.url + CHAT)
        lines = self.assert_exact(["cu-escaped"], "gzip")
        for rep in ("source", "destination"):
            e = lines[("cu-escaped", rep)]
            self.assertEqual((e["request_model"], e["response_model"]), (name, name), rep)

    def test_zzz_no_decode_errors(self):
        """Runs last (alphabetical): nothing above was undecodable."""
        self.assertEqual(self.s.metric("tokenring_body_decode_errors_total"), {})
        self.assertEqual(self.s.metric("tokenring_body_stray_entries_total"),
                         {frozenset(): 0.0})


if __name__ == "__main__":
    tt.main()
