// tc_node_https.mjs PORT N SNI - N chat calls over HTTPS with Node's own
// (bundled) OpenSSL, one connection each (no keep-alive), to 127.0.0.1
// with server name SNI; prints each response body on a line.
import https from "node:https";

const [port, n, sni] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
for (let i = 0; i < n; i++) {
  const body = JSON.stringify({ model: "node-model", messages: [{ role: "user", content: `q${i}` }] });
  const text = await new Promise((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1", port, servername: sni, path: "/v1/chat/completions", method: "POST",
      rejectUnauthorized: false, agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { data += c; });
      res.on("end", () => resolve(data));
    });
    req.on("error", reject);
    req.end(body);
  });
  console.log(text);
}
