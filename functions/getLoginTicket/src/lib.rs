//! getLoginTicket: `{code}` from `wx.login` → WeChat `sns/jscode2session` → a CloudBase
//! custom-login ticket → `{ticket, openid, unionid?}`.
//!
//! Input (`request.rs`): `{code, idempotencyKey?}` as callFunction data, or on an HTTP `POST` as
//! a JSON body (whatever its label), a form body, the key also as an `Idempotency-Key` header.
//! The mini program then signs in with `auth.signInWithCustomTicket()`.
//!
//! Replays (the whole policy in `replay.rs`; the storage, a generic code cache, in `cache.rs`): a
//! code seen in the last 5 minutes gets its first result again, but a ticket goes only to the
//! code's own user as vouched for by the platform (callFunction), or to a retry that carries the
//! first request's idempotency key. Anyone else gets what WeChat answers for a used code: 401
//! `WX_API_ERROR` 40163.
//!
//! The state and the exchange (jscode2session, then the ticket): `login.rs`; the result:
//! `result.rs`; how failures are answered: `exchange.rs`. Configuration, read once at init:
//! `config.rs` (a problem makes every call answer `MISCONFIGURED`, naming the setting, never its
//! value).

mod cache;
mod config;
mod exchange;
mod login;
mod replay;
mod request;
mod result;

use std::path::PathBuf;

use scf_runtime::{Configured, Context, Event, FnError, Settings, configure};

pub use exchange::{QUOTA_RETRY_AFTER_SECS, wechat_error};
pub use login::Login;
pub use replay::CODE_USER_MISMATCH;
pub use request::{
    IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, LoginRequest, MAX_CODE_BYTES,
    MAX_IDEMPOTENCY_KEY_CHARS, MIN_IDEMPOTENCY_KEY_CHARS, request_from,
};
pub use result::LoginResult;

/// The function's state: ready, or the configuration error every call answers with.
pub type State = Configured<Login>;

/// Build the state from the process environment, once, at init (see `config.rs`). The key file
/// is looked for beside the bootstrap.
pub fn init() -> State {
    let code_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    init_from(&Settings::from_env(), &code_dir)
}

/// [`init`] with explicit settings and code directory (for tests).
pub fn init_from(settings: &Settings<'_>, code_dir: &std::path::Path) -> State {
    configure("getLoginTicket", settings, |s| config::build(s, code_dir))
}

/// The handler: the request (`request.rs`), then the login with its replay rules (`replay.rs`).
///
/// # Errors
/// `MISCONFIGURED` (500) when init failed; as [`request_from`] and [`Login::login`] otherwise.
pub async fn handle(state: &State, event: Event, ctx: Context) -> Result<LoginResult, FnError> {
    let login = state.as_ref().map_err(Clone::clone)?;
    let request = request_from(&event)?;
    login.login(&request, &ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misconfiguration_names_the_setting_not_the_value() {
        let dir = std::env::temp_dir();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Settings::from_lookup(move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        let msg = |s: State| {
            s.err()
                .map(|e| (e.error.as_str().to_owned(), e.message))
                .unwrap()
        };
        let (code, m) = msg(init_from(&env(&[("WX_SECRET", "s3cr3t-value")]), &dir));
        assert_eq!(code, "MISCONFIGURED");
        assert!(m.starts_with("WX_APPID"), "{m}");
        let (_, m) = msg(init_from(
            &env(&[("WX_APPID", "wx1"), ("WX_SECRET", "  ")]),
            &dir,
        ));
        assert!(m.starts_with("WX_SECRET"), "{m}");
        let (_, m) = msg(init_from(
            &env(&[
                ("WX_APPID", "wx1"),
                ("WX_SECRET", "s3cr3t-value"),
                ("TCB_CUSTOM_LOGIN_KEY", "{not json s3cr3t"),
            ]),
            &dir,
        ));
        assert!(
            m.starts_with("TCB_CUSTOM_LOGIN_KEY") && !m.contains("s3cr3t"),
            "{m}"
        );
        let (_, m) = msg(init_from(
            &env(&[
                ("WX_APPID", "wx1"),
                ("WX_SECRET", "s3cr3t-value"),
                ("WECHAT_API_BASE", "ftp://x"),
            ]),
            &dir,
        ));
        assert!(m.starts_with("WECHAT_API_BASE"), "{m}");
    }
}
