//! The errors of WeChat calls, and the cleaning of what WeChat says in them.
//!
//! Its own file because every WeChat call (`wechat.rs`, `access_token.rs`, `phone.rs`) and the
//! transport they share (`transport.rs`) return these: none of them should import another for it.

use scf_runtime::{ErrorCode, FnError};

/// `502`: no answer from the WeChat API (connection error, timeout, HTTP 5xx, no time left).
pub const WX_API_UNREACHABLE: ErrorCode = ErrorCode::from_static("WX_API_UNREACHABLE");
/// `502`: the WeChat API's answer was not usable (HTML, truncated, oversized, no fields).
pub const WX_API_BAD_RESPONSE: ErrorCode = ErrorCode::from_static("WX_API_BAD_RESPONSE");
/// WeChat answered with an `errcode` (401, 429, 500 or 502; see [`WxError::to_fn_error`]).
pub const WX_API_ERROR: ErrorCode = ErrorCode::from_static("WX_API_ERROR");

/// Longest `errmsg` passed on, characters (after cleaning).
pub const MAX_ERRMSG_CHARS: usize = 200;

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
        /// `errmsg` as WeChat sent it, cleaned (`clean_errmsg`: no secret echoed back, bounded length).
        errmsg: String,
    },
    /// The answer was not usable: HTML, empty, truncated, no openid and no errcode, a redirect, or
    /// over [`crate::MAX_ANSWER_BYTES`].
    #[error("WeChat API answer unusable: {0}")]
    BadResponse(String),
}

/// `Retry-After` sent with a 45011 (per-minute quota) answer, seconds.
pub const QUOTA_RETRY_AFTER_SECS: u64 = 60;

impl WxError {
    /// Worth one retry: a transport failure or errcode `-1` (busy).
    pub(crate) fn retryable(&self) -> bool {
        matches!(
            self,
            WxError::Unreachable(_) | WxError::Api { errcode: -1, .. }
        )
    }

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
                    WX_API_UNREACHABLE,
                    502,
                    format!("could not reach the WeChat API: {m}"),
                );
            }
            WxError::BadResponse(m) => {
                return FnError::new(
                    WX_API_BAD_RESPONSE,
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
        let err = FnError::new(WX_API_ERROR, status, message).with_wechat(errcode, errmsg);
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
pub struct ClientError(pub(crate) String);

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
pub(crate) fn redact_parameter(msg: &str, name: &str) -> String {
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
