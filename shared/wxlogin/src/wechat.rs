//! WeChat server API client: `GET {WECHAT_API_BASE}/sns/jscode2session` (code2Session), and the
//! rules every WeChat call goes through (the access_token and the APIs that take it live in
//! `access_token.rs` and `phone.rs`, on this same client).
//!
//! Facts (`docs/platform.md` "WeChat jscode2session"; WeChat doc `auth.code2Session`): query
//! `appid, secret, js_code, grant_type=authorization_code`; answer `{openid, session_key,
//! unionid?}` or `{errcode, errmsg}`; the body may arrive as `text/plain`, so it is read as text
//! and then parsed as JSON whatever the header says. Only `errcode -1` (system busy) is worth a
//! retry; a code is single-use and lives 5 minutes.
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

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::{debug, warn};

use scf_runtime::{FnError, Misconfig, Secret, Settings};

use crate::access_token::TokenState;

/// Default API base.
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// Connect timeout, also capped by the time left in the invocation.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Time kept back from the invocation deadline for minting the ticket and posting the result.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(250);
/// An attempt (first or retry) is only started with at least this much time left.
pub const MIN_ATTEMPT: Duration = Duration::from_millis(200);
/// Largest answer body read, bytes. A real jscode2session answer is under 1 KB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Longest `errmsg` passed on, characters (after cleaning).
pub const MAX_ERRMSG_CHARS: usize = 200;

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

/// Why code2Session failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WxError {
    /// Could not get an answer: connection error, timeout, HTTP 5xx, or no time left.
    #[error("WeChat API unreachable: {0}")]
    Unreachable(String),
    /// WeChat answered with an `errcode` (after the one retry for `-1`).
    #[error("WeChat API error {errcode}: {errmsg}")]
    Api {
        /// `errcode`, e.g. 40029 (invalid code), 40163 (code used), 40226 (blocked), 45011 (quota), -1 (busy).
        errcode: i64,
        /// `errmsg` as WeChat sent it, cleaned ([`clean_errmsg`]).
        errmsg: String,
    },
    /// The answer was not usable: HTML, empty, truncated, no openid and no errcode, a redirect, or
    /// over [`MAX_ANSWER_BYTES`].
    #[error("WeChat API answer unusable: {0}")]
    BadResponse(String),
}

/// `Retry-After` sent with a 45011 (per-minute quota) answer, seconds.
pub const QUOTA_RETRY_AFTER_SECS: u64 = 60;

impl WxError {
    /// The caller's error for this failure, the same for every function on a WeChat API:
    /// - unreachable / unusable: 502 `WX_API_UNREACHABLE` / `WX_API_BAD_RESPONSE`;
    /// - `WX_API_ERROR` with `errcode` and the cleaned `errmsg`: the errcodes in `bad_code`
    ///   (the caller's code is invalid, used or blocked) 401 with `bad_code`'s message; 45011
    ///   429 with `Retry-After` ([`QUOTA_RETRY_AFTER_SECS`]); 45009 (stable_token's daily quota)
    ///   429; -1 502; 40013 / 40125 / 41002 / 41004 500 (WX_APPID or WX_SECRET rejected); a
    ///   freshly fetched access_token rejected (40001 / 40014 / 42001) 502; any other 502.
    pub fn to_fn_error(self, bad_code: (&[i64], &'static str)) -> FnError {
        let (errcode, errmsg) = match self {
            WxError::Unreachable(m) => {
                return FnError::new(
                    "WX_API_UNREACHABLE",
                    502,
                    format!("could not reach the WeChat API: {m}"),
                );
            }
            WxError::BadResponse(m) => {
                return FnError::new(
                    "WX_API_BAD_RESPONSE",
                    502,
                    format!("the WeChat API gave an unusable answer: {m}"),
                );
            }
            WxError::Api { errcode, errmsg } => (errcode, errmsg),
        };
        let (status, message) = match errcode {
            c if bad_code.0.contains(&c) => (401, bad_code.1),
            45011 => (
                429,
                "WeChat's per-minute quota is used up; retry after a minute",
            ),
            45009 => (
                429,
                "WeChat's daily access_token quota is used up; retry tomorrow",
            ),
            -1 => (502, "WeChat is busy; retry shortly"),
            40013 | 40125 | 41002 | 41004 => (500, "WeChat rejected WX_APPID or WX_SECRET"),
            40001 | 40014 | 42001 => (
                502,
                "WeChat rejected a freshly fetched access_token; retry shortly",
            ),
            _ => (502, "the WeChat API returned an error"),
        };
        let err = FnError::new("WX_API_ERROR", status, message).with_wechat(errcode, errmsg);
        if errcode == 45011 {
            err.with_retry_after(QUOTA_RETRY_AFTER_SECS)
        } else {
            err
        }
    }
}

/// The HTTP client could not be built (TLS set-up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

impl WxError {
    pub(crate) fn retryable(&self) -> bool {
        matches!(
            self,
            WxError::Unreachable(_) | WxError::Api { errcode: -1, .. }
        )
    }
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

/// Clean WeChat's `errmsg` before it goes into a response or a log line: every occurrence of
/// an `echo` (what we sent: the AppSecret, the code, and so the query string), plain or
/// percent-encoded, becomes `[redacted]`; any `name=value` pair of our query
/// (`appid`, `secret`, `js_code`, `grant_type`, `access_token`) loses its value; control characters become spaces;
/// the result is cut to [`MAX_ERRMSG_CHARS`] characters. Redaction happens before the cut, so no
/// prefix of a secret survives.
pub fn clean_errmsg(errmsg: &str, echoes: &[&str]) -> String {
    let mut msg = errmsg.to_owned();
    for echo in echoes.iter().filter(|e| !e.is_empty()) {
        let encoded: String = form_urlencoded::byte_serialize(echo.as_bytes()).collect();
        for form in [echo, encoded.as_str()] {
            msg = msg.replace(form, "[redacted]");
        }
    }
    for name in ["appid", "secret", "js_code", "grant_type", "access_token"] {
        msg = redact_parameter(&msg, name);
    }
    msg.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERRMSG_CHARS)
        .collect()
}

/// `name=value` → `name=[redacted]`, the value ending at `&`, whitespace or the end.
fn redact_parameter(msg: &str, name: &str) -> String {
    let pattern = format!("{name}=");
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find(&pattern) {
        let (before, after) = rest.split_at(i + pattern.len());
        out.push_str(before);
        let end = after
            .find(|c: char| c == '&' || c.is_whitespace())
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("[redacted]");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
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

/// Parse a WeChat answer body as JSON whatever its content type (WeChat sends `text/plain`).
///
/// # Errors
/// [`WxError::BadResponse`] for an empty body, HTML, or anything that is not this JSON; the
/// message gives the size and position, never the body (it could hold a secret).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WxError> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(WxError::BadResponse("empty body".into()));
    }
    serde_json::from_str(trimmed).map_err(|e| {
        let what = if trimmed.starts_with('<') {
            "HTML or XML instead of JSON"
        } else {
            "not JSON"
        };
        WxError::BadResponse(format!(
            "{what} ({} bytes; line {} column {})",
            body.len(),
            e.line(),
            e.column()
        ))
    })
}

/// A WeChat server API client for one mini program: jscode2session, the access_token
/// (`access_token.rs`) and the APIs that take it (`phone.rs`). Clones share the HTTP connection
/// pool and the cached access_token.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) appid: String,
    pub(crate) secret: Secret,
    /// The cached access_token; its lock is the single flight for fetching it.
    pub(crate) token: Arc<tokio::sync::Mutex<TokenState>>,
}

impl WeChatClient {
    /// A client for `appid` / `secret` against `api_base` (e.g. [`DEFAULT_API_BASE`]).
    ///
    /// TLS trusts Mozilla's root certificates compiled into the binary (`webpki-root-certs`), not
    /// the host's CA bundle. Redirects are never followed and no `Referer` is ever sent (see the
    /// module docs).
    ///
    /// # Errors
    /// [`ClientError`] when the HTTP client cannot be built (TLS set-up).
    pub fn new(appid: String, secret: Secret, api_base: &str) -> Result<Self, ClientError> {
        // Mozilla's roots compiled in, no redirect, no Referer: scf_runtime's outbound settings.
        let http = scf_runtime::https_client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| ClientError(describe_http_error(e)))?;
        Ok(WeChatClient {
            http,
            base: api_base.trim_end_matches('/').to_owned(),
            appid,
            secret,
            token: Arc::default(),
        })
    }

    /// The client a function builds once at init from its settings: `WX_APPID`, `WX_SECRET`,
    /// `WECHAT_API_BASE` (default [`DEFAULT_API_BASE`]; `http://` or `https://`).
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
        &self.appid
    }

    /// Exchange a `wx.login` code for the session, finishing before `deadline`
    /// ([`DEADLINE_MARGIN`] is kept back). Retries once on errcode `-1` or a transport error when
    /// at least [`MIN_ATTEMPT`] remains besides the margin (so 450 ms in all); otherwise the first
    /// error is returned.
    ///
    /// # Errors
    /// [`WxError`].
    pub async fn code2session(&self, code: &str, deadline: Instant) -> Result<Session, WxError> {
        self.with_one_retry("jscode2session", deadline, |budget| {
            self.attempt(code, budget)
        })
        .await
    }

    /// The time an attempt may take: what is left before `deadline`, minus [`DEADLINE_MARGIN`].
    pub(crate) fn budget(deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(DEADLINE_MARGIN)
    }

    /// The first attempt when at least [`MIN_ATTEMPT`] is left; one retry of a retryable error
    /// (errcode `-1`, transport) when [`MIN_ATTEMPT`] is still left. Every WeChat call goes
    /// through here, so all of them share one retry rule. `what` names the API in logs.
    pub(crate) async fn with_one_retry<T, F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T, WxError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, WxError>>,
    {
        let first = Self::budget(deadline);
        if first < MIN_ATTEMPT {
            return Err(not_enough_time(first));
        }
        match attempt(first).await {
            Err(e) if e.retryable() => {
                let second = Self::budget(deadline);
                if second < MIN_ATTEMPT {
                    warn!("{what} failed and no time is left to retry: {e}");
                    return Err(e);
                }
                warn!("{what} failed, retrying once: {e}");
                attempt(second).await
            }
            other => other,
        }
    }

    async fn attempt(&self, code: &str, budget: Duration) -> Result<Session, WxError> {
        let req = self
            .http
            .get(format!("{}/sns/jscode2session", self.base))
            .query(&[
                ("appid", self.appid.as_str()),
                ("secret", self.secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .timeout(budget);
        let body = send(req, "jscode2session").await?;
        parse_answer(&body, &[self.secret.expose(), code])
    }
}

/// The error for an invocation with less than [`MIN_ATTEMPT`] left.
pub(crate) fn not_enough_time(left: Duration) -> WxError {
    WxError::Unreachable(format!(
        "not enough time left in the invocation ({} ms) for a WeChat call",
        left.as_millis()
    ))
}

/// Send one request under the client's rules and return the body: a 3xx is
/// [`WxError::BadResponse`] (never followed), the body is capped at [`MAX_ANSWER_BYTES`], a 5xx
/// or a transport error is [`WxError::Unreachable`], any other non-2xx is
/// [`WxError::BadResponse`]. Errors never carry the URL (it may hold a secret or a token).
pub(crate) async fn send(req: reqwest::RequestBuilder, what: &str) -> Result<Vec<u8>, WxError> {
    let started = Instant::now();
    let resp = req
        .send()
        .await
        .map_err(|e| WxError::Unreachable(describe_http_error(e)))?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(WxError::BadResponse(format!(
            "HTTP {status}: a redirect, not followed"
        )));
    }
    let body = read_capped(resp).await?;
    debug!(
        status = status.as_u16(),
        bytes = body.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "{what} answered"
    );
    if status.is_server_error() {
        return Err(WxError::Unreachable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(WxError::BadResponse(format!("HTTP {status}")));
    }
    Ok(body)
}

/// Format a reqwest error with its whole source chain, **without the request URL** (a WeChat URL
/// carries the AppSecret in its query). Timeouts read "timed out".
pub(crate) fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let chain = scf_runtime::error_chain(&e);
    if e.is_timeout() {
        // reqwest's own words for a timeout name the URL's kind of failure; ours are plainer.
        let sources = chain.strip_prefix(&e.to_string()).unwrap_or_default();
        return format!("timed out{sources}");
    }
    chain
}

/// The answer's body, at most [`MAX_ANSWER_BYTES`]: a declared or actual length past the cap is
/// [`WxError::BadResponse`], and reading stops there.
async fn read_capped(resp: reqwest::Response) -> Result<Vec<u8>, WxError> {
    scf_runtime::read_capped(resp, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| match e {
            scf_runtime::CappedReadError::TooBig { .. } => WxError::BadResponse(format!(
                "the answer is over {MAX_ANSWER_BYTES} bytes; a real one is under 1 KB"
            )),
            scf_runtime::CappedReadError::Broken(e) => WxError::Unreachable(describe_http_error(e)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
