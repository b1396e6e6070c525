//! getLoginTicket's configuration, read once at init through the runtime's `configure`.
//!
//! Settings: `WX_APPID`, `WX_SECRET`, `TCB_ENV` (else `SCF_NAMESPACE`), `WECHAT_API_BASE`
//! (default `https://api.weixin.qq.com`), and the custom-login key (`TCB_CUSTOM_LOGIN_KEY` /
//! `TCB_CUSTOM_LOGIN_KEY_FILE` / `tcb_custom_login.json` beside the bootstrap). A problem names
//! the setting and the kind of problem; the detail (paths, env ids) goes to the init log only.

use scf_runtime::{Misconfig, Settings};
use tracing::info;
use wxlogin::WeChatClient;
use wxlogin::{CustomLoginKey, KeyError, TicketError, resolve_env};

use crate::exchange::env_problem;
use crate::login::Login;

/// Build the state from `settings`; the key file is looked for in `code_dir`.
pub(crate) fn build(
    settings: &Settings<'_>,
    code_dir: &std::path::Path,
) -> Result<Login, Misconfig> {
    let wechat = WeChatClient::from_settings(settings)?;
    let (key, _source) = CustomLoginKey::load(|k| settings.raw(k), code_dir).map_err(|e| {
        Misconfig::new("TCB_CUSTOM_LOGIN_KEY", key_problem(&e)).with_detail(e.to_string())
    })?;
    let env = resolve_env(
        settings.get("TCB_ENV").as_deref(),
        settings.get("SCF_NAMESPACE").as_deref(),
        key.env_id(),
    )
    .map_err(|e| Misconfig::new(env_setting(&e), env_problem(&e)).with_detail(e.to_string()))?;
    info!(
        appid = wechat.appid(),
        env,
        key_bits = key.bits(),
        "WeChat client and custom-login key ready"
    );
    Ok(Login::new(wechat, key, env))
}

fn key_problem(e: &KeyError) -> String {
    match e {
        KeyError::NotFound(_) => "no key: set TCB_CUSTOM_LOGIN_KEY or TCB_CUSTOM_LOGIN_KEY_FILE, or ship tcb_custom_login.json beside the bootstrap".into(),
        KeyError::Unreadable(..) => "the key file cannot be read".into(),
        KeyError::NotJson(_) => "the key is not the console's tcb_custom_login.json".into(),
        other => other.to_string(),
    }
}

/// The setting an env problem is about: a key without env_id is the key's problem.
fn env_setting(e: &TicketError) -> &'static str {
    if matches!(e, TicketError::KeyWithoutEnvId) {
        "TCB_CUSTOM_LOGIN_KEY"
    } else {
        "TCB_ENV"
    }
}
