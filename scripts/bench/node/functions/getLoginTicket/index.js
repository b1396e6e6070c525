// getLoginTicket, Node reference (bench/test only): wx.login code -> jscode2session -> node-sdk
// createTicket(openid). Same settings as our Rust function: WX_APPID, WX_SECRET, WECHAT_API_BASE,
// TCB_ENV (else SCF_NAMESPACE), TCB_CUSTOM_LOGIN_KEY_FILE (the console's tcb_custom_login.json).
'use strict';
const fs = require('fs');
const tcb = require('@cloudbase/node-sdk');

const key = JSON.parse(fs.readFileSync(process.env.TCB_CUSTOM_LOGIN_KEY_FILE, 'utf8'));
const app = tcb.init({ env: process.env.TCB_ENV || process.env.SCF_NAMESPACE, credentials: key });
const auth = app.auth();
const base = process.env.WECHAT_API_BASE || 'https://api.weixin.qq.com';
const { WX_APPID, WX_SECRET } = process.env;

exports.main = async (event) => {
  const code = event && event.code;
  if (!code) return { error: 'MISSING_CODE', message: 'code is required' };
  const url = `${base}/sns/jscode2session?appid=${encodeURIComponent(WX_APPID)}&secret=${encodeURIComponent(WX_SECRET)}` +
    `&js_code=${encodeURIComponent(code)}&grant_type=authorization_code`;
  const wx = await (await fetch(url)).json();
  if (wx.errcode) return { error: 'WX_API_ERROR', errcode: wx.errcode, errmsg: wx.errmsg };
  // node-sdk's defaults are ours: exp = iat + 10 min, refresh = 1 h, expire = iat + 7 days.
  // (An explicit `expire` would be computed before createTicket reads the clock, so we let it
  // default rather than risk expire != iat + 7 days.)
  const ticket = auth.createTicket(wx.openid, { refresh: 3600 * 1000 });
  const out = { ticket, openid: wx.openid };
  if (wx.unionid) out.unionid = wx.unionid;
  return out;
};
