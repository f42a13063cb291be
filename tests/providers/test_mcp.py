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
import subprocess
import time

import providers
import tokenring_test as tt

NODE = "node"


class MCP(providers.ProviderCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        port_file = os.path.join(cls.tmp, "mcp.port")
        env = tt.clean_env(LD_PRELOAD=providers.SHIM, TOKENRING_RING=cls.daemon.ring,
                           TOKENRING_WORKLOAD="mcp-server", TOKENRING_NAMESPACE="providers")
        cls.mcp = subprocess.Popen([NODE, os.path.join(providers.HERE, "mcp_server.mjs"), port_file],
                                   env=env, stderr=subprocess.PIPE)
        port = tt.wait_for(lambda: os.path.exists(port_file) and open(port_file).read(),
                           what="the MCP server to listen")
        cls.mcp_url = "http://127.0.0.1:%s" % port

    @classmethod
    def tearDownClass(cls):
        cls.mcp.kill()
        cls.mcp.wait()
        super().tearDownClass()

    def client(self, workload, mode):
        out = json.loads(self.run_client([NODE, os.path.join(providers.HERE, "mcp_client.mjs"),
                                          self.mcp_url, mode], workload))
        self.assertEqual(out, {"tools": ["add", "divide"], "add": "5", "divideIsError": True,
                               "nopeError": -32602})

    def wait_metric(self, name, want, **labels):
        """The sum of a family's samples over labels, once it equals want."""
        last = {}

        def ready():
            last["v"] = self.metrics().sum(name, **labels)
            return last["v"] == want
        try:
            tt.wait_for(ready, what=name)
        except AssertionError:
            raise AssertionError("%s%s = %s, want %s" % (name, labels, last.get("v"), want))

    def test_streamable_http(self):
        w = "mcp-agent"
        server = dict(reporter="destination", source_workload="mcp-server")
        before = self.metrics()  # the server's side also holds the other test's calls
        self.client(w, "http")
        calls = {("initialize", "result"): 1, ("notifications/initialized", "accepted"): 1,
                 ("tools/list", "result"): 1, ("tools/call", "result"): 1,
                 ("tools/call", "tool_error"): 1, ("tools/call", "error"): 1}
        tools = {("add", "result"): 1, ("divide", "tool_error"): 1, ("nope", "error"): 1}
        self.wait_metric("tokenring_mcp_requests_total", 6, reporter="source", source_workload=w)
        self.wait_metric("tokenring_mcp_requests_total",
                         before.sum("tokenring_mcp_requests_total", **server) + 6, **server)
        m = self.metrics()
        for rep, wl, base in (("source", w, None), ("destination", "mcp-server", before)):
            def got(name, **labels):
                labels.update(reporter=rep, source_workload=wl)
                return m.sum(name, **labels) - (base.sum(name, **labels) if base else 0)
            for (method, status), n in calls.items():
                self.assertEqual(got("tokenring_mcp_requests_total", method=method, status=status),
                                 n, (rep, method, status))
            for (tool, status), n in tools.items():
                for fam in ("tokenring_mcp_tool_calls_total",
                            "tokenring_mcp_tool_call_duration_seconds_count"):
                    self.assertEqual(got(fam, tool=tool, status=status), n, (rep, fam, tool))
                self.assertEqual(got("tokenring_mcp_tool_call_duration_seconds_bucket", tool=tool,
                                     status=status, le="+Inf"), n, (rep, tool))
        self.assertEqual(m.sum("tokenring_mcp_requests_total", reporter="source", source_workload=w,
                               destination_service="127.0.0.1"), 6)
        self.assertEqual(m.sum("tokenring_requests_total", source_workload=w), 0,
                         "an MCP call moved an LLM series")
        lines = [e for e in self.access.lines() if e["source_workload"] == w]
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
