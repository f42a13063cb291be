// otlp_receiver.js - an OTLP/HTTP metrics receiver for the export tests,
// built on OpenTelemetry's own generated OTLP types (protobufjs static code
// shipped in @opentelemetry/otlp-transformer): every request body (gunzipped
// when Content-Encoding says gzip) is JSON-parsed and turned into an
// ExportMetricsServiceRequest with fromObject; it must survive the round
// trip back (toObject) unchanged, so an unknown or misspelled field name, a
// 64-bit integer not given as a string or a wrong enum fails the request
// (400). Answers are scripted by the test:
//   POST /control {"responses": [{"status", "retryAfter", "rejected",
//                  "delayMs"}...], "delayMs": N, "hold": bool}  (queued,
//                  used in order; afterwards 200, each delayed by delayMs;
//                  with hold, answers wait until hold is set false)
//   GET /received  every export as {at, status, gzip, bytes, headers, path, body}
// Usage: node otlp_receiver.js PORT   (0: any); prints "listening on PORT".
'use strict';
const http = require('http');
const zlib = require('zlib');
const path = require('path');

const root = require(path.join(__dirname, '..', '..', 'node_modules', '@opentelemetry',
  'otlp-transformer', 'build', 'src', 'generated', 'root.js'));
const v1 = root.opentelemetry.proto.collector.metrics.v1;
const Req = v1.ExportMetricsServiceRequest;
const Resp = v1.ExportMetricsServiceResponse;

const received = [];
let script = [];
let delayMs = 0;
let hold = false;
let held = [];

// Drop what protobuf's JSON mapping leaves out (defaults), sort keys: the
// canonical form both sides of the round trip are compared in.
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) {
      const c = canon(v[k]);
      if (c === 0 || c === '0' || c === '' || c === false || c === undefined ||
          (Array.isArray(c) && c.length === 0) ||
          (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0))
        continue;
      out[k] = c;
    }
    return out;
  }
  return v;
}

function decode(buf) {
  const doc = JSON.parse(buf.toString('utf8'));
  // (Req.verify checks the in-memory message form, where 64-bit integers
  // are numbers or Longs; the JSON form has them as strings, which
  // fromObject reads and the round trip below checks.)
  const msg = Req.fromObject(doc);
  const back = Req.toObject(msg, { longs: String, enums: Number });
  const a = JSON.stringify(canon(doc)), b = JSON.stringify(canon(back));
  if (a !== b) {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    throw new Error('round trip differs at ' + i + ': ' + a.slice(i - 80, i + 80) +
      ' vs ' + b.slice(i - 80, i + 80));
  }
  // protobuf bytes too: what a protobuf receiver would store
  Req.decode(Req.encode(msg).finish());
  return back;
}

function answer(res, status, headers, body) {
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body) }, headers));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = Buffer.concat(chunks);
    if (req.method === 'POST' && req.url === '/control') {
      const c = JSON.parse(body.toString());
      if (c.responses) script = script.concat(c.responses);
      if (c.delayMs !== undefined) delayMs = c.delayMs;
      if (c.hold !== undefined) hold = c.hold;
      if (!hold) { const go = held; held = []; go.forEach((f) => f()); }
      return answer(res, 200, {}, '{}');
    }
    if (req.method === 'GET' && req.url === '/received')
      return answer(res, 200, {}, JSON.stringify(received));
    const entry = { at: Date.now() / 1000, path: req.url, headers: req.headers,
      gzip: req.headers['content-encoding'] === 'gzip', bytes: body.length };
    received.push(entry);
    const step = script.shift() || {};
    const respond = () => {
      try {
        if (entry.gzip) body = zlib.gunzipSync(body);
        entry.body = decode(body);
      } catch (e) {
        entry.status = 400;
        entry.error = String(e);
        return answer(res, 400, {}, JSON.stringify({ message: String(e) }));
      }
      entry.status = step.status || 200;
      const headers = {};
      if (step.retryAfter !== undefined) headers['Retry-After'] = String(step.retryAfter);
      let out = {};
      if (step.rejected)
        out = Resp.toObject(Resp.fromObject({ partialSuccess: {
          rejectedDataPoints: String(step.rejected), errorMessage: 'rejected by the test' } }),
        { longs: String });
      answer(res, entry.status, headers, JSON.stringify(out));
    };
    const wait = step.delayMs !== undefined ? step.delayMs : delayMs;
    const go = () => { if (wait) setTimeout(respond, wait); else respond(); };
    if (hold) held.push(go); else go();
  });
});
server.keepAliveTimeout = 1000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log('listening on ' + server.address().port);
});
process.on('SIGTERM', () => process.exit(0));
