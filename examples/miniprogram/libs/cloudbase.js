// The CloudBase app, made once: @cloudbase/js-sdk with the WeChat mini program adapter.
// js-sdk 2.27.2 and adapter-wx_mp 1.3.1 are pinned in package.json (the custom-login recipe names
// js-sdk 2.27.3, which the npm registry does not have); `make e2e` also runs this file against
// js-sdk 3.x.
const cloudbase = require('@cloudbase/js-sdk')
const adapter = require('@cloudbase/adapter-wx_mp')
const config = require('../config')

cloudbase.useAdapters(adapter.default || adapter)

const app = cloudbase.init({ env: config.envId, region: config.region })
const auth = app.auth({ persistence: 'local' })

module.exports = { app, auth }
