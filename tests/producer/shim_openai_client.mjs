// shim_openai_client.mjs - the OpenAI Node SDK (undici fetch over libuv)
// against BASE_URL: one plain completion, one stream with usage. Prints
// what the SDK returned, for comparison with and without the shim.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "test-key", maxRetries: 0 });
const messages = [{ role: "user", content: "hello from node" }];
const plain = await client.chat.completions.create({ model: "node-model", messages });
console.log(JSON.stringify({ content: plain.choices[0].message.content, usage: plain.usage }));
const stream = await client.chat.completions.create({
  model: "node-stream-model", messages, stream: true, stream_options: { include_usage: true },
});
let text = "", usage = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices.length) text += chunk.choices[0].delta.content || "";
  if (chunk.usage) usage = chunk.usage;
}
console.log(JSON.stringify({ text, usage, chunks }));
