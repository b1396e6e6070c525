//! Why a request has no identity from its token, and the answer the caller gets for it. Its own
//! file because it is the verifier's output in every build (`verifier.rs` with the
//! `access-token` feature, `disabled.rs` without).

use super::token_error::TokenError;
use crate::config::Misconfig;
use crate::error::FnError;

/// `Retry-After` of a `503 AUTH_UNAVAILABLE`, in seconds: the key set's failure back-off.
pub(crate) const RETRY_AFTER_SECS: u64 = 10;

/// Why a request has no identity from its token.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "access-token"), allow(dead_code))]
pub(crate) enum AuthFailure {
    /// The token is refused: `401 INVALID_TOKEN`.
    Invalid(TokenError),
    /// Neither the key set nor introspect could be had in time: `503 AUTH_UNAVAILABLE`.
    Unavailable(String),
    /// A setting is wrong: `500 MISCONFIGURED`.
    Misconfigured(Misconfig),
}

impl AuthFailure {
    /// The answer the caller gets. Never the token, never a URL.
    pub(crate) fn to_error(&self) -> FnError {
        match self {
            AuthFailure::Invalid(e) => FnError::new(crate::ErrorCode::INVALID_TOKEN, 401, e.to_string())
                .with_field("reason", serde_json::Value::from(e.reason())),
            AuthFailure::Unavailable(_) => FnError::new(
                crate::ErrorCode::AUTH_UNAVAILABLE,
                503,
                "the access token cannot be checked now: CloudBase's key set and introspect are unreachable; retry later",
            )
            .with_retry_after(RETRY_AFTER_SECS),
            AuthFailure::Misconfigured(m) => m.to_error(),
        }
    }
}
