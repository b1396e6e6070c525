//! getPhoneNumber's configuration, read once at init through the runtime's `configure`.
//!
//! Settings: `WX_APPID`, `WX_SECRET` (for the access_token), `WECHAT_API_BASE` (default
//! `https://api.weixin.qq.com`). A problem names the setting, never its value. Unlike
//! getLoginTicket, no custom-login key and no env: this function mints nothing.

use scf_runtime::{Misconfig, Settings};
use tracing::info;
use wxlogin::WeChatClient;

/// Build the WeChat client from `settings`. Its access_token cache lives as long as the
/// instance, shared by every invocation (and every concurrent web-mode request).
pub(crate) fn build(settings: &Settings<'_>) -> Result<WeChatClient, Misconfig> {
    let wechat = WeChatClient::from_settings(settings)?;
    info!(appid = wechat.appid(), "WeChat client ready");
    Ok(wechat)
}
