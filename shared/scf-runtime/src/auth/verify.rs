//! Checking one CloudBase access token: the signature (jsonwebtoken, RS256 only), then the claims.
//!
//! The rules (`docs/identity.md` "Access tokens"):
//! - `alg` must be `RS256`: `none`, `HS*` (the attack that signs with the public key as an HMAC
//!   secret) and every other algorithm are refused before any key is looked at;
//! - `kid` must name a key of the key set;
//! - `exp` (**seconds**) must be in the future, with at most [`LEEWAY_SECS`] of leeway; `nbf`
//!   likewise; `iat` must not be more than the leeway in the future;
//! - `aud` (a string or an array) must contain the env id; `iss` must equal the issuer;
//! - `sub` (the CloudBase uid) must be a non-empty string.
//!
//! Failures are [`TokenError`]s, a kind and never the token.

use serde::Deserialize;
use serde_json::Value;

/// Clock leeway for `exp`, `nbf` and `iat`, in **seconds**.
pub(crate) const LEEWAY_SECS: u64 = 60;

/// Why a token was refused. [`TokenError::reason`] is the stable name callers get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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

/// The claims we read, all from a verified token. Others (`groups`, `user_type`, ...) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    /// **Seconds** since the epoch.
    pub(crate) exp: u64,
    #[serde(default)]
    pub(crate) iat: Option<u64>,
    #[serde(default)]
    pub(crate) scope: Option<Value>,
    #[serde(default)]
    pub(crate) meta: Option<Value>,
}

impl Claims {
    /// A string field of `meta` (`wxOpenId`, `wxUnionId`), when present and non-empty.
    pub(crate) fn meta_str(&self, key: &str) -> Option<String> {
        self.meta
            .as_ref()?
            .get(key)?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Whether `scope` names the anonymous scope (UNCONFIRMED: `docs/identity.md`).
    pub(crate) fn is_anonymous(&self) -> Option<bool> {
        let scope = self.scope.as_ref()?.as_str()?;
        Some(scope.split_whitespace().any(|s| s == "anonymous"))
    }
}

/// What the token must match.
pub(crate) struct Expect<'a> {
    pub(crate) env_id: &'a str,
    pub(crate) issuer: &'a str,
}

/// The token's header `alg` and `kid`, read without trusting them.
///
/// # Errors
/// [`TokenError::Malformed`] for an unreadable header, [`TokenError::Algorithm`] when `alg` is
/// not `RS256` (`none` included, which jsonwebtoken cannot even represent).
pub(crate) fn header_kid(token: &str) -> Result<Option<String>, TokenError> {
    use base64::Engine;
    let first = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .map_err(|_| TokenError::Malformed)?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(TokenError::Algorithm);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    Ok(header.kid)
}

/// Verify `token` with `key` and check its claims.
///
/// # Errors
/// A [`TokenError`] naming the first rule the token breaks.
pub(crate) fn verify(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    expect: &Expect<'_>,
) -> Result<Claims, TokenError> {
    use jsonwebtoken::errors::ErrorKind;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_audience(&[expect.env_id]);
    validation.set_issuer(&[expect.issuer]);
    validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::Algorithm,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidAudience => TokenError::WrongEnv,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                TokenError::MissingClaim
            }
            // A claims JSON that does not fit `Claims` (sub not a string, exp not a number).
            ErrorKind::Json(_) => TokenError::MissingClaim,
            _ => TokenError::Malformed,
        }
    })?;
    check_iat_and_sub(&data.claims, now_secs())?;
    Ok(data.claims)
}

/// The claim checks for a token whose signature CloudBase vouched for (introspect): the same
/// rules as [`verify`], applied to the unverified claims.
///
/// # Errors
/// A [`TokenError`] naming the first rule the claims break.
pub(crate) fn check_unsigned(token: &str, expect: &Expect<'_>) -> Result<Claims, TokenError> {
    let raw: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| TokenError::Malformed)?;
    let now = now_secs();
    let num = |k: &str| {
        raw.get(k)
            .map(|v| v.as_u64().ok_or(TokenError::MissingClaim))
    };
    let exp = num("exp").ok_or(TokenError::MissingClaim)??;
    if exp.saturating_add(LEEWAY_SECS) < now {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = num("nbf").transpose()?
        && nbf > now + LEEWAY_SECS
    {
        return Err(TokenError::NotYetValid);
    }
    let aud_ok = match raw.get("aud") {
        Some(Value::String(a)) => a == expect.env_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.env_id)),
        _ => return Err(TokenError::MissingClaim),
    };
    if !aud_ok {
        return Err(TokenError::WrongEnv);
    }
    match raw.get("iss").and_then(Value::as_str) {
        None => return Err(TokenError::MissingClaim),
        Some(iss) if iss != expect.issuer => return Err(TokenError::WrongIssuer),
        Some(_) => {}
    }
    let claims: Claims = serde_json::from_value(raw).map_err(|_| TokenError::MissingClaim)?;
    check_iat_and_sub(&claims, now)?;
    Ok(claims)
}

fn check_iat_and_sub(claims: &Claims, now: u64) -> Result<(), TokenError> {
    if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS) {
        return Err(TokenError::NotYetValid);
    }
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim);
    }
    Ok(())
}

/// Now, in **seconds** since the epoch.
pub(crate) fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn token(header: serde_json::Value, claims: serde_json::Value) -> String {
        format!("{}.{}.c2ln", b64(&header), b64(&claims))
    }

    const EXPECT: Expect<'static> = Expect {
        env_id: "env-1",
        issuer: "https://env-1.api.tcloudbasegateway.com",
    };

    fn claims(over: serde_json::Value) -> serde_json::Value {
        let now = now_secs();
        let mut c = serde_json::json!({
            "iss": EXPECT.issuer, "sub": "uid-1", "aud": "env-1",
            "exp": now + 600, "iat": now, "scope": "user",
            "meta": {"wxOpenId": "o-1"}
        });
        for (k, v) in over.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn only_rs256_headers_pass() {
        let c = claims(serde_json::json!({}));
        for alg in ["none", "HS256", "RS512", "ES256", "PS256"] {
            let t = token(serde_json::json!({"alg": alg, "kid": "k"}), c.clone());
            assert_eq!(header_kid(&t), Err(TokenError::Algorithm), "{alg}");
        }
        let t = token(serde_json::json!({"alg": "RS256", "kid": "k"}), c.clone());
        assert_eq!(header_kid(&t), Ok(Some("k".into())));
        let t = token(serde_json::json!({"alg": "RS256"}), c);
        assert_eq!(header_kid(&t), Ok(None));
        assert_eq!(header_kid("e30.e30.c2ln"), Err(TokenError::Algorithm));
        assert_eq!(header_kid("!!.e30.c2ln"), Err(TokenError::Malformed));
    }

    #[test]
    fn unsigned_claims_follow_the_same_rules() {
        let h = serde_json::json!({"alg": "RS256", "kid": "k"});
        let check = |over| check_unsigned(&token(h.clone(), claims(over)), &EXPECT);
        let now = now_secs();
        let c = check(serde_json::json!({})).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.meta_str("wxOpenId").as_deref()),
            ("uid-1", Some("o-1"))
        );
        assert_eq!(c.is_anonymous(), Some(false));
        let cases = [
            (serde_json::json!({"exp": now - 3600}), TokenError::Expired),
            (
                serde_json::json!({"nbf": now + 3600}),
                TokenError::NotYetValid,
            ),
            (
                serde_json::json!({"iat": now + 3600}),
                TokenError::NotYetValid,
            ),
            (serde_json::json!({"aud": "env-2"}), TokenError::WrongEnv),
            (
                serde_json::json!({"aud": ["env-2", "x"]}),
                TokenError::WrongEnv,
            ),
            (
                serde_json::json!({"iss": "https://evil"}),
                TokenError::WrongIssuer,
            ),
            (serde_json::json!({"exp": "soon"}), TokenError::MissingClaim),
            (serde_json::json!({"sub": ""}), TokenError::MissingClaim),
            (serde_json::json!({"sub": 5}), TokenError::MissingClaim),
            (serde_json::json!({"aud": null}), TokenError::MissingClaim),
        ];
        for (over, want) in cases {
            assert_eq!(check(over.clone()).unwrap_err(), want, "{over}");
        }
        // Inside the leeway, and an audience list holding the env id.
        assert!(check(serde_json::json!({"exp": now - 30, "aud": ["x", "env-1"]})).is_ok());
        assert_eq!(
            check(serde_json::json!({"scope": "anonymous"}))
                .unwrap()
                .is_anonymous(),
            Some(true)
        );
    }
}
