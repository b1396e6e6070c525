//! What a handler answers: any serialisable value, or a [`Reply`] that also sets the HTTP status
//! and headers; and the integrated response an HTTP event gets.
//!
//! Why a trait: most handlers answer a plain value (a `200` JSON body over HTTP, the result object
//! of a callFunction); a few need a status or a header for a success (`201`, `Cache-Control`).
//! [`IntoReply`] lets both be returned from the same handler signature, as `IntoResponse` does for
//! lambda_http. A callFunction answer is the body only: status and headers shape HTTP answers.

use std::collections::BTreeMap;

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

/// An integrated response (SCF's API gateway and CloudBase's HTTP access service; `docs/platform.md`
/// "Integrated responses"):
/// `{"isBase64Encoded": false, "statusCode": 200, "headers": {...}, "body": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegratedResponse {
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
    /// HTTP status.
    pub status_code: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// Response body.
    pub body: String,
}

impl IntegratedResponse {
    /// A JSON response with `Content-Type: application/json; charset=utf-8`.
    ///
    /// # Errors
    /// When `body` cannot be serialised (a map with non-string keys, a failing `Serialize` impl).
    pub fn json(status_code: u16, body: &impl Serialize) -> Result<Self, serde_json::Error> {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Content-Type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        );
        Ok(IntegratedResponse {
            is_base64_encoded: false,
            status_code,
            headers,
            body: serde_json::to_string(body)?,
        })
    }

    /// The response for a success: the reply's status, its JSON body, its headers (a
    /// `Content-Type` among them replaces the JSON one, whatever its case).
    ///
    /// # Errors
    /// When the body cannot be serialised.
    pub fn from_reply<T: Serialize>(reply: Reply<T>) -> Result<Self, serde_json::Error> {
        let mut r = Self::json(reply.status, &reply.body)?;
        if reply
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            r.headers.clear();
        }
        r.headers.extend(reply.headers);
        Ok(r)
    }

    /// The response for a business error: its status, its JSON body, `Retry-After` when set.
    pub fn from_error(err: &FnError) -> Self {
        let mut r = Self::json(err.status, err).expect("FnError always serialises");
        if let Some(secs) = err.retry_after_secs {
            r.headers.insert("Retry-After".to_owned(), secs.to_string());
        }
        if let Some(methods) = err.allow {
            r.headers.insert("Allow".to_owned(), methods.to_owned());
        }
        r
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
        assert_eq!(r.headers["Retry-After"], "60");
        assert_eq!(r.headers["Content-Type"], "application/json; charset=utf-8");
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
        assert_eq!(r.headers["Cache-Control"], "no-store");
        assert_eq!(r.headers["Content-Type"], "application/json; charset=utf-8");
        let r = IntegratedResponse::from_reply(
            Reply::new("x").with_header("content-type", "text/plain"),
        )
        .unwrap();
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers["content-type"], "text/plain");
    }
}
