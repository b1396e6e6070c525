//! getPhoneNumber's configuration, read once at init through the runtime's `configure`.
//!
//! Settings: `WX_APPID`, `WX_SECRET` (for the access_token), `WECHAT_API_BASE` (default
//! `https://api.weixin.qq.com`). A problem names the setting, never its value. Unlike
//! getLoginTicket, no custom-login key and no env: this function mints nothing.

use scf_runtime::{Misconfig, Settings};
use tracing::info;
use wxlogin::{DEFAULT_API_BASE, WeChatClient};

/// Build the WeChat client from `settings`. Its access_token cache lives as long as the
/// instance, shared by every invocation (and every concurrent web-mode request).
pub(crate) fn build(settings: &Settings<'_>) -> Result<WeChatClient, Misconfig> {
    let appid = settings.required("WX_APPID")?;
    let secret = settings.secret("WX_SECRET")?;
    let base = settings
        .get("WECHAT_API_BASE")
        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Misconfig::new(
            "WECHAT_API_BASE",
            "must start with https:// or http://",
        ));
    }
    let wechat = WeChatClient::new(appid, secret, &base)
        .map_err(|e| Misconfig::new("WECHAT_API_BASE", e.to_string()))?;
    info!(appid = wechat.appid(), "WeChat client ready");
    Ok(wechat)
}
