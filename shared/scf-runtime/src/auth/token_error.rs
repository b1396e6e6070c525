//! Why a token was refused: a kind, never the token. Its own file because it is part of every
//! answer about a token, also in a build without verification (the `access-token` feature off).

/// Why a token was refused. [`TokenError::reason`] is the stable name callers get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(feature = "access-token"), allow(dead_code))]
pub(crate) enum TokenError {
    /// Not a JWT, or unreadable header/claims, or over 8 KB.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is not RS256.
    #[error("the token is not signed with RS256")]
    Algorithm,
    /// `kid` is missing or not in the key set.
    #[error("the token's key (kid) is not one of this env's keys")]
    UnknownKey,
    /// The signature does not match.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` is past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `aud` does not contain this env id.
    #[error("the token is for another env")]
    WrongEnv,
    /// `iss` is not the configured issuer.
    #[error("the token has another issuer")]
    WrongIssuer,
    /// `exp`, `sub`, `aud` or `iss` is missing or of the wrong type.
    #[error("the token lacks a required claim")]
    MissingClaim,
    /// `Authorization` and `X-Cloudbase-Context` carry different tokens.
    #[error("Authorization and X-Cloudbase-Context carry different tokens")]
    Mismatch,
    /// CloudBase's introspect call said the token is not valid (revoked, or not CloudBase's).
    #[error("CloudBase does not accept the token")]
    Rejected,
}

impl TokenError {
    /// The stable, machine-readable reason (the `reason` field of a `401 INVALID_TOKEN`).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Algorithm => "algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongEnv => "wrong_env",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::MissingClaim => "missing_claim",
            TokenError::Mismatch => "token_mismatch",
            TokenError::Rejected => "rejected",
        }
    }
}
