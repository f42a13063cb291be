"""JSON-RPC batches to an MCP server (Streamable HTTP, protocol 2025-03-26:
a POST body that is an array of requests and notifications). The client is
Python's http.client (mcp_batch_client.py; the MCP SDKs no longer send
batches), the server the Node SDK's StreamableHTTPServerTransport
(mcp_server.mjs), both under the shim, with a real tokenringd. Every call
of a batch is counted with its own method, tool and outcome from both
ends, whether the server answers with SSE events (/mcp) or a JSON array
(/mcp-json); a batch longer than the calls the shim keeps (LLM_MCP_CALLS,
proto/llm_mcp.h) counts the rest in tokenring_mcp_calls_dropped_total."""
import json
import os

import providers
import tokenring_test as tt

KEPT = 8  # LLM_MCP_CALLS

BATCH = [
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
     "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
    {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
    {"jsonrpc": "2.0", "id": "b-2", "method": "tools/call",
     "params": {"name": "divide", "arguments": {"a": 1, "b": 0}}},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "nope", "arguments": {}}},
    {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}},
]
CALLS = {("tools/call", "result"): 1, ("tools/call", "tool_error"): 1, ("tools/call", "error"): 1,
         ("tools/list", "result"): 1, ("notifications/roots/list_changed", "accepted"): 1}
TOOLS = {("add", "result"): 1, ("divide", "tool_error"): 1, ("nope", "error"): 1}
SERVER = "mcp-batch-server"


class MCPBatch(providers.ProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mcp = providers.McpServer(cls.tmp, cls.daemon, SERVER)

    @classmethod
    def tearDownClass(cls):
        cls.mcp.stop()
        super().tearDownClass()

    def post(self, workload, path, batch):
        return json.loads(self.run_client(
            [providers.PY, os.path.join(providers.HERE, "mcp_batch_client.py"),
             self.mcp.url + path, json.dumps(batch)], workload))

    def check_batch(self, w, path):
        before = self.metrics()
        out = self.post(w, path, BATCH)
        self.assertEqual(out, {"status": 200, "answers": {"1": "result", "b-2": "tool_error",
                                                          "3": -32602, "4": "result"}})
        self.check_mcp_counts(w, SERVER, before, CALLS, TOOLS)
        lines = self.lines_of(w, len(BATCH))
        self.assertEqual(sorted((e["response_model"], e["request_model"]) for e in lines),
                         sorted([("tools/call", "add"), ("notifications/roots/list_changed", "-"),
                                 ("tools/call", "divide"), ("tools/call", "nope"),
                                 ("tools/list", "-")]))
        self.assertEqual(len({e["request_id"] for e in lines}), 1, "one exchange")

    def test_batch_answered_with_sse_events(self):
        self.check_batch("mcp-batch-sse", "/mcp")

    def test_batch_answered_with_a_json_array(self):
        self.check_batch("mcp-batch-json", "/mcp-json")

    def test_calls_past_the_kept_ones_are_counted_as_dropped(self):
        w, n = "mcp-batch-long", KEPT + 3
        before = self.metrics()
        batch = [{"jsonrpc": "2.0", "id": i, "method": "tools/call",
                  "params": {"name": "add", "arguments": {"a": i, "b": 1}}} for i in range(1, n + 1)]
        out = self.post(w, "/mcp-json", batch)  # answered in request order
        self.assertEqual(out, {"status": 200, "answers": {str(i): "result" for i in range(1, n + 1)}})
        m = self.check_mcp_counts(w, SERVER, before, {("tools/call", "result"): KEPT},
                                 {("add", "result"): KEPT})
        for rep in ("source", "destination"):
            dropped = dict(name="tokenring_mcp_calls_dropped_total", reporter=rep,
                           reason="batch_overflow")
            self.assertEqual(m.sum(**dropped) - before.sum(**dropped), n - KEPT, rep)


if __name__ == "__main__":
    tt.main()
