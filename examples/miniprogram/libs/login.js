// The custom login, as the mini program runs it:
//   wx.login() → a code → POST {code} to getLoginTicket (HTTP) → a ticket
//   → auth.setCustomSignFunc(() => ticket) → auth.signInWithCustomTicket()
// and the calls a signed-in user makes afterwards: HTTP functions with the access token as
// `Authorization: Bearer`, and app.callFunction.
const { app, auth } = require('./cloudbase')
const config = require('../config')

/** A failed step of the login or of a call: `step` names it, `status` / `body` are the answer. */
class LoginError extends Error {
  constructor(step, message, detail) {
    super(`${step}: ${message}`)
    this.step = step
    Object.assign(this, detail || {})
  }
}

/** wx.request as a promise; resolves with `{statusCode, data, header}` for any HTTP status. */
function request(options) {
  return new Promise((resolve, reject) => {
    wx.request({ ...options, success: resolve, fail: reject })
  })
}

/** The code of a fresh wx.login(). */
function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(new LoginError('wx.login', 'no code'))),
      fail: (e) => reject(new LoginError('wx.login', e.errMsg || String(e))),
    })
  })
}

/** 16 random bytes, base64: one idempotency key per login attempt (base library 2.15.0+). */
function newIdempotencyKey() {
  return new Promise((resolve, reject) => {
    wx.getRandomValues({
      length: 16,
      success: (res) => resolve(wx.arrayBufferToBase64(res.randomValues)),
      fail: reject,
    })
  })
}

/**
 * getLoginTicket over HTTP: `{ticket, openid, unionid?}`. A network failure is retried once with
 * the same code and the same idempotency key, so the function hands back the first ticket instead
 * of asking WeChat again (which would answer 40163, "code been used").
 */
async function fetchTicket(code) {
  const idempotencyKey = await newIdempotencyKey()
  const post = () => request({
    url: `${config.functionsBaseUrl}/getLoginTicket`,
    method: 'POST',
    header: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    data: { code },
  })
  let res
  try {
    res = await post()
  } catch (e) {
    res = await post()
  }
  if (res.statusCode !== 200 || !res.data || typeof res.data.ticket !== 'string') {
    const error = (res.data && res.data.error) || `HTTP ${res.statusCode}`
    throw new LoginError('getLoginTicket', error, { status: res.statusCode, body: res.data })
  }
  return res.data
}

/** Sign in with `ticket`. Resolves with the SDK's login state; rejects naming the SDK's error. */
async function signInWithTicket(ticket) {
  auth.setCustomSignFunc(() => Promise.resolve(ticket))
  const res = await auth.signInWithCustomTicket()
  if (res && res.error) {
    const e = res.error
    throw new LoginError('signInWithCustomTicket', e.message || e.status || 'refused', { error: e })
  }
  return auth.getLoginState()
}

/** The signed-in user's CloudBase uid, or null. */
async function currentUid() {
  const state = await auth.getLoginState()
  return (state && state.user && state.user.uid) || null
}

let pending = null
let lastLogin = null

/**
 * Signed in, once: `{uid, openid}` (openid as getLoginTicket returned it at this login). Several
 * pages calling it at once share one login.
 */
function ensureLogin() {
  if (!pending) {
    pending = (async () => {
      const uid = await currentUid()
      if (uid && lastLogin) return lastLogin
      const code = await wxLogin()
      const { ticket, openid } = await fetchTicket(code)
      await signInWithTicket(ticket)
      lastLogin = { uid: await currentUid(), openid }
      return lastLogin
    })().finally(() => {
      pending = null
    })
  }
  return pending
}

/** Sign out (the next ensureLogin() logs in again). */
async function signOut() {
  lastLogin = null
  await auth.signOut()
}

/** The current access token (refreshed by the SDK when it is due). */
async function accessToken() {
  const res = await auth.getAccessToken()
  return res && res.accessToken
}

/** Call an HTTP function as the signed-in user: `{statusCode, data}`. */
async function callHttp(name, data) {
  const token = await accessToken()
  return request({
    url: `${config.functionsBaseUrl}/${name}`,
    method: data ? 'POST' : 'GET',
    header: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    data,
  })
}

/** app.callFunction as the signed-in user: the function's answer (`result`). */
async function callFunction(name, data) {
  const res = await app.callFunction({ name, data: data || {} })
  if (res && res.code) throw new LoginError(`callFunction ${name}`, `${res.code}: ${res.message}`, { body: res })
  return res.result
}

module.exports = {
  LoginError,
  accessToken,
  callFunction,
  callHttp,
  currentUid,
  ensureLogin,
  fetchTicket,
  signInWithTicket,
  signOut,
  wxLogin,
}
