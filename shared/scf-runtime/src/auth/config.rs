//! Token-verification settings, read once when the runtime starts.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `TCB_TOKEN_VERIFY` | `jwks` | `jwks`: check signatures offline against the key set, with introspect as the fallback when the key set cannot be fetched; `introspect`: ask CloudBase about every new token; `off`: ignore access tokens (HTTP callers are then `401 UNAUTHENTICATED`) |
//! | `TCB_ENV`, else `SCF_NAMESPACE` | — | the env id a token's `aud` must contain |
//! | `TCB_JWKS_URL` | `https://{env}.api.tcloudbasegateway.com/auth/v1/certs` | the key set (undocumented endpoint: `docs/identity.md`) |
//! | `TCB_INTROSPECT_URL` | `https://{env}.api.tcloudbasegateway.com/auth/v1/token/introspect` | the documented online check |
//! | `TCB_TOKEN_ISSUER` | the env's three issuer hosts (`issuer.rs`) | a comma-separated list of accepted `iss` values that replaces the default |
//! | `TCB_ISSUER_HOSTS` | `true` | also ask a token's own (accepted) issuer host: for its key set when the `kid` is not in `TCB_JWKS_URL`'s, and for `/auth/v1/user/me`; `false` keeps every call on the configured URLs (the local mock sets it) |
//! | `TCB_USER_ME_URL` | the token's issuer host (with `TCB_ISSUER_HOSTS`), else the gateway, `/auth/v1/user/me` | where the customUserId of a token without an openid is looked up |
//! | `TCB_CUSTOM_USER_ID_IS_OPENID` | `true` | a custom-ticket user's customUserId is its openid (getLoginTicket mints tickets so) |
//! | `TCB_TRUST_WECHAT_CONTEXT` | `false` | trust `wechatContext` of `X-Cloudbase-Context` without a token (only once the probe has shown the gateway strips client copies) |
//!
//! `TENCENTCLOUD_REGION` (set by SCF) narrows the default tcb-api issuer to that region's host.
//!
//! URLs must be `https://`; `http://` is accepted only for loopback hosts (the local mock), so a
//! typo cannot send tokens in clear text. A bad setting does not stop the function: the
//! functions that ask for the caller answer `500 MISCONFIGURED` naming it, the others work.

use super::issuer::{self, Issuers};
use super::url::is_allowed_url;
use crate::config::Misconfig;

/// How tokens are checked (`TCB_TOKEN_VERIFY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Offline, against the JWKS; introspect when the JWKS cannot be fetched.
    Jwks,
    /// Online, introspect for every new token.
    Introspect,
    /// Tokens are ignored.
    Off,
}

/// The settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthConfig {
    pub(crate) mode: Mode,
    /// The env id tokens are for.
    pub(crate) env_id: String,
    /// The key set asked first (`TCB_JWKS_URL`).
    pub(crate) jwks_url: String,
    pub(crate) introspect_url: String,
    /// `/auth/v1/user/me` when `TCB_USER_ME_URL` sets it; else chosen per token.
    pub(crate) user_me_url: Option<String>,
    /// The gateway's `/auth/v1/user/me`, for tokens whose issuer host is not asked.
    pub(crate) gateway_user_me_url: String,
    pub(crate) issuers: Issuers,
    /// `TCB_ISSUER_HOSTS`.
    pub(crate) issuer_hosts: bool,
    /// `TCB_CUSTOM_USER_ID_IS_OPENID`.
    pub(crate) custom_user_id_is_openid: bool,
    pub(crate) trust_wechat_context: bool,
}

const MODE_VAR: &str = "TCB_TOKEN_VERIFY";

impl AuthConfig {
    /// Resolve the settings through `lookup` (the process environment in production). Empty
    /// values count as unset.
    ///
    /// # Errors
    /// [`Misconfig`] naming the variable: an unknown `TCB_TOKEN_VERIFY`, no env id while tokens
    /// are checked, a URL that is not `https://` (or `http://` on loopback), a
    /// boolean setting that is not `true`/`false`, a `TCB_TOKEN_ISSUER` that lists no URL.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Misconfig> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mode = match get(MODE_VAR).as_deref() {
            None | Some("jwks") => Mode::Jwks,
            Some("introspect") => Mode::Introspect,
            Some("off") => Mode::Off,
            Some(_) => {
                return Err(Misconfig::new(
                    MODE_VAR,
                    "is not one of jwks, introspect, off",
                ));
            }
        };
        let flag = |var: &'static str, default: bool| match get(var).as_deref() {
            None => Ok(default),
            Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(_) => Err(Misconfig::new(var, "is not true or false")),
        };
        let trust_wechat_context = flag("TCB_TRUST_WECHAT_CONTEXT", false)?;
        let issuer_hosts = flag("TCB_ISSUER_HOSTS", true)?;
        let custom_user_id_is_openid = flag("TCB_CUSTOM_USER_ID_IS_OPENID", true)?;
        let env_id = get("TCB_ENV").or_else(|| get("SCF_NAMESPACE"));
        let Some(env_id) = env_id else {
            if mode == Mode::Off {
                return Ok(AuthConfig {
                    mode,
                    env_id: String::new(),
                    jwks_url: String::new(),
                    introspect_url: String::new(),
                    user_me_url: None,
                    gateway_user_me_url: String::new(),
                    issuers: Issuers::none(),
                    issuer_hosts: false,
                    custom_user_id_is_openid,
                    trust_wechat_context,
                });
            }
            return Err(Misconfig::new(
                "TCB_ENV",
                "is not set (nor SCF_NAMESPACE): access tokens cannot be checked without the env id",
            ));
        };
        let gateway = format!("https://{env_id}.api.tcloudbasegateway.com");
        let url = |var: &'static str, default: String| -> Result<String, Misconfig> {
            let v = get(var).unwrap_or(default);
            if is_allowed_url(&v) {
                Ok(v)
            } else {
                Err(Misconfig::new(
                    var,
                    "must be an https:// URL (http:// only for 127.0.0.1, localhost or [::1])",
                ))
            }
        };
        let issuers = match get(issuer::ISSUER_VAR) {
            Some(list) => Issuers::from_list(&list)?,
            None => Issuers::default_for(&env_id, get("TENCENTCLOUD_REGION").as_deref()),
        };
        let user_me_url = match get("TCB_USER_ME_URL") {
            Some(_) => Some(url("TCB_USER_ME_URL", String::new())?),
            None => None,
        };
        Ok(AuthConfig {
            mode,
            jwks_url: url("TCB_JWKS_URL", format!("{gateway}/auth/v1/certs"))?,
            introspect_url: url(
                "TCB_INTROSPECT_URL",
                format!("{gateway}/auth/v1/token/introspect"),
            )?,
            user_me_url,
            gateway_user_me_url: format!("{gateway}/auth/v1/user/me"),
            issuers,
            issuer_hosts,
            custom_user_id_is_openid,
            env_id,
            trust_wechat_context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<AuthConfig, Misconfig> {
        AuthConfig::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_follow_the_env_id() {
        let c = cfg(&[("SCF_NAMESPACE", "ns-1")]).unwrap();
        assert_eq!(c.mode, Mode::Jwks);
        assert_eq!(c.env_id, "ns-1");
        assert_eq!(
            c.jwks_url,
            "https://ns-1.api.tcloudbasegateway.com/auth/v1/certs"
        );
        assert!(c.issuers.accepts("https://ns-1.api.tcloudbasegateway.com"));
        assert!(
            c.issuers
                .accepts("https://ns-1.ap-shanghai.tcb-api.tencentcloudapi.com")
        );
        assert!(!c.trust_wechat_context);
        assert!(c.issuer_hosts && c.custom_user_id_is_openid);
        assert_eq!(c.user_me_url, None);
        let c = cfg(&[("TCB_ENV", "e"), ("TENCENTCLOUD_REGION", "ap-guangzhou")]).unwrap();
        assert!(
            c.issuers
                .accepts("https://e.ap-guangzhou.tcb-api.tencentcloudapi.com")
        );
        assert!(
            !c.issuers
                .accepts("https://e.ap-shanghai.tcb-api.tencentcloudapi.com")
        );
        let c = cfg(&[
            ("TCB_ENV", "e"),
            ("TCB_TOKEN_ISSUER", "https://a.example,https://b.example"),
        ])
        .unwrap();
        assert!(c.issuers.accepts("https://b.example"));
        assert!(!c.issuers.accepts("https://e.api.tcloudbasegateway.com"));
        let c = cfg(&[("SCF_NAMESPACE", "ns-1"), ("TCB_ENV", "env-2")]).unwrap();
        assert_eq!(c.env_id, "env-2");
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let e = cfg(&[("TCB_ENV", "e"), ("TCB_TOKEN_VERIFY", "yes")]).unwrap_err();
        assert!(e.to_string().contains("TCB_TOKEN_VERIFY"), "{e}");
        let e = cfg(&[]).unwrap_err();
        assert!(e.to_string().contains("TCB_ENV"), "{e}");
        assert_eq!(cfg(&[("TCB_TOKEN_VERIFY", "off")]).unwrap().mode, Mode::Off);
        for url in [
            "http://example.com/certs",
            "http://127.0.0.1.evil.com/x",
            "http://user@127.0.0.1@evil.com/",
            "ftp://x",
            "https://",
        ] {
            let e = cfg(&[("TCB_ENV", "e"), ("TCB_JWKS_URL", url)]).unwrap_err();
            assert!(e.to_string().contains("TCB_JWKS_URL"), "{url}: {e}");
        }
        for url in [
            "http://127.0.0.1:8080/auth/v1/certs",
            "http://localhost/x",
            "http://[::1]:9/x",
            "https://e.example/x",
        ] {
            assert!(
                cfg(&[("TCB_ENV", "e"), ("TCB_JWKS_URL", url)]).is_ok(),
                "{url}"
            );
        }
        for var in [
            "TCB_TRUST_WECHAT_CONTEXT",
            "TCB_ISSUER_HOSTS",
            "TCB_CUSTOM_USER_ID_IS_OPENID",
        ] {
            let e = cfg(&[("TCB_ENV", "e"), (var, "maybe")]).unwrap_err();
            assert!(e.to_string().contains(var), "{e}");
        }
        for (var, bad) in [
            ("TCB_USER_ME_URL", "http://example.com/me"),
            ("TCB_TOKEN_ISSUER", "http://example.com"),
        ] {
            let e = cfg(&[("TCB_ENV", "e"), (var, bad)]).unwrap_err();
            assert!(e.to_string().contains(var), "{e}");
        }
    }
}
