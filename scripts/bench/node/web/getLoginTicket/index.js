// getLoginTicket as a CloudBase HTTP function in Node (bench only): the Node side of the load
// section of `make bench`, against our `getLoginTicket --web`.
//
// Written the way a Node developer would deploy it with `tcb fn deploy --httpFn`: `scf_bootstrap`
// starts this file, which serves HTTP on 0.0.0.0:${PORT:-9000} with Node's `http` module.
// POST {"code"} -> `fetch` jscode2session -> `@cloudbase/node-sdk` `createTicket(openid)` ->
// 200 {"ticket", "openid"[, "unionid"]}. The same settings as our Rust function: WX_APPID,
// WX_SECRET, WECHAT_API_BASE, TCB_ENV (else SCF_NAMESPACE), TCB_CUSTOM_LOGIN_KEY_FILE.
//
// Like the event-function reference beside it (../../functions/getLoginTicket), it does only what
// such a function would do: a body cap, a missing-code check, and WeChat's errcode passed on.
// No code cache, no retries, no timeouts of its own.
'use strict';
const http = require('http');
const fs = require('fs');
const tcb = require('@cloudbase/node-sdk');

const key = JSON.parse(fs.readFileSync(process.env.TCB_CUSTOM_LOGIN_KEY_FILE, 'utf8'));
const app = tcb.init({ env: process.env.TCB_ENV || process.env.SCF_NAMESPACE, credentials: key });
const auth = app.auth();
const base = process.env.WECHAT_API_BASE || 'https://api.weixin.qq.com';
const { WX_APPID, WX_SECRET } = process.env;
// SCF's request limit; a function would refuse larger bodies rather than buffer them.
const MAX_BODY = 6 * 1024 * 1024;

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function login(req, res) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return send(res, 413, { error: 'PAYLOAD_TOO_LARGE' });
    chunks.push(chunk);
  }
  let event;
  try {
    event = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch (e) {
    return send(res, 400, { error: 'BAD_REQUEST', message: 'the body is not JSON' });
  }
  const code = event && event.code;
  if (typeof code !== 'string' || !code) return send(res, 400, { error: 'MISSING_CODE', message: 'code is required' });
  const url = `${base}/sns/jscode2session?appid=${encodeURIComponent(WX_APPID)}&secret=${encodeURIComponent(WX_SECRET)}` +
    `&js_code=${encodeURIComponent(code)}&grant_type=authorization_code`;
  const wx = await (await fetch(url)).json();
  if (wx.errcode) return send(res, 502, { error: 'WX_API_ERROR', errcode: wx.errcode, errmsg: wx.errmsg });
  // node-sdk's defaults are ours: exp = iat + 10 min, refresh = 1 h, expire = iat + 7 days.
  const ticket = auth.createTicket(wx.openid, { refresh: 3600 * 1000 });
  const out = { ticket, openid: wx.openid };
  if (wx.unionid) out.unionid = wx.unionid;
  send(res, 200, out);
}

const server = http.createServer((req, res) => {
  login(req, res).catch((e) => {
    if (!res.headersSent) send(res, 500, { error: 'INTERNAL', message: String((e && e.message) || e) });
    else res.destroy();
  });
});
server.listen(Number(process.env.PORT) || 9000, '0.0.0.0');

// SCF stops an instance with SIGTERM: stop accepting, let requests in flight finish, exit.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
});
