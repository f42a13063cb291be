// node_client.mjs BASE_URL STEPS_JSON - the OpenAI Node SDK (undici fetch
// over libuv) for the feature tests, run under LD_PRELOAD by the harness.
// Each step: {model, stream, include_usage, max_tokens, headers, abort_after}.
// A stream is iterated; with abort_after the loop breaks after that many
// chunks, which makes the SDK abort the request (the client gives up).
// Prints one JSON line per step: chunks, content, usage, error class.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "test-key", maxRetries: 0 });
const steps = JSON.parse(process.argv[3]);
const messages = [{ role: "user", content: "one two three four" }];

for (const step of steps) {
  const out = { chunks: 0, content: "", usage: null, error: null };
  const body = { model: step.model, messages };
  if (step.max_tokens !== undefined) body.max_tokens = step.max_tokens;
  if (step.stream) {
    body.stream = true;
    if (step.include_usage) body.stream_options = { include_usage: true };
  }
  try {
    const res = await client.chat.completions.create(body, { headers: step.headers || {} });
    if (!step.stream) {
      out.content = res.choices[0].message.content;
      out.usage = res.usage || null;
    } else {
      for await (const chunk of res) {
        out.chunks++;
        if (chunk.choices.length) out.content += chunk.choices[0].delta.content || "";
        if (chunk.usage) out.usage = chunk.usage;
        if (step.abort_after && out.chunks >= step.abort_after) break;
      }
    }
  } catch (e) {
    out.error = (e.constructor && e.constructor.name) || e.name || String(e);
  }
  console.log(JSON.stringify(out));
}
