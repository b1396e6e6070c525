// One SDK line of `make e2e`: the example's own code (app.js, libs/, pages/index) against the
// local stack (target/debug/e2e: the mock WeChat, the CloudBase mock and our functions), with
// @cloudbase/js-sdk taken from the folder given. Prints one line per check:
//   ok - <check>            or            not ok - <check>: <why, naming the step>
// and exits 1 when a check failed. run.js starts it once per SDK line, each in a fresh process
// (the SDK keeps state in module singletons).
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const http = require('http')
const Module = require('module')
const { install } = require('./wx')

const EXAMPLE = path.resolve(__dirname, '..')
const [, , sdkDir, label] = process.argv
const stack = JSON.parse(process.env.E2E_STACK)

// The example's `require('@cloudbase/...')` resolves in the chosen SDK line's folder; the SDK's own
// requires resolve from where they are, as usual.
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, parent, ...rest) {
  if (request.startsWith('@cloudbase/js-sdk') || request.startsWith('@cloudbase/adapter-wx_mp')) {
    return resolve.call(this, request, parent, false, { paths: [sdkDir] })
  }
  return resolve.call(this, request, parent, ...rest)
}

// The example's config.js, with this stack's values (the file itself holds placeholders).
const functionsHost = `${stack.envId}.service.tcloudbase.com`
const config = { envId: stack.envId, region: 'ap-shanghai', functionsBaseUrl: `https://${functionsHost}` }
const configPath = path.join(EXAMPLE, 'config.js')
const configModule = new Module(configPath)
Object.assign(configModule, { filename: configPath, loaded: true, exports: config })
require.cache[configPath] = configModule

// Routes: CloudBase's hosts to the CloudBase mock, the functions' host to our functions (by the
// first path segment), nothing else.
function route(url) {
  if (url.hostname.endsWith('.tcb-api.tencentcloudapi.com') || url.hostname.endsWith('.tcloudbasegateway.com')) {
    return { base: stack.cloudbase, path: url.pathname }
  }
  if (url.hostname === functionsHost) {
    const [, name, ...rest] = url.pathname.split('/')
    const base = stack.functions[name]
    return base ? { base, path: `/${rest.join('/')}` } : null
  }
  return null
}

let codes = []
const wxApp = install({
  route,
  nextCode: () => {
    if (!codes.length) throw new Error('the test gave wx.login no code')
    return codes.shift()
  },
})

/** A plain HTTP call to the stack (the harness's own, not the mini program's). */
function call(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body))
    const req = http.request(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json = null
        try { json = JSON.parse(text) } catch (e) {}
        resolve({ status: res.statusCode, json, text })
      })
    })
    req.on('error', reject)
    if (data) req.write(data)
    req.end()
  })
}

const stats = async () => (await call('GET', `${stack.cloudbase}/mock/stats`)).json
const setClock = (offset_secs) => call('POST', `${stack.cloudbase}/mock/clock`, { offset_secs })

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url')

/** A ticket as node-sdk's createTicket writes it, signed with `privateKey`, `claims` over the good ones. */
function ticketWith(privateKey, keyId, over) {
  const now = Date.now()
  const claims = { alg: 'RS256', env: stack.envId, iat: now, exp: now + 600000, uid: 'oE2eForgedUser0001', refresh: 3600000, expire: now + 7 * 86400000, ...over }
  const signing = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}`
  const sig = crypto.sign('RSA-SHA256', Buffer.from(signing), privateKey).toString('base64url')
  return `${keyId}/@@/${signing}.${sig}`
}

const results = []
async function check(name, fn) {
  try {
    await fn()
    results.push({ name, ok: true })
    console.log(`ok - [${label}] ${name}`)
  } catch (e) {
    results.push({ name, ok: false })
    console.log(`not ok - [${label}] ${name}: ${e && e.message ? e.message : e}`)
  }
}

function expect(cond, why) {
  if (!cond) throw new Error(why)
}

function summary(v) {
  return JSON.stringify(v, (k, x) => (typeof x === 'string' && x.length > 60 ? `${x.slice(0, 12)}…` : x))
}

async function main() {
  const login = require(path.join(EXAMPLE, 'libs/login.js'))
  const { auth } = require(path.join(EXAMPLE, 'libs/cloudbase.js'))
  let first = null

  await check('login at launch: wx.login, getLoginTicket, signInWithCustomTicket', async () => {
    codes.push('alice.1')
    require(path.join(EXAMPLE, 'app.js'))
    const app = wxApp.app()
    app.onLaunch()
    first = await app.globalData.login
    const err = app.globalData.loginError
    expect(!err, err && err.message)
    expect(first && first.uid, `no uid after sign-in: ${summary(first)}`)
    expect(/^o[\w-]{27}$/.test(first.openid), `getLoginTicket's openid is not an openid: ${first.openid}`)
    const s = await stats()
    expect(s.signins === 1 && s.refused === 0, `the CloudBase mock saw ${summary(s)}`)
  })

  let page = null
  await check('auth.currentUser.uid is the uid getUserInfo reports over HTTP (Bearer) and over callFunction', async () => {
    expect(first, 'no login')
    page = wxApp.page(path.join(EXAMPLE, 'pages/index/index.js'))
    await page.onLoad()
    expect(!page.data.error, `the page shows an error: ${page.data.error}`)
    const user = auth.currentUser
    const sdkUid = user && user.uid
    expect(sdkUid === first.uid, `auth.currentUser.uid ${sdkUid}, the login's ${first.uid}`)
    const http = page.data.userInfo
    expect(http && http.uid === sdkUid, `getUserInfo over HTTP: ${summary(http)}`)
    const byCall = page.data.userInfoByCall
    expect(byCall && byCall.uid === sdkUid, `getUserInfo over callFunction: ${summary(byCall)}`)
  })

  await check("customUserId is the openid getLoginTicket returned (HTTP and callFunction)", async () => {
    expect(page, 'no page')
    const http = page.data.userInfo
    expect(http.customUserId === first.openid, `HTTP customUserId ${http.customUserId}, getLoginTicket's openid ${first.openid}`)
    expect(http.openid === first.openid, `HTTP openid ${http.openid}`)
    expect(http.isAnonymous === false, `HTTP isAnonymous ${http.isAnonymous}`)
    const byCall = page.data.userInfoByCall
    expect(byCall.customUserId === first.openid && byCall.openid === first.openid, `callFunction: ${summary(byCall)}`)
  })

  await check('test says authenticated for the user, and not for an anonymous or tokenless caller', async () => {
    const t = page && page.data.test
    expect(t && t.success === true && t.identity && t.identity.uid === first.uid, `test for the user: ${summary(t)}`)
    const anon = (await call('POST', `${stack.cloudbase}/mock/auth/token`, { anonymous: true })).json
    const asAnon = await new Promise((resolve, reject) => wx.request({
      url: `${config.functionsBaseUrl}/test`,
      header: { Authorization: `Bearer ${anon.access_token}` },
      success: resolve,
      fail: reject,
    }))
    expect(asAnon.statusCode === 401 && asAnon.data.error === 'ANONYMOUS' && asAnon.data.success === false, `test for the publishable key: ${asAnon.statusCode} ${summary(asAnon.data)}`)
    const none = await new Promise((resolve, reject) => wx.request({ url: `${config.functionsBaseUrl}/test`, success: resolve, fail: reject }))
    expect(none.statusCode === 401 && none.data.error === 'UNAUTHENTICATED', `test without a token: ${none.statusCode} ${summary(none.data)}`)
  })

  await check("getPhoneNumber from the page's button handler", async () => {
    expect(page, 'no page')
    await page.onGetPhoneNumber({ detail: { code: 'phone.e2e-1' } })
    expect(!page.data.error, `the page shows an error: ${page.data.error}`)
    const phone = page.data.phone
    expect(phone && phone.purePhoneNumber === '13800138000' && phone.countryCode === '86', `getPhoneNumber: ${summary(phone)}`)
  })

  await check('a second login of the same user keeps the uid', async () => {
    await login.signOut()
    codes.push('alice.2')
    const again = await login.ensureLogin()
    expect(again.uid === first.uid, `uid ${again.uid} after the second login, ${first.uid} before`)
    expect(again.openid === first.openid, `openid ${again.openid}, ${first.openid} before`)
    const s = await stats()
    expect(s.signins === 2 && s.users === 1, `the CloudBase mock saw ${summary(s)}`)
  })

  const keyFile = JSON.parse(fs.readFileSync(stack.keyFile, 'utf8'))
  const refusals = [
    ['a tampered ticket', async () => {
      codes.push('mallory.1')
      const { ticket } = await login.fetchTicket(await login.wxLogin())
      const [prefix, jwt] = ticket.split('/@@/')
      const [h, c, s] = jwt.split('.')
      const claims = JSON.parse(Buffer.from(c, 'base64url').toString())
      claims.uid = first.openid
      return `${prefix}/@@/${h}.${b64url(claims)}.${s}`
    }, 'signature'],
    ['an expired ticket', async () => ticketWith(keyFile.private_key, keyFile.private_key_id, { iat: Date.now() - 3600000, exp: Date.now() - 60000 }), 'expired'],
    ['a ticket signed with another key', async () => {
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
      return ticketWith(privateKey, keyFile.private_key_id, {})
    }, 'signature'],
  ]
  for (const [what, make, rule] of refusals) {
    await check(`sign-in refuses ${what}`, async () => {
      const ticket = await make()
      const before = await stats()
      let refused = null
      try {
        await login.signInWithTicket(ticket)
      } catch (e) {
        refused = e
      }
      expect(refused && refused.step === 'signInWithCustomTicket', `accepted: ${refused ? refused.message : 'signed in'}`)
      expect(refused.message.includes(rule), `refused, but not for its ${rule}: ${refused.message}`)
      const after = await stats()
      expect(after.refused === before.refused + 1 && after.signins === before.signins, `the CloudBase mock saw ${summary(after)}`)
    })
  }

  await check('after it expires, the access token is refused by our functions (the mock clock moved, no sleep)', async () => {
    await login.signOut()
    // Sign in while the mock's clock is 2 h 2 min behind: the token it issues expired 2 min ago.
    await setClock(-(7200 + 120))
    codes.push('alice.3')
    const stale = await login.ensureLogin()
    await setClock(0)
    expect(stale.uid === first.uid, `uid ${stale.uid}, ${first.uid} before`)
    const res = await login.callHttp('getUserInfo')
    expect(res.statusCode === 401 && res.data.error === 'INVALID_TOKEN' && res.data.reason === 'expired', `getUserInfo with the expired token: ${res.statusCode} ${summary(res.data)}`)
    const t = await login.callHttp('test')
    expect(t.statusCode === 401 && t.data.reason === 'expired', `test with the expired token: ${t.statusCode} ${summary(t.data)}`)
  })

  const failed = results.filter((r) => !r.ok).length
  const seen = (pred) => [...new Set(wxApp.requests.filter(pred).map((r) => `${r.method} ${new URL(r.url).pathname}`))].join(', ')
  console.log(`# [${label}] CloudBase routes the SDK called: ${seen((r) => route(new URL(r.url)) && route(new URL(r.url)).base === stack.cloudbase)}`)
  console.log(`# [${label}] refused (not routed): ${seen((r) => r.status === 'refused') || 'none'}`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  console.log(`not ok - [${label}] the run itself: ${e && e.stack ? e.stack : e}`)
  process.exit(1)
})
