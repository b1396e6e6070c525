//! What a handler answers: any serialisable value, or a [`Reply`] that also sets the HTTP status
//! and headers; and the integrated response an HTTP event gets.
//!
//! Why a trait: most handlers answer a plain value (a `200` JSON body over HTTP, the result object
//! of a callFunction); a few need a status or a header for a success (`201`, `Cache-Control`).
//! [`IntoReply`] lets both be returned from the same handler signature, as `IntoResponse` does for
//! lambda_http. A callFunction answer is the body only: status and headers shape HTTP answers.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use http::header::{ALLOW, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use serde::Serialize;

use crate::error::FnError;

/// A success with an HTTP status and headers. `body` is serialised as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<T> {
    /// HTTP status of an HTTP answer (default 200).
    pub status: u16,
    /// Extra HTTP headers of an HTTP answer. A `Content-Type` here replaces the JSON default.
    pub headers: BTreeMap<String, String>,
    /// The answer's body (the whole answer of a callFunction).
    pub body: T,
}

impl<T> Reply<T> {
    /// `200` with `body`.
    pub fn new(body: T) -> Self {
        Reply {
            status: 200,
            headers: BTreeMap::new(),
            body,
        }
    }

    /// Set the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Add an HTTP header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// What a handler may return on success: any `Serialize` value (a `200`), or a [`Reply`].
pub trait IntoReply {
    /// The body type.
    type Body: Serialize;
    /// The reply.
    fn into_reply(self) -> Reply<Self::Body>;
}

impl<T: Serialize> IntoReply for T {
    type Body = T;
    fn into_reply(self) -> Reply<T> {
        Reply::new(self)
    }
}

impl<T: Serialize> IntoReply for Reply<T> {
    type Body = T;
    fn into_reply(self) -> Reply<T> {
        self
    }
}

/// `Content-Type` of every JSON answer.
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A JSON response: `status`, `body`, `content-type: application/json; charset=utf-8`.
fn json_response(status: StatusCode, body: Vec<u8>) -> http::Response<Bytes> {
    let mut resp = http::Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    resp
}

/// The HTTP response for a success: the reply's status (an invalid one is `500`, logged), its
/// JSON body, `content-type: application/json; charset=utf-8` unless the reply sets its own
/// (any case), and its headers (one a response cannot carry is left out, logged by name).
///
/// # Errors
/// When the body cannot be serialised.
pub(crate) fn reply_response<T: Serialize>(
    reply: Reply<T>,
) -> Result<http::Response<Bytes>, serde_json::Error> {
    let status = StatusCode::from_u16(reply.status).unwrap_or_else(|_| {
        tracing::warn!(status = reply.status, "not an HTTP status; answering 500");
        StatusCode::INTERNAL_SERVER_ERROR
    });
    let mut resp = json_response(status, serde_json::to_vec(&reply.body)?);
    let headers = resp.headers_mut();
    for (name, value) in reply.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.insert(n, v);
            }
            _ => tracing::warn!(
                header = name
                    .chars()
                    .filter(char::is_ascii_graphic)
                    .take(64)
                    .collect::<String>(),
                "a reply header HTTP cannot carry; left out"
            ),
        }
    }
    Ok(resp)
}

/// The HTTP response for a business error: its status, its JSON body (`{error, message, ...}`),
/// and the HTTP-only parts of [`FnError`]: `retry-after` (seconds) and `allow`. The one place an
/// error becomes an HTTP answer, in both modes.
pub(crate) fn error_response(err: &FnError) -> http::Response<Bytes> {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(err).expect("FnError always serialises");
    let mut resp = json_response(status, body);
    let headers = resp.headers_mut();
    if let Some(secs) = err.retry_after_secs {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(methods) = err.allow.and_then(|m| HeaderValue::from_str(m).ok()) {
        headers.insert(ALLOW, methods);
    }
    resp
}

/// An integrated response (SCF's API gateway and CloudBase's HTTP access service; `docs/platform.md`
/// "Integrated responses"):
/// `{"isBase64Encoded": false, "statusCode": 200, "headers": {...}, "body": "..."}`. Event mode
/// encodes an HTTP answer this way ([`IntegratedResponse::from_http`]); web mode writes the
/// `http::Response` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegratedResponse {
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
    /// HTTP status.
    pub status_code: u16,
    /// Response headers, names lower-case.
    pub headers: BTreeMap<String, String>,
    /// Response body.
    pub body: String,
}

impl IntegratedResponse {
    /// Encode an HTTP response: a UTF-8 body as text, any other base64-encoded
    /// (`isBase64Encoded: true`); header names lower-case, a repeated header's copies joined
    /// with `", "` (the object has one value per name).
    pub fn from_http(resp: http::Response<Bytes>) -> Self {
        let (parts, body) = resp.into_parts();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let (body, is_base64_encoded) = match String::from_utf8(body.to_vec()) {
            Ok(text) => (text, false),
            Err(e) => (
                base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                true,
            ),
        };
        IntegratedResponse {
            is_base64_encoded,
            status_code: parts.status.as_u16(),
            headers,
            body,
        }
    }

    /// The integrated response for a success (see `reply_response`).
    ///
    /// # Errors
    /// When the body cannot be serialised.
    pub fn from_reply<T: Serialize>(reply: Reply<T>) -> Result<Self, serde_json::Error> {
        reply_response(reply).map(Self::from_http)
    }

    /// The integrated response for a business error: its status, its JSON body, `retry-after`
    /// and `allow` when set.
    pub fn from_error(err: &FnError) -> Self {
        Self::from_http(error_response(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn error_response_has_retry_after() {
        let e = FnError::new("WX_API_ERROR", 429, "slow down").with_retry_after(60);
        let r = IntegratedResponse::from_error(&e);
        assert_eq!(r.status_code, 429);
        assert_eq!(r.headers["retry-after"], "60");
        assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"error": "WX_API_ERROR", "message": "slow down"})
        );
    }

    #[test]
    fn replies_set_status_and_headers() {
        let r = IntegratedResponse::from_reply(json!({"a": 1}).into_reply()).unwrap();
        assert_eq!((r.status_code, r.body.as_str()), (200, r#"{"a":1}"#));
        let r = IntegratedResponse::from_reply(
            Reply::new("x")
                .with_status(201)
                .with_header("Cache-Control", "no-store"),
        )
        .unwrap();
        assert_eq!(r.status_code, 201);
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
        let r = IntegratedResponse::from_reply(
            Reply::new("x").with_header("content-type", "text/plain"),
        )
        .unwrap();
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers["content-type"], "text/plain");
        // Not a status, not a header name: 500, left out.
        let r = IntegratedResponse::from_reply(
            Reply::new("x").with_status(7).with_header("bad name", "v"),
        )
        .unwrap();
        assert_eq!((r.status_code, r.headers.len()), (500, 1));
    }

    #[test]
    fn binary_bodies_are_base64_and_repeats_joined() {
        let mut resp = http::Response::new(Bytes::from_static(&[0xff, 0x00]));
        resp.headers_mut()
            .append("x-a", HeaderValue::from_static("1"));
        resp.headers_mut()
            .append("x-a", HeaderValue::from_static("2"));
        let r = IntegratedResponse::from_http(resp);
        assert!(r.is_base64_encoded);
        assert_eq!(r.body, "/wA=");
        assert_eq!(r.headers["x-a"], "1, 2");
    }
}
