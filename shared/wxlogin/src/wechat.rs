//! WeChat server API client: `GET {WECHAT_API_BASE}/sns/jscode2session` (code2Session), and the
//! rules every WeChat call goes through; the access_token (its cache: `access_token.rs`) and
//! getuserphonenumber (its answer: `phone.rs`) on this same client.
//!
//! Facts (`docs/platform.md` "WeChat jscode2session"; WeChat doc `auth.code2Session`): query
//! `appid, secret, js_code, grant_type=authorization_code`; answer `{openid, session_key,
//! unionid?}` or `{errcode, errmsg}`; the body may arrive as `text/plain`, so it is read as text
//! and then parsed as JSON whatever the header says. Only `errcode -1` (system busy) is worth a
//! retry; a code is single-use and lives 5 minutes.
//!
//! The transport every call goes through is `transport.rs`, the errors `error.rs`.
//!
//! Secrets: the AppSecret and the session_key are [`Secret`]s; request URLs (which carry the
//! secret) are stripped from every error before it is formatted, and nothing here logs a URL.
//!
//! WeChat's answer is outside data, trusted no further than its parsed fields:
//! - **no redirects, no `Referer`**: a 3xx is [`WxError::BadResponse`] and is not followed
//!   (following it would let the redirect target choose the user, and reqwest would send it a
//!   `Referer` holding our URL, secret included);
//! - **a body cap** of [`MAX_ANSWER_BYTES`]: a real answer is under 1 KB, and a function has
//!   128 MB; reading stops past the cap;
//! - **`errmsg` is cleaned** before it goes anywhere ([`clean_errmsg`]): whatever echoes our own
//!   request (the AppSecret, the code, the query string) is removed, control characters become
//!   spaces, and it is cut to [`MAX_ERRMSG_CHARS`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use scf_runtime::{Misconfig, Secret, Settings};

use crate::access_token::AccessTokenCache;
use crate::error::{ClientError, WxError, clean_errmsg, parse_json};
use crate::phone::{PHONE_PATH, PhoneNumber, parse_phone_answer};
use crate::transport::{Transport, send};

/// Default API base.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// A successful code2Session answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's OPENID in this mini program.
    pub openid: String,
    /// UNIONID, when the mini program is bound to an open-platform account.
    pub unionid: Option<String>,
    /// session_key. Never log or return it.
    pub session_key: Secret,
}

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    unionid: Option<String>,
    #[serde(default)]
    session_key: Option<Secret>,
}

/// Parse a jscode2session body (any content type). `echoes` are the values of our request that
/// must not come back through `errmsg` (see [`clean_errmsg`]).
///
/// # Errors
/// [`WxError::Api`] for a non-zero `errcode` (its `errmsg` cleaned), [`WxError::BadResponse`]
/// otherwise. Messages never include the body (it could hold a session_key).
pub fn parse_answer(body: &[u8], echoes: &[&str]) -> Result<Session, WxError> {
    let raw: RawAnswer = parse_json(body)?;
    if let Some(errcode) = raw.errcode.filter(|c| *c != 0) {
        let errmsg = clean_errmsg(&raw.errmsg.unwrap_or_default(), echoes);
        return Err(WxError::Api { errcode, errmsg });
    }
    let openid = raw
        .openid
        .filter(|o| !o.is_empty())
        .ok_or_else(|| WxError::BadResponse("no openid and no errcode".into()))?;
    Ok(Session {
        openid,
        unionid: raw.unionid.filter(|u| !u.is_empty()),
        session_key: raw.session_key.unwrap_or_default(),
    })
}

/// A WeChat server API client for one mini program: jscode2session, the access_token
/// (`access_token.rs`) and the APIs that take it (`phone.rs`). Clones share the HTTP connection
/// pool and the cached access_token.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    /// How every call is made.
    transport: Transport,
    /// The cached access_token, shared by the clones.
    token: Arc<AccessTokenCache>,
}

impl WeChatClient {
    /// A client for `appid` / `secret` against `api_base` (e.g. `https://api.weixin.qq.com`).
    ///
    /// TLS trusts Mozilla's root certificates compiled into the binary (`webpki-root-certs`), not
    /// the host's CA bundle. Redirects are never followed and no `Referer` is ever sent (see the
    /// module docs).
    ///
    /// # Errors
    /// [`ClientError`] when the HTTP client cannot be built (TLS set-up).
    pub fn new(appid: String, secret: Secret, api_base: &str) -> Result<Self, ClientError> {
        Ok(WeChatClient {
            transport: Transport::new(appid, secret, api_base)?,
            token: Arc::default(),
        })
    }

    /// The client a function builds once at init from its settings: `WX_APPID`, `WX_SECRET`,
    /// `WECHAT_API_BASE` (default `https://api.weixin.qq.com`; `http://` or `https://`).
    ///
    /// # Errors
    /// [`Misconfig`] naming the setting (never its value).
    pub fn from_settings(settings: &Settings<'_>) -> Result<Self, Misconfig> {
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
        WeChatClient::new(appid, secret, &base)
            .map_err(|e| Misconfig::new("WECHAT_API_BASE", e.to_string()))
    }

    /// The mini program AppID.
    pub fn appid(&self) -> &str {
        &self.transport.appid
    }

    /// Exchange a `wx.login` code for the session, finishing before `deadline`
    /// ([`crate::DEADLINE_MARGIN`] is kept back). Retries once on errcode `-1` or a transport error when
    /// at least 200 ms remains besides the margin (so 450 ms in all); otherwise the first
    /// error is returned.
    ///
    /// # Errors
    /// [`WxError`].
    pub async fn code2session(&self, code: &str, deadline: Instant) -> Result<Session, WxError> {
        self.transport
            .with_one_retry("jscode2session", deadline, |budget| {
                self.attempt(code, budget)
            })
            .await
    }

    /// The access_token: the cached one while it is fresh, else one `stable_token` fetch shared
    /// by every concurrent caller, finishing before `deadline` (`access_token.rs`).
    ///
    /// # Errors
    /// [`WxError`]: `Api` with stable_token's errcode (`40013` invalid appid, `40125` invalid
    /// secret, `41002` no appid, `45009` daily quota; `-1` after its one retry), `Unreachable`
    /// when no time is left (also while waiting for a concurrent fetch), `BadResponse`; for
    /// [`crate::FETCH_FAILURE_BACKOFF`] after a failed fetch, that fetch's error, without fetching.
    pub async fn access_token(&self, deadline: Instant) -> Result<Secret, WxError> {
        self.token.token_for(&self.transport, deadline, None).await
    }

    /// `POST {base}{path}?access_token=TOKEN` with a JSON `body`, for every WeChat API that takes
    /// the access_token. `parse` reads the answer; it gets the values that must not come back
    /// through `errmsg` (the AppSecret, the token, and `echoes`). Errcode `-1` and transport
    /// errors are retried once; a bad-token errcode (40001, 40014, 42001) makes one
    /// token refetch and one retry; all before `deadline`.
    ///
    /// # Errors
    /// As [`WeChatClient::access_token`], and whatever `parse` returns.
    pub async fn post_with_token<T, P>(
        &self,
        path: &str,
        body: &serde_json::Value,
        echoes: &[&str],
        deadline: Instant,
        parse: P,
    ) -> Result<T, WxError>
    where
        P: Fn(&[u8], &[&str]) -> Result<T, WxError>,
    {
        self.token
            .post_with_token(&self.transport, path, body, echoes, deadline, parse)
            .await
    }

    async fn attempt(&self, code: &str, budget: Duration) -> Result<Session, WxError> {
        let t = &self.transport;
        let req = t
            .http
            .get(format!("{}/sns/jscode2session", t.base))
            .query(&[
                ("appid", t.appid.as_str()),
                ("secret", t.secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .timeout(budget);
        let body = send(req, "jscode2session").await?;
        parse_answer(&body, &[t.secret.expose(), code])
    }

    /// Exchange a getPhoneNumber `code` for the user's phone number, on the shared access_token
    /// ([`WeChatClient::post_with_token`]: `-1` retried once, a rejected token refetched once),
    /// before `deadline`. The number is not cached.
    ///
    /// # Errors
    /// [`WxError`]: `Api` with errcode `40029` (invalid or used code), `45011` (quota), `-1`
    /// (busy, after the retry), a bad-token code after the refetch, or stable_token's codes;
    /// `BadResponse` for an answer that is not the documented shape; `Unreachable`.
    pub async fn phone_number(
        &self,
        code: &str,
        deadline: Instant,
    ) -> Result<PhoneNumber, WxError> {
        let appid = self.appid().to_owned();
        self.post_with_token(
            PHONE_PATH,
            &serde_json::json!({ "code": code }),
            &[code],
            deadline,
            move |body, echoes| parse_phone_answer(body, echoes, &appid),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{MAX_ERRMSG_CHARS, redact_parameter};

    fn parse(body: &[u8]) -> Result<Session, WxError> {
        parse_answer(body, &[])
    }

    #[test]
    fn errmsg_never_echoes_our_request() {
        let secret = "S3cr3t/+=";
        let code = "0a1B-code";
        let raw = format!(
            "invalid code, hints: [ req: appid=wx1&secret={secret}&js_code={code}&grant_type=authorization_code ] {} {}\nnext line\u{1b}[31m",
            "S3cr3t%2F%2B%3D", code
        );
        let m = clean_errmsg(&raw, &[secret, code]);
        for echo in [
            secret,
            code,
            "S3cr3t",
            "wx1",
            "authorization_code",
            "\n",
            "\u{1b}",
        ] {
            assert!(!m.contains(echo), "{echo:?} in {m:?}");
        }
        assert!(
            m.starts_with("invalid code, hints: [ req: appid=[redacted]&secret=[redacted]"),
            "{m}"
        );
        let long = clean_errmsg(&format!("{secret}{}", "x".repeat(1000)), &[secret]);
        assert_eq!(long.chars().count(), MAX_ERRMSG_CHARS);
        assert!(long.starts_with("[redacted]x"));
        // Redaction before the cut: a secret straddling the limit leaves no prefix.
        let edge = clean_errmsg(&format!("{}{secret}", "y".repeat(195)), &[secret]);
        assert!(!edge.contains("S3c"), "{edge}");
        assert_eq!(
            clean_errmsg("system error", &["", "x-not-there"]),
            "system error"
        );
        assert_eq!(
            redact_parameter("secret=&x secret=", "secret"),
            "secret=&x secret="
        );
    }

    #[test]
    fn parses_text_plain_json_answers() {
        let s = parse(br#"{"openid":"o1","session_key":"sk=="}"#).unwrap();
        assert_eq!((s.openid.as_str(), s.unionid.as_deref()), ("o1", None));
        assert!(!format!("{s:?}").contains("sk=="));
        let s = parse(br#"{"openid":"o1","session_key":"k","unionid":"u1","errcode":0}"#).unwrap();
        assert_eq!(s.unionid.as_deref(), Some("u1"));
    }

    #[test]
    fn maps_errors() {
        assert_eq!(
            parse(br#"{"errcode":40029,"errmsg":"invalid code"}"#),
            Err(WxError::Api {
                errcode: 40029,
                errmsg: "invalid code".into()
            })
        );
        assert!(matches!(parse(b""), Err(WxError::BadResponse(_))));
        assert!(
            matches!(parse(b"<html>502</html>"), Err(WxError::BadResponse(m)) if m.contains("HTML"))
        );
        assert!(matches!(
            parse(br#"{"openid":"o1","sess"#),
            Err(WxError::BadResponse(_))
        ));
        assert!(
            matches!(parse(br#"{"foo":1}"#), Err(WxError::BadResponse(m)) if m.contains("no openid"))
        );
        // A truncated body holding a session_key is not echoed.
        let err = parse(br#"{"session_key":"SECRETKEY","openid":"#).unwrap_err();
        assert!(!err.to_string().contains("SECRETKEY"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn unreachable_errors_never_show_the_secret() {
        // A port nobody listens on: connection refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = WeChatClient::new(
            "wxapp".into(),
            Secret::new("TOPSECRET"),
            &format!("http://127.0.0.1:{port}"),
        )
        .unwrap();
        let err = client
            .code2session("c", Instant::now() + Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("TOPSECRET"), "{err}");
        let err = client
            .code2session("c", Instant::now() + Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not enough time"), "{err}");
    }
}
