// A `wx` for Node: the mini program APIs that @cloudbase/js-sdk, @cloudbase/adapter-wx_mp and this
// example call, so the example's code runs unchanged in `make e2e`. It is not an emulator of the
// WeChat client: each API does what the WeChat API reference says it does, as far as these callers
// use it, and nothing else.
//
// - wx.request: Node's HTTP client. Like the WeChat client it answers `success` for every HTTP
//   status and `fail` only when there is no answer ({errMsg: "request:fail ..."}); a JSON answer is
//   parsed (dataType "json"); `data` becomes the query string of a GET and the JSON (or form) body
//   of other methods; it returns a RequestTask (abort, onChunkReceived, onHeadersReceived).
//   Only routed hosts are reachable, as the client's domain allow-list does: `route(url)` maps an
//   https URL to a loopback one, and anything else fails with "url not in domain list".
// - wx.login: a code from `nextCode()` (the WeChat mock knows every code).
// - storage (sync and async), system and account info, getRandomValues, arrayBufferToBase64,
//   showToast and friends (no-ops). connectSocket fails (no realtime here).
// Every API that takes callbacks also returns a promise when called without them, as the base
// library does from 2.10.2.
'use strict'

const http = require('http')
const crypto = require('crypto')

/** Calls an API made with callbacks, or returns a promise when none is given. */
function api(name, impl) {
  return function (options = {}) {
    const { success, fail, complete } = options
    const p = Promise.resolve().then(() => impl(options))
    if (!success && !fail && !complete) return p
    p.then(
      (res) => { success && success(res); complete && complete(res) },
      (err) => { fail && fail(err); complete && complete(err) },
    )
    return undefined
  }
}

function failure(name, why) {
  return { errMsg: `${name}:fail ${why}` }
}

/** The body and query of a wx.request, as the WeChat client encodes `data`. */
function encode(method, data, header) {
  const ct = Object.entries(header || {}).find(([k]) => k.toLowerCase() === 'content-type')
  const contentType = (ct && ct[1]) || 'application/json'
  if (data === undefined || data === null) return { body: null, query: '', contentType }
  if (method === 'GET' || method === 'HEAD') {
    if (typeof data === 'string') return { body: null, query: data, contentType }
    return { body: null, query: new URLSearchParams(Object.entries(data).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])).toString(), contentType }
  }
  if (data instanceof ArrayBuffer) return { body: Buffer.from(data), query: '', contentType }
  if (typeof data === 'string') return { body: Buffer.from(data), query: '', contentType }
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return { body: Buffer.from(new URLSearchParams(data).toString()), query: '', contentType }
  }
  return { body: Buffer.from(JSON.stringify(data)), query: '', contentType }
}

/**
 * Installs `wx`, `App`, `Page`, `getApp`, `getCurrentPages` as globals.
 * `route(url: URL) -> {base: 'http://127.0.0.1:P', path} | null`; `nextCode() -> string`.
 * Returns `{app(), page(path), requests}`: the App object, a new instance of a registered page, and
 * every request made (method, URL, status), for the report.
 */
function install({ route, nextCode, timeoutMs = 10000 }) {
  const storage = new Map()
  const requests = []
  const pages = new Map()
  let appObject = null
  let registering = null

  function request(options) {
    const listeners = { chunk: [], headers: [] }
    let req = null
    let aborted = false
    const task = {
      abort() { aborted = true; if (req) req.destroy(new Error('abort')) },
      onChunkReceived(cb) { listeners.chunk.push(cb) },
      offChunkReceived(cb) { listeners.chunk = listeners.chunk.filter((x) => x !== cb) },
      onHeadersReceived(cb) { listeners.headers.push(cb) },
      offHeadersReceived(cb) { listeners.headers = listeners.headers.filter((x) => x !== cb) },
    }
    const { success, fail, complete } = options
    const done = (ok, res) => {
      if (ok) success && success(res)
      else fail && fail(res)
      complete && complete(res)
    }
    let url
    try {
      url = new URL(options.url)
    } catch (e) {
      setImmediate(() => done(false, failure('request', 'invalid url')))
      return task
    }
    const target = url.protocol === 'https:' ? route(url) : null
    if (!target) {
      requests.push({ method: options.method || 'GET', url: `${url.origin}${url.pathname}`, status: 'refused' })
      setImmediate(() => done(false, failure('request', `url not in domain list: ${url.origin}`)))
      return task
    }
    const method = (options.method || 'GET').toUpperCase()
    const { body, query, contentType } = encode(method, options.data, options.header)
    const search = [url.search.replace(/^\?/, ''), query].filter(Boolean).join('&')
    const headers = { ...(options.header || {}), host: url.host }
    if (body && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = contentType
    if (body) headers['content-length'] = String(body.length)
    const entry = { method, url: `${url.origin}${url.pathname}`, status: null }
    requests.push(entry)
    const target_url = new URL(`${target.base}${target.path}${search ? `?${search}` : ''}`)
    req = http.request(target_url, { method, headers, timeout: options.timeout || timeoutMs }, (res) => {
      const chunks = []
      listeners.headers.forEach((cb) => cb({ header: res.headers }))
      res.on('data', (c) => {
        chunks.push(c)
        if (options.enableChunked) listeners.chunk.forEach((cb) => cb({ data: c.buffer.slice(c.byteOffset, c.byteOffset + c.length) }))
      })
      res.on('end', () => {
        entry.status = res.statusCode
        const text = Buffer.concat(chunks).toString('utf8')
        let data = text
        if ((options.dataType || 'json') === 'json' && options.responseType !== 'arraybuffer') {
          try { data = JSON.parse(text) } catch (e) { data = text }
        }
        if (options.responseType === 'arraybuffer') {
          const b = Buffer.concat(chunks)
          data = b.buffer.slice(b.byteOffset, b.byteOffset + b.length)
        }
        done(true, { statusCode: res.statusCode, data, header: res.headers, errMsg: 'request:ok' })
      })
      res.on('error', (e) => done(false, failure('request', e.message)))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => {
      entry.status = 'failed'
      done(false, failure('request', aborted ? 'abort' : e.message))
    })
    if (body) req.write(body)
    req.end()
    return task
  }

  const systemInfo = {
    brand: 'node', model: 'make e2e', pixelRatio: 2, screenWidth: 375, screenHeight: 667,
    windowWidth: 375, windowHeight: 667, language: 'zh_CN', version: '8.0.50', system: 'node',
    platform: 'devtools', SDKVersion: '3.0.0', AppPlatform: 'wechat',
  }
  const wx = {
    request,
    login: api('login', () => ({ code: nextCode(), errMsg: 'login:ok' })),
    getSystemInfoSync: () => ({ ...systemInfo }),
    getSystemInfo: api('getSystemInfo', () => ({ ...systemInfo })),
    getDeviceInfo: () => ({ brand: systemInfo.brand, model: systemInfo.model, system: systemInfo.system, platform: systemInfo.platform }),
    getWindowInfo: () => ({ pixelRatio: 2, windowWidth: 375, windowHeight: 667, screenWidth: 375, screenHeight: 667 }),
    getAppBaseInfo: () => ({ SDKVersion: systemInfo.SDKVersion, language: systemInfo.language, version: systemInfo.version }),
    getAccountInfoSync: () => ({ miniProgram: { appId: 'wx-e2e-app', envVersion: 'develop', version: '' } }),
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => { storage.set(key, value) },
    removeStorageSync: (key) => { storage.delete(key) },
    clearStorageSync: () => storage.clear(),
    getStorageInfoSync: () => ({ keys: [...storage.keys()], currentSize: 0, limitSize: 10240 }),
    getStorage: api('getStorage', ({ key }) => {
      if (!storage.has(key)) throw failure('getStorage', 'data not found')
      return { data: storage.get(key), errMsg: 'getStorage:ok' }
    }),
    setStorage: api('setStorage', ({ key, data }) => { storage.set(key, data); return { errMsg: 'setStorage:ok' } }),
    removeStorage: api('removeStorage', ({ key }) => { storage.delete(key); return { errMsg: 'removeStorage:ok' } }),
    getRandomValues: api('getRandomValues', ({ length }) => {
      const b = crypto.randomBytes(length)
      return { randomValues: b.buffer.slice(b.byteOffset, b.byteOffset + b.length), errMsg: 'getRandomValues:ok' }
    }),
    arrayBufferToBase64: (buf) => Buffer.from(buf).toString('base64'),
    base64ToArrayBuffer: (s) => { const b = Buffer.from(s, 'base64'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) },
    getNetworkType: api('getNetworkType', () => ({ networkType: 'wifi' })),
    onNetworkStatusChange: () => {},
    onAppShow: () => {}, offAppShow: () => {}, onAppHide: () => {}, offAppHide: () => {},
    showToast: api('showToast', () => ({})), showLoading: api('showLoading', () => ({})),
    hideLoading: api('hideLoading', () => ({})), showModal: api('showModal', () => ({ confirm: true })),
    connectSocket: (options = {}) => {
      const task = { onOpen() {}, onClose() {}, onMessage() {}, close() {}, send() {}, onError(cb) { setImmediate(() => cb(failure('connectSocket', 'no sockets in make e2e'))) } }
      setImmediate(() => options.fail && options.fail(failure('connectSocket', 'no sockets in make e2e')))
      return task
    },
  }

  global.wx = wx
  global.App = (obj) => { appObject = obj }
  global.getApp = () => appObject
  global.Page = (obj) => { pages.set(registering, obj) }
  global.getCurrentPages = () => []

  return {
    requests,
    app: () => appObject,
    /** Loads a page module (its `Page({...})` call) and returns a fresh instance with setData. */
    page(path) {
      registering = path
      require(path)
      registering = null
      const def = pages.get(path)
      if (!def) throw new Error(`${path} did not call Page()`)
      const instance = Object.create(def)
      instance.data = JSON.parse(JSON.stringify(def.data || {}))
      instance.setData = function (patch, cb) { Object.assign(this.data, patch); cb && cb() }
      return instance
    },
  }
}

module.exports = { install }
