//! Errors a handler returns, and the body the runtime posts to `/runtime/invocation/error`.
//!
//! Two kinds, kept apart on purpose:
//! - [`FnError`] is a *business* error (bad code, WeChat down, misconfiguration). The runtime
//!   posts it to `/runtime/invocation/response` as a result object `{error, message, errcode?, errmsg?}`
//!   (callFunction), or as an integrated response with [`FnError::status`] (HTTP events). The
//!   caller always gets a readable answer.
//! - [`Diagnostic`] is a *runtime* failure of one invocation (handler panic, missing `request_id`
//!   header, event that is not JSON, result over 6 MB). It goes to `/runtime/invocation/error`,
//!   which marks the invocation failed in SCF.

use std::borrow::Cow;

use serde::Serialize;

use crate::error_code::ErrorCode;

/// A business error returned by a handler.
///
/// Serialised (for the caller) as `{"error": CODE, "message": TEXT, "errcode"?: N, "errmsg"?: TEXT}`;
/// `status` and `retry_after_secs` only shape the HTTP integrated response and are not in the body.
///
/// The code is an [`ErrorCode`]: the runtime's own are its constants (`ErrorCode::BAD_REQUEST`,
/// `UNAUTHENTICATED`, ...), a function's are constants in its crate (wxlogin's `WX_API_ERROR`,
/// ...). Compare codes, never messages. A message never contains a secret (AppSecret,
/// session_key, private key, WX_API_TOKEN, ticket) or the value of a setting.
///
/// The HTTP presentation is the three `#[serde(skip)]` fields together (`status`,
/// `retry_after_secs`, `allow`), turned into a response in one place
/// (`IntegratedResponse::from_error`).
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{error}: {message}{}", errcode.map(|c| format!(" (errcode {c})")).unwrap_or_default())]
pub struct FnError {
    /// Stable machine-readable code, e.g. `MISSING_CODE`.
    pub error: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// Extra top-level fields of the body, e.g. `success: false` (serialised after `message`).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// WeChat `errcode`, when the error came from a WeChat API answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errcode: Option<i64>,
    /// WeChat `errmsg`, when the error came from a WeChat API answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errmsg: Option<String>,
    /// HTTP status used when the invocation came through an HTTP trigger.
    #[serde(skip)]
    pub status: u16,
    /// `Retry-After` header value in **seconds**, HTTP only.
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
    /// `Allow` header value of a `405` (the accepted methods), HTTP only.
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

impl FnError {
    /// A new error with the given code, HTTP status and message.
    pub fn new(error: impl Into<ErrorCode>, status: u16, message: impl Into<String>) -> Self {
        FnError {
            error: error.into(),
            message: message.into(),
            extra: serde_json::Map::new(),
            errcode: None,
            errmsg: None,
            status,
            retry_after_secs: None,
            allow: None,
        }
    }

    /// `400 BAD_REQUEST`: the request body or event could not be used.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BAD_REQUEST, 400, message)
    }

    /// `405 METHOD_NOT_ALLOWED`.
    pub fn method_not_allowed(method: &str, allowed: &'static str) -> Self {
        let shown: String = method
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(16)
            .collect();
        Self::new(
            ErrorCode::METHOD_NOT_ALLOWED,
            405,
            format!("method {shown} is not allowed; use {allowed}"),
        )
        .with_allow(allowed)
    }

    /// Set the `Allow` header of a `405` (comma-separated methods, e.g. `"POST"`).
    pub fn with_allow(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// `401 UNAUTHENTICATED`: no caller identity from a platform-controlled channel, and no
    /// access token.
    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::UNAUTHENTICATED,
            401,
            "no verified caller identity: call this function with wx.cloud.callFunction from a mini program, or over HTTP with a CloudBase access token (Authorization: Bearer)",
        )
    }

    /// `401 ANONYMOUS`: the caller is verified but anonymous (a publishable key, an anonymous
    /// sign-in), and the handler needs a signed-in user ([`crate::User`]).
    pub fn anonymous() -> Self {
        Self::new(
            ErrorCode::ANONYMOUS,
            401,
            "this function needs a signed-in user: the caller is anonymous (sign in, for example with signInWithCustomTicket, and call again with that access token)",
        )
    }

    /// `500 MISCONFIGURED`: names the setting, never its value.
    pub fn misconfigured(setting: &str, problem: &str) -> Self {
        Self::new(
            ErrorCode::MISCONFIGURED,
            500,
            format!("{setting}: {problem}"),
        )
    }

    /// `500 INTERNAL`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL, 500, message)
    }

    /// Attach a WeChat `errcode` / `errmsg`.
    pub fn with_wechat(mut self, errcode: i64, errmsg: impl Into<String>) -> Self {
        self.errcode = Some(errcode);
        self.errmsg = Some(errmsg.into());
        self
    }

    /// Add an extra top-level field to the body.
    pub fn with_field(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// Attach a `Retry-After` (seconds) for the HTTP response.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

/// Body posted to `/runtime/invocation/error`: `{"errorCode", "errorMessage", "requestId"}`.
///
/// SCF documents no schema for this body (`docs/platform.md` "Runtime API"); this shape mirrors
/// lambda_runtime's `Diagnostic` with SCF's request id added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// `HANDLER_PANIC`, `MISSING_HEADER`, `BAD_HEADER`, `EVENT_NOT_JSON`, `RESULT_TOO_LARGE`, `SERIALIZE_FAILED`.
    pub error_code: Cow<'static, str>,
    /// What went wrong.
    pub error_message: String,
    /// The `request_id` header of the invocation, empty when it was missing.
    pub request_id: String,
}

/// An error with its whole source chain: `outer: inner: innermost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
