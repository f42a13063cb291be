// shim_node_server.js - a Node http server (libuv: accept4, read, writev)
// answering POST /v1/chat/completions like OpenAI, for the shim's
// destination-side tests. Prints "ready PORT"; logs one JSON line per
// response (what was sent) to stdout.
"use strict";
const http = require("http");

const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(parts).toString() || "{}");
    const model = body.model || "";
    const usage = { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 };
    const out = JSON.stringify({
      id: "chatcmpl-node", object: "chat.completion", created: 1, model: model + "-node",
      choices: [{ index: 0, message: { role: "assistant", content: "hi from node" },
                  finish_reason: "stop" }],
      usage,
    });
    res.writeHead(200, { "Content-Type": "application/json",
                         "Content-Length": Buffer.byteLength(out) });
    res.end(out);
    console.log(JSON.stringify({ path: req.url, model, response_model: model + "-node",
                                 status: 200, ...usage }));
  });
});
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  console.log("ready " + server.address().port);
});
process.on("SIGTERM", () => process.exit(0));
