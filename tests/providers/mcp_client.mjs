// mcp_client.mjs URL MODE - an MCP client built from the SDK: connects over
// streamable HTTP (MODE http: URL/mcp) or the older SSE transport (MODE
// sse: URL/sse), lists the tools, calls add, divide by zero (a tool error)
// and a tool that does not exist (a JSON-RPC error), and prints what it got.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, mode] = process.argv.slice(2);
const client = new Client({ name: "tokenring-test", version: "1.0.0" });
const transport = mode === "sse"
  ? new SSEClientTransport(new URL(url + "/sse"))
  : new StreamableHTTPClientTransport(new URL(url + "/mcp"));
await client.connect(transport);
const tools = await client.listTools();
const add = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
const divide = await client.callTool({ name: "divide", arguments: { a: 1, b: 0 } });
let nope = null;
try {
  await client.callTool({ name: "nope", arguments: {} });
} catch (e) {
  nope = e.code;
}
await client.close();
console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), add: add.content[0].text,
  divideIsError: divide.isError === true, nopeError: nope }));
