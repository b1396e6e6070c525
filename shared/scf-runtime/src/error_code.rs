//! Error codes as a type: what a caller matches on, compared by value, never by message text.
//!
//! Why a type and not a string: handlers used to compare `e.error == "UNAUTHENTICATED"`, where a
//! typo compiles and silently never matches. The runtime's own codes are constants here; a
//! function's codes are constants in its crate (`ErrorCode::from_static("MISSING_PHONE_CODE")`),
//! and a code built at run time (`MISSING_<FIELD>` of typed input) is an `ErrorCode` too.
//!
//! On the wire a code is its text: `{"error": "BAD_REQUEST", ...}` (the shape of CloudBase's
//! published login recipe, `docs/api.md`).

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// A stable, machine-readable error code: SCREAMING_SNAKE_CASE text such as `BAD_REQUEST`.
/// Serialised as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// `400`: the request body or event could not be used.
    pub const BAD_REQUEST: ErrorCode = ErrorCode::from_static("BAD_REQUEST");
    /// `405`, with `Allow`.
    pub const METHOD_NOT_ALLOWED: ErrorCode = ErrorCode::from_static("METHOD_NOT_ALLOWED");
    /// `408`: the request body did not arrive in time (web mode).
    pub const REQUEST_TIMEOUT: ErrorCode = ErrorCode::from_static("REQUEST_TIMEOUT");
    /// `413`: a body over SCF's 6 MB.
    pub const PAYLOAD_TOO_LARGE: ErrorCode = ErrorCode::from_static("PAYLOAD_TOO_LARGE");
    /// `415`: a body of a type the runtime does not read.
    pub const UNSUPPORTED_MEDIA_TYPE: ErrorCode = ErrorCode::from_static("UNSUPPORTED_MEDIA_TYPE");
    /// `401`: no caller identity from a platform channel and no access token.
    pub const UNAUTHENTICATED: ErrorCode = ErrorCode::from_static("UNAUTHENTICATED");
    /// `401`: the caller is anonymous and the handler needs a signed-in user.
    pub const ANONYMOUS: ErrorCode = ErrorCode::from_static("ANONYMOUS");
    /// `401`, with `reason`: a presented access token is refused.
    pub const INVALID_TOKEN: ErrorCode = ErrorCode::from_static("INVALID_TOKEN");
    /// `503`, with `Retry-After`: the access token cannot be checked now.
    pub const AUTH_UNAVAILABLE: ErrorCode = ErrorCode::from_static("AUTH_UNAVAILABLE");
    /// `503`, with `Retry-After`: web mode is at its memory or connection budget.
    pub const BUSY: ErrorCode = ErrorCode::from_static("BUSY");
    /// `500`: a setting is missing or wrong (the message names it, never its value).
    pub const MISCONFIGURED: ErrorCode = ErrorCode::from_static("MISCONFIGURED");
    /// `500`: the handler panicked, or its answer could not be encoded.
    pub const INTERNAL: ErrorCode = ErrorCode::from_static("INTERNAL");
    /// `500` in web mode: the answer is over SCF's 6 MB (event mode fails the invocation).
    pub const RESULT_TOO_LARGE: ErrorCode = ErrorCode::from_static("RESULT_TOO_LARGE");

    /// A code from a literal, usable in `const` items.
    pub const fn from_static(code: &'static str) -> Self {
        ErrorCode(Cow::Borrowed(code))
    }

    /// `MISSING_<FIELD>` for a required input field: `code` → `MISSING_CODE`,
    /// `idempotencyKey` → `MISSING_IDEMPOTENCY_KEY` (camelCase split, anything not ASCII
    /// alphanumeric becomes `_`).
    pub fn missing_field(field: &str) -> Self {
        let mut out = String::with_capacity(field.len() + 12);
        out.push_str("MISSING_");
        for (i, c) in field.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            });
        }
        ErrorCode(Cow::Owned(out))
    }

    /// The code's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compares with a code's text: for tests that check the wire answer, and for codes read back
/// from one. A handler compares with the constants instead (a typo there does not compile).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl From<&'static str> for ErrorCode {
    fn from(code: &'static str) -> Self {
        ErrorCode::from_static(code)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode(Cow::Owned(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_the_wire_and_equal_by_value() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::BAD_REQUEST).unwrap(),
            r#""BAD_REQUEST""#
        );
        assert_eq!(
            ErrorCode::from(String::from("ANONYMOUS")),
            ErrorCode::ANONYMOUS
        );
        assert_eq!(ErrorCode::missing_field("code").as_str(), "MISSING_CODE");
        assert_eq!(
            ErrorCode::missing_field("idempotencyKey").as_str(),
            "MISSING_IDEMPOTENCY_KEY"
        );
        assert_eq!(ErrorCode::missing_field("a-b").as_str(), "MISSING_A_B");
    }
}
