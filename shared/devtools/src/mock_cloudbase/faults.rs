//! How the mock's routes misbehave on request: the key set, introspect, the profile. Each fault is
//! one a real outage or a hostile proxy could produce.

use std::time::Duration;

/// Size of the [`JwksFault::Huge`] body, bytes (8 MiB).
pub const HUGE_JWKS_BYTES: usize = 8 * 1024 * 1024;

/// How `GET /auth/v1/certs` misbehaves (set with [`MockCloudBase::set_jwks_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JwksFault {
    /// The JWKS of the published keys.
    #[default]
    None,
    /// HTTP 503 with an HTML page.
    Down,
    /// Waits this long, then the normal answer.
    Slow(Duration),
    /// HTTP 200, `application/json`, a body that is not JSON.
    Garbage,
    /// HTTP 200, `text/html`, a maintenance page.
    Html,
    /// `{"keys":[]}`.
    EmptyKeys,
    /// HTTP 200, a [`HUGE_JWKS_BYTES`] (8 MiB) body: the real keys followed by a padding member,
    /// so a reader without a size bound would *accept* it.
    Huge,
    /// `{"keys":"x"}`.
    WrongShape,
}

/// How `GET /auth/v1/token/introspect` misbehaves (set with
/// [`MockCloudBase::set_introspect_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntrospectFault {
    /// The real check.
    #[default]
    None,
    /// HTTP 503 with an HTML page.
    Down,
    /// Waits this long, then the real check.
    Slow(Duration),
    /// HTTP 200, `application/json`, a body that is not JSON.
    Garbage,
    /// `{"active": false, "sub": <the token's sub>}` for any token, verified or not: an answer
    /// that names the token's user but does not vouch for it.
    InactiveWithSub,
    /// `{"error": "invalid_token", "error_description", "sub": <the token's sub>}` for any token.
    ErrorWithSub,
}

/// How `GET /auth/v1/user/me` misbehaves (set with [`MockCloudBase::set_user_me_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserMeFault {
    /// The profile.
    #[default]
    None,
    /// HTTP 503 with an HTML page.
    Down,
    /// Waits this long, then the profile.
    Slow(Duration),
    /// The profile of another user (`sub` differs).
    OtherUser,
}

/// The page a `Down` fault serves.
pub(super) const DOWN_PAGE: &str = "<html><body>503 Service Temporarily Unavailable</body></html>";
/// The body a `Garbage` fault serves.
pub(super) const GARBAGE: &str = "{\"keys\": [ this is not JSON";
