#!/usr/bin/env python3
"""mcp_batch_client.py URL BATCH_JSON - a real HTTP client (Python's
http.client, over the socket calls the shim hooks) posting one JSON-RPC
batch to an MCP server's Streamable HTTP endpoint (protocol 2025-03-26
allows a POST body that is an array of requests and notifications; the
MCP SDKs no longer send one themselves). Reads the whole answer, a JSON
array or SSE events, and prints {"status": S, "answers": {id: outcome}},
outcome being "result", "tool_error" or the JSON-RPC error code."""
import http.client
import json
import sys
import urllib.parse

url, batch = sys.argv[1], sys.argv[2]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
c.request("POST", u.path, body=batch.encode(), headers={
    "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-03-26"})
r = c.getresponse()
body = r.read().decode()
if r.getheader("Content-Type", "").startswith("text/event-stream"):
    msgs = [json.loads(line[5:]) for line in body.split("\n") if line.startswith("data:")]
else:
    msgs = json.loads(body) if body else []
    msgs = msgs if isinstance(msgs, list) else [msgs]


def outcome(m):
    if "error" in m:
        return m["error"]["code"]
    return "tool_error" if m["result"].get("isError") else "result"


print(json.dumps({"status": r.status, "answers": {str(m["id"]): outcome(m) for m in msgs}}))
