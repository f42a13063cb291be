// mcp_server.mjs PORT_FILE - an MCP server built from the SDK
// (@modelcontextprotocol/sdk) on Node's http module, both transports:
// streamable HTTP at /mcp (stateless: a server per request, answers as SSE
// events; /mcp-json answers as JSON, a batch as an array) and the older SSE
// transport (GET /sse, POST /messages). Tools:
// add (a result), divide (isError on division by zero). It writes its port
// to PORT_FILE once listening.
import fs from "node:fs";
import http from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

function makeServer() {
  const s = new McpServer({ name: "calc", version: "1.0.0" });
  s.registerTool("add", { description: "a + b", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
  s.registerTool("divide", { description: "a / b", inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => b === 0
      ? { content: [{ type: "text", text: "Division durch null — nicht erlaubt" }], isError: true }
      : { content: [{ type: "text", text: String(a / b) }] });
  return s;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c) => { data += c; });
    req.on("end", () => resolve(data ? JSON.parse(data) : undefined));
    req.on("error", reject);
  });
}

const sse = {}; // sessionId -> SSEServerTransport
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, "http://localhost");
    if ((url.pathname === "/mcp" || url.pathname === "/mcp-json") && req.method === "POST") {
      const body = await readBody(req);
      const mcp = makeServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined,
        enableJsonResponse: url.pathname === "/mcp-json" });
      res.on("close", () => { transport.close(); mcp.close(); });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    } else if (url.pathname === "/sse" && req.method === "GET") {
      const transport = new SSEServerTransport("/messages", res);
      sse[transport.sessionId] = transport;
      res.on("close", () => { delete sse[transport.sessionId]; });
      await makeServer().connect(transport);
    } else if (url.pathname === "/messages" && req.method === "POST") {
      const transport = sse[url.searchParams.get("sessionId")];
      if (!transport) { res.writeHead(404).end(); return; }
      await transport.handlePostMessage(req, res, await readBody(req));
    } else {
      res.writeHead(405, { Allow: "POST" }).end();
    }
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
server.listen(0, "127.0.0.1", () => fs.writeFileSync(process.argv[2], String(server.address().port)));
