// A thin SCF custom-runtime client for the Node reference functions (bench/test only).
// Usage (from a bootstrap): node runtime.js /abs/path/to/index.js
//
// What an SCF Node runtime does, and no more:
//  - init: require the handler module (so SDK load time counts as init), then
//    POST /runtime/init/ready with a non-empty body;
//  - loop: GET /runtime/invocation/next (long poll, no timeout), copy the `environ` header
//    (K=V;K=V) - or a non-empty `environment` JSON header - into process.env for this invocation
//    only, await handler.main(event, context), POST the JSON result to /runtime/invocation/response,
//    or {errorCode, errorMessage, requestId} to /runtime/invocation/error when it throws.
'use strict';
const http = require('http');

const handlerPath = process.argv[2];
if (!handlerPath) {
  console.error('usage: node runtime.js HANDLER_MODULE');
  process.exit(2);
}
const handler = require(handlerPath);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const host = process.env.SCF_RUNTIME_API;
const port = Number(process.env.SCF_RUNTIME_API_PORT);

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-length': Buffer.byteLength(body) };
    const req = http.request({ host, port, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The emulator (and SCF) stop an instance with SIGTERM: exit cleanly.
process.on('SIGTERM', () => process.exit(0));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The per-invocation context variables: set them, and restore what was there before afterwards.
let restore = [];
function setContextEnv(vars) {
  for (const [k, v] of restore) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  restore = [];
  for (const [k, v] of vars) {
    restore.push([k, process.env[k]]);
    process.env[k] = v;
  }
}

function contextVars(environ, environment) {
  if (environment) {
    try {
      const o = JSON.parse(environment);
      if (o && typeof o === 'object') return Object.entries(o).map(([k, v]) => [k, String(v)]);
    } catch (_) { /* fall back to environ */ }
  }
  const vars = [];
  for (const part of (environ || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) vars.push([part.slice(0, i), part.slice(i + 1)]);
  }
  return vars;
}

async function post(path, body) {
  try {
    const r = await request('POST', path, body);
    if (r.status !== 200) console.error(`runtime: ${path} answered HTTP ${r.status}: ${r.body}`);
  } catch (e) {
    console.error(`runtime: ${path} failed: ${e.message}`);
  }
}

const fail = (requestId, errorCode, errorMessage) =>
  post('/runtime/invocation/error', JSON.stringify({ errorCode, errorMessage, requestId }));

async function main() {
  const ready = await request('POST', '/runtime/init/ready', ' ');
  if (ready.status !== 200) throw new Error(`/runtime/init/ready answered HTTP ${ready.status}`);
  for (;;) {
    let next;
    try {
      next = await request('GET', '/runtime/invocation/next');
    } catch (e) {
      console.error(`runtime: /next failed: ${e.message}`);
      await sleep(10);
      continue;
    }
    if (next.status !== 200) {
      await sleep(10);
      continue;
    }
    const h = next.headers;
    const requestId = h.request_id;
    const environ = h.environ;
    setContextEnv(contextVars(environ, h.environment));
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      await fail(requestId, 'EVENT_NOT_JSON', e.message);
      continue;
    }
    const context = {
      request_id: requestId,
      memory_limit_in_mb: Number(h.memory_limit_in_mb),
      time_limit_in_ms: Number(h.time_limit_in_ms),
      environ,
      environment: h.environment,
      function_name: process.env.SCF_FUNCTIONNAME,
      namespace: process.env.SCF_NAMESPACE,
    };
    let body;
    try {
      const result = await handler.main(event, context);
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      await fail(requestId, 'HANDLER_ERROR', String((e && e.message) || e));
      continue;
    }
    await post('/runtime/invocation/response', body);
  }
}

main().catch((e) => {
  console.error(`runtime: ${e.stack || e}`);
  process.exit(1);
});
