// Where this mini program's CloudBase env and HTTP functions are. Replace both before you run it in
// WeChat DevTools (`make e2e` runs this same code in Node with its own values).
module.exports = {
  // The env id, from the CloudBase console.
  envId: 'your-env-id',
  // The env's region: js-sdk 2.x signs in at https://{envId}.{region}.tcb-api.tencentcloudapi.com.
  region: 'ap-shanghai',
  // Where the HTTP access service serves the functions (`make deploy-web`, docs/deploy.md):
  // {functionsBaseUrl}/getLoginTicket, /getUserInfo, /test, /getPhoneNumber.
  functionsBaseUrl: 'https://your-env-id.service.tcloudbase.com',
}
