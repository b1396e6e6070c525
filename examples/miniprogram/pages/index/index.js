// The page shows who the functions say the caller is, over HTTP and over callFunction, and takes
// a phone number from the getPhoneNumber button.
const { callFunction, callHttp, ensureLogin } = require('../../libs/login')

Page({
  data: { login: null, userInfo: null, userInfoByCall: null, test: null, phone: null, error: '' },

  async onLoad() {
    try {
      const login = await ensureLogin()
      this.setData({ login })
      await this.refresh()
    } catch (e) {
      this.setData({ error: e.message })
    }
  },

  async refresh() {
    const userInfo = await callHttp('getUserInfo')
    const test = await callHttp('test')
    const userInfoByCall = await callFunction('getUserInfo')
    this.setData({ userInfo: userInfo.data, test: test.data, userInfoByCall })
  },

  // <button open-type="getPhoneNumber" bindgetphonenumber="onGetPhoneNumber">
  async onGetPhoneNumber(e) {
    if (!e.detail || !e.detail.code) {
      this.setData({ error: 'the user did not share a phone number' })
      return
    }
    try {
      await ensureLogin()
      const res = await callHttp('getPhoneNumber', { code: e.detail.code })
      if (res.statusCode !== 200) throw new Error((res.data && res.data.error) || `HTTP ${res.statusCode}`)
      this.setData({ phone: res.data })
    } catch (err) {
      this.setData({ error: err.message })
    }
  },
})
