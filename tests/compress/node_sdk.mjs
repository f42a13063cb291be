// node_sdk.mjs BASE_URL PREFIX - the OpenAI Node SDK (undici fetch, which
// asks for br, gzip, deflate) against gz_server.py: one chat call, one
// stream with include_usage. Request ids PREFIX-json and PREFIX-stream.
// Prints the usage each call returned, as JSON lines.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "test-key", maxRetries: 0 });
const prefix = process.argv[3];
const messages = [{ role: "user", content: "one two three four" }];

const res = await client.chat.completions.create(
  { model: "gpt-4o-mini", messages },
  { headers: { "x-request-id": `${prefix}-json` } });
console.log(JSON.stringify(res.usage));
const stream = await client.chat.completions.create(
  { model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } },
  { headers: { "x-request-id": `${prefix}-stream` } });
let usage = null;
for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
console.log(JSON.stringify(usage));
