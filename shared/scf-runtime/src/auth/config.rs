//! Token-verification settings, read once when the runtime starts.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `TCB_TOKEN_VERIFY` | `jwks` | `jwks`: check signatures offline against the key set, with introspect as the fallback when the key set cannot be fetched; `introspect`: ask CloudBase about every new token; `off`: ignore access tokens (HTTP callers are then `401 UNAUTHENTICATED`) |
//! | `TCB_ENV`, else `SCF_NAMESPACE` | — | the env id a token's `aud` must contain |
//! | `TCB_JWKS_URL` | `https://{env}.api.tcloudbasegateway.com/auth/v1/certs` | the key set (undocumented endpoint: `docs/identity.md`) |
//! | `TCB_INTROSPECT_URL` | `https://{env}.api.tcloudbasegateway.com/auth/v1/token/introspect` | the documented online check |
//! | `TCB_TOKEN_ISSUER` | `https://{env}.api.tcloudbasegateway.com` | the exact `iss` |
//! | `TCB_TRUST_WECHAT_CONTEXT` | `false` | trust `wechatContext` of `X-Cloudbase-Context` without a token (only once the probe has shown the gateway strips client copies) |
//!
//! URLs must be `https://`; `http://` is accepted only for loopback hosts (the local mock), so a
//! typo cannot send tokens in clear text. A bad setting does not stop the function: the
//! functions that ask for the caller answer `500 MISCONFIGURED` naming it, the others work.

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
    pub(crate) jwks_url: String,
    pub(crate) introspect_url: String,
    pub(crate) issuer: String,
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
    /// `TCB_TRUST_WECHAT_CONTEXT` that is not `true`/`false`.
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
        let trust_wechat_context = match get("TCB_TRUST_WECHAT_CONTEXT").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                return Err(Misconfig::new(
                    "TCB_TRUST_WECHAT_CONTEXT",
                    "is not true or false",
                ));
            }
        };
        let env_id = get("TCB_ENV").or_else(|| get("SCF_NAMESPACE"));
        let Some(env_id) = env_id else {
            if mode == Mode::Off {
                return Ok(AuthConfig {
                    mode,
                    env_id: String::new(),
                    jwks_url: String::new(),
                    introspect_url: String::new(),
                    issuer: String::new(),
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
        Ok(AuthConfig {
            mode,
            jwks_url: url("TCB_JWKS_URL", format!("{gateway}/auth/v1/certs"))?,
            introspect_url: url(
                "TCB_INTROSPECT_URL",
                format!("{gateway}/auth/v1/token/introspect"),
            )?,
            issuer: get("TCB_TOKEN_ISSUER").unwrap_or(gateway),
            env_id,
            trust_wechat_context,
        })
    }
}

/// `https://` anywhere, `http://` on loopback only.
fn is_allowed_url(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
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
        assert_eq!(c.issuer, "https://ns-1.api.tcloudbasegateway.com");
        assert!(!c.trust_wechat_context);
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
        let e = cfg(&[("TCB_ENV", "e"), ("TCB_TRUST_WECHAT_CONTEXT", "maybe")]).unwrap_err();
        assert!(e.to_string().contains("TCB_TRUST_WECHAT_CONTEXT"));
    }
}
