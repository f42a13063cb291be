"""MCP over HTTP with a real client and server built from the Node SDK
(@modelcontextprotocol/sdk), both under the shim, and a real tokenringd:
over streamable HTTP every JSON-RPC call (initialize, the initialized
notification, tools/list, three tools/call) is counted by method and
outcome from both ends, tools/call by tool with its latency histogram, and
none of it moves an LLM series. Over the older SSE transport the POSTs
are counted by method and tool; their answers travel on the GET stream, so
their outcome is `accepted` (or `interrupted` when the client closes
before reading the 202)."""
import json
import os

import providers
import tokenring_test as tt

NODE = "node"


class MCP(providers.ProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mcp = providers.McpServer(cls.tmp, cls.daemon, "mcp-server")
        cls.mcp_url = cls.mcp.url

    @classmethod
    def tearDownClass(cls):
        cls.mcp.stop()
        super().tearDownClass()

    def client(self, workload, mode):
        out = json.loads(self.run_client([NODE, os.path.join(providers.HERE, "mcp_client.mjs"),
                                          self.mcp_url, mode], workload))
        self.assertEqual(out, {"tools": ["add", "divide"], "add": "5", "divideIsError": True,
                               "nopeError": -32602})

    def test_streamable_http(self):
        w = "mcp-agent"
        before = self.metrics()  # the server's side also holds the other test's calls
        self.client(w, "http")
        calls = {("initialize", "result"): 1, ("notifications/initialized", "accepted"): 1,
                 ("tools/list", "result"): 1, ("tools/call", "result"): 1,
                 ("tools/call", "tool_error"): 1, ("tools/call", "error"): 1}
        tools = {("add", "result"): 1, ("divide", "tool_error"): 1, ("nope", "error"): 1}
        m = self.check_mcp_counts(w, "mcp-server", before, calls, tools)
        self.assertEqual(m.sum("tokenring_mcp_requests_total", reporter="source", source_workload=w,
                               destination_service="127.0.0.1"), 6)
        self.assertEqual(m.sum("tokenring_requests_total", source_workload=w), 0,
                         "an MCP call moved an LLM series")
        lines = self.lines_of(w, 6)
        self.assertEqual(sorted((e["response_model"], e["request_model"]) for e in lines),
                         sorted([("initialize", "-"), ("notifications/initialized", "-"),
                                 ("tools/list", "-"), ("tools/call", "add"),
                                 ("tools/call", "divide"), ("tools/call", "nope")]))
        self.assertEqual({(e["provider"], e["operation"], e["usage_status"]) for e in lines},
                         {("mcp", "mcp", "none")})

    def test_sse_transport(self):
        w = "mcp-agent-sse"
        self.client(w, "sse")
        self.wait_metric("tokenring_mcp_requests_total", 6, reporter="source", source_workload=w)
        m = self.metrics()
        by_method = {}
        for labels, v in m.select("tokenring_mcp_requests_total", reporter="source",
                                  source_workload=w):
            by_method[labels["method"]] = by_method.get(labels["method"], 0) + v
            self.assertIn(labels["status"], ("accepted", "interrupted"), labels)
        self.assertEqual(by_method, {"initialize": 1, "notifications/initialized": 1,
                                     "tools/list": 1, "tools/call": 3})
        for tool in ("add", "divide", "nope"):
            self.assertEqual(m.sum("tokenring_mcp_tool_calls_total", reporter="source",
                                   source_workload=w, tool=tool), 1, tool)


if __name__ == "__main__":
    tt.main()
