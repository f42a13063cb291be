"""Test harness for demo/llm_server.py: start it on port 0 with a log, talk to
it over raw sockets (to see the exact bytes and chunk framing), read its log."""
import json
import os
import socket
import subprocess
import tempfile
import itertools
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402,F401  (tests/pylib: the shared helpers)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "demo", "llm_server.py")
TRAFFIC = os.path.join(ROOT, "demo", "traffic.py")
# 6 words: what the tests' prompts count to
MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one two three four"}]
_IDS = itertools.count()
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


class Server:
    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="llm-server-test-")
        self.log_path = os.path.join(self.dir.name, "exchanges.jsonl")
        self.proc = subprocess.Popen([PYTHON, SERVER, "--port", "0", "--log", self.log_path] + list(args),
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("server did not start: %r" % line)
        self.port = int(line.split()[2])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stdout.close()
        self.dir.cleanup()

    def logs(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f]

    def log_for(self, request_id, timeout=tt.DEADLINE):
        """The log line of the exchange that carried this x-request-id."""
        found = tt.wait_for(lambda: [e for e in self.logs() if e["request_id"] == request_id],
                            timeout, "the log line of " + request_id, step=0.01)
        assert len(found) == 1, "log lines for %s: %r" % (request_id, found)
        return found[0]


class Raw:
    """One raw HTTP/1.x exchange, read to EOF."""

    def __init__(self, data, reset):
        self.data, self.reset = data, reset
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def chunks(self):
        """(chunk payloads, terminated by a zero chunk), parsed strictly."""
        rest, out = self.body, []
        while rest:
            size_line, sep, rest = rest.partition(b"\r\n")
            assert sep, "truncated chunk size line"
            size = int(size_line, 16)
            if size == 0:
                assert rest == b"\r\n", "bad chunked trailer %r" % rest
                return out, True
            assert rest[size:size + 2] == b"\r\n", "chunk not followed by CRLF"
            out.append(rest[:size])
            rest = rest[size + 2:]
        return out, False

    def json(self):
        return json.loads(self.body)


def raw(port, method, path, body=None, headers=None, version="HTTP/1.1"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    body = body or b""
    hdrs = {"Host": "127.0.0.1:%d" % port, "Connection": "close"}
    if body or method == "POST":
        hdrs["Content-Length"] = str(len(body))
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    head = "%s %s %s\r\n" % (method, path, version) + "".join(
        "%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode() + body)
    data, reset = b"", False
    try:
        while True:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    except ConnectionResetError:
        reset = True
    sock.close()
    return Raw(data, reset)


def sse_events(payload):
    """Split an SSE body into events (list of (field, value) lists)."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    text = text.replace("\r\n", "\n")
    events = []
    for block in text.split("\n\n"):
        if block:
            events.append([tuple(x.strip() if i else x for i, x in enumerate(line.split(":", 1)))
                           for line in block.split("\n")])
    return events


def sse_data(payload):
    """The JSON objects of an SSE body's data lines ([DONE] left out)."""
    out = []
    for ev in sse_events(payload):
        for field, *value in ev:
            if field == "data" and value and value[0] != "[DONE]":
                out.append(json.loads(value[0]))
    return out


class Case(unittest.TestCase):
    """Assertions over one exchange and its log line; srv: the running Server."""
    srv = None

    def post(self, path, body, headers=None, **kw):
        """Raw POST with a fresh x-request-id; returns (Raw, its log line)."""
        rid = "%s-%d" % (self._testMethodName, next(_IDS))
        r = raw(self.srv.port, "POST", path, body, dict(headers or {}, **{"x-request-id": rid}), **kw)
        return r, self.srv.log_for(rid)

    def assertLog(self, log, **want):
        self.assertEqual({k: log[k] for k in want}, want)

    def assertPlain(self, r, log, status=200):
        self.assertEqual(r.status, status)
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        self.assertEqual(r.headers["x-request-id"], log["request_id"])
        self.assertLog(log, status=status, stream=False, body_bytes=len(r.body),
                       wire_bytes=len(r.data), content_chunks=0, events=0, aborted=None)

    def assertStream(self, r, log, ctype):
        """Chunked, terminated, and the log's counts equal the chunks."""
        chunks, done = r.chunks()
        self.assertTrue(done)
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", r.headers)
        self.assertTrue(r.headers["content-type"].startswith(ctype), r.headers["content-type"])
        self.assertLog(log, status=200, stream=True, events=len(chunks), aborted=None,
                       body_bytes=sum(map(len, chunks)), wire_bytes=len(r.data))
        return chunks

    def assertOneEventPerChunk(self, chunks, eol=b"\n\n"):
        for c in chunks:
            self.assertTrue(c.endswith(eol) and c.count(eol) == 1, c)

    def assertUsageLog(self, log, prompt=None, completion=None, total=None, cached=None,
                       cache_creation=None, reasoning=None):
        self.assertLog(log, prompt_tokens=prompt, completion_tokens=completion,
                       total_tokens=total, cached_tokens=cached,
                       cache_creation_tokens=cache_creation, reasoning_tokens=reasoning)
