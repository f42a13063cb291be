"""MCP over HTTP with a real client and server built from the Node SDK
(@modelcontextprotocol/sdk), both under the shim, and a real tokenringd:
over streamable HTTP every JSON-RPC call (initialize, the initialized
notification, tools/list, three tools/call) is counted by method and
outcome from both ends, tools/call by tool with its latency histogram, and
none of it moves an LLM series. Over the older SSE transport (each POST
answered 202, its answer an event on the GET stream) the same calls are
counted with the same outcomes, paired by tokenringd."""
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
        """The older transport: each POST is answered 202 and its answer comes
        on the GET stream; the shim sends each answer it reads there as an
        entry and tokenringd pairs it with the POST (same process, session
        and id), so each call has its real outcome, from both ends."""
        w = "mcp-agent-sse"
        before = self.metrics()
        self.client(w, "sse")
        calls = {("initialize", "result"): 1, ("notifications/initialized", "accepted"): 1,
                 ("tools/list", "result"): 1, ("tools/call", "result"): 1,
                 ("tools/call", "tool_error"): 1, ("tools/call", "error"): 1}
        tools = {("add", "result"): 1, ("divide", "tool_error"): 1, ("nope", "error"): 1}
        m = self.check_mcp_counts(w, "mcp-server", before, calls, tools)
        for rep in ("source", "destination"):
            self.assertEqual(m.sum("tokenring_mcp_calls_dropped_total", reporter=rep) -
                             before.sum("tokenring_mcp_calls_dropped_total", reporter=rep), 0, rep)
        lines = self.lines_of(w, 6)
        self.assertEqual({e["path"].split("?")[0] for e in lines}, {"/messages"})
        # the POSTs as on the wire: 202, or 0 when the client closed before
        # reading the last one's 202 (its answer had come on the stream)
        self.assertLessEqual({e["response_code"] for e in lines}, {"202", "0"})


if __name__ == "__main__":
    tt.main()
