// The mini program: log in once at launch; pages wait for it through ensureLogin().
const { ensureLogin } = require('./libs/login')

App({
  globalData: { login: null, loginError: null },
  onLaunch() {
    this.globalData.login = ensureLogin().catch((e) => {
      this.globalData.loginError = e
      return null
    })
  },
})
