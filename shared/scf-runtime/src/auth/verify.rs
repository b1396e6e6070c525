//! Checking one CloudBase access token: the signature (jsonwebtoken, RS256 only), then the claims.
//!
//! One order of checks, whichever way the signature is vouched for (`docs/identity.md` "Access
//! tokens"), so a token gets the same `reason` in `jwks` and `introspect` mode:
//! 1. the header: `alg` must be `RS256` (`none`, `HS*`, the attack that signs with the public key
//!    as an HMAC secret, and every other algorithm are refused before any key is looked at);
//! 2. the signature, against the key of its `kid` (or CloudBase's introspect answer);
//! 3. `aud` (a string or an array) must contain the env id: `wrong_env`;
//! 4. `iss` must be a string in the accepted set ([`Issuers`]): `wrong_issuer` (an array, a number,
//!    or a host outside the set);
//! 5. times, in **seconds**: `exp` in the future with at most [`LEEWAY_SECS`] of leeway, `nbf`
//!    and `iat` not more than the leeway ahead;
//! 6. `sub` (the CloudBase uid) a non-empty string: `missing_claim` (server API keys have none).
//!
//! A missing `aud`, `iss` or `exp` is `missing_claim` at its step. Failures are [`TokenError`]s, a
//! kind and never the token.

use serde::Deserialize;
use serde_json::Value;

use super::issuer::Issuers;
pub(crate) use super::token_error::TokenError;

/// Clock leeway for `exp`, `nbf` and `iat`, in **seconds**.
pub(crate) const LEEWAY_SECS: u64 = 60;

/// The claims we read, all from a verified token. Others (`groups`, `user_type`, ...) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    /// The issuer, checked against the accepted set.
    pub(crate) iss: String,
    /// **Seconds** since the epoch.
    pub(crate) exp: u64,
    #[serde(default)]
    pub(crate) scope: Option<Value>,
    #[serde(default)]
    pub(crate) meta: Option<Value>,
    #[serde(default)]
    pub(crate) is_anonymous: Option<Value>,
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

    /// Whether the token is an anonymous caller's rather than a user's: `scope` names
    /// `anonymous`, `sub` is `anon`, `is_anonymous` is `true`, or `meta.platform` is
    /// `PublishableKey` (the shape of the publishable key every web front end ships:
    /// `docs/identity.md`). Any one suffices.
    pub(crate) fn is_anonymous(&self) -> bool {
        let scope = self
            .scope
            .as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| s.split_whitespace().any(|s| s == "anonymous"));
        let platform = self
            .meta
            .as_ref()
            .and_then(|m| m.get("platform"))
            .and_then(Value::as_str);
        scope
            || self.sub == "anon"
            || self.is_anonymous == Some(Value::Bool(true))
            || platform == Some("PublishableKey")
    }
}

/// What the token must match.
pub(crate) struct Expect<'a> {
    pub(crate) env_id: &'a str,
    pub(crate) issuers: &'a Issuers,
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

/// Verify `token`'s signature with `key`, then its claims ([`check_claims`]).
///
/// # Errors
/// A [`TokenError`] naming the first rule the token breaks, in the module's order.
pub(crate) fn verify(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    expect: &Expect<'_>,
) -> Result<Claims, TokenError> {
    use jsonwebtoken::errors::ErrorKind;
    // jsonwebtoken checks the signature only; the claims follow our one order below.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Value>(token, key, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
    check_claims(data.claims, expect, now_secs())
}

/// The claims of `token`, decoded without any check of the signature: for a token whose
/// signature is vouched for another way (introspect), and to read `iss` before asking its host.
///
/// # Errors
/// [`TokenError::Malformed`] when the payload is not base64url JSON.
pub(crate) fn unverified_claims(token: &str) -> Result<Value, TokenError> {
    jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| TokenError::Malformed)
}

/// The claim rules, in the module's order, at `now` (seconds).
///
/// # Errors
/// A [`TokenError`] naming the first rule the claims break.
pub(crate) fn check_claims(
    raw: Value,
    expect: &Expect<'_>,
    now: u64,
) -> Result<Claims, TokenError> {
    if !raw.is_object() {
        return Err(TokenError::Malformed);
    }
    let aud_ok = match raw.get("aud") {
        Some(Value::String(a)) => a == expect.env_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expect.env_id)),
        _ => return Err(TokenError::MissingClaim),
    };
    if !aud_ok {
        return Err(TokenError::WrongEnv);
    }
    match raw.get("iss") {
        None | Some(Value::Null) => return Err(TokenError::MissingClaim),
        Some(Value::String(iss)) if expect.issuers.accepts(iss) => {}
        Some(_) => return Err(TokenError::WrongIssuer),
    }
    let num = |k: &str| match raw.get(k) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or(TokenError::MissingClaim),
    };
    let exp = num("exp")?.ok_or(TokenError::MissingClaim)?;
    if exp.saturating_add(LEEWAY_SECS) < now {
        return Err(TokenError::Expired);
    }
    for k in ["nbf", "iat"] {
        if num(k)?.is_some_and(|t| t > now.saturating_add(LEEWAY_SECS)) {
            return Err(TokenError::NotYetValid);
        }
    }
    let claims: Claims = serde_json::from_value(raw).map_err(|_| TokenError::MissingClaim)?;
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim);
    }
    Ok(claims)
}

/// The SHA-256 of a token: how the caches remember a token without holding it.
pub(crate) fn token_key(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(digest.as_ref());
    key
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

    const ISS: &str = "https://env-1.ap-shanghai.tcb-api.tencentcloudapi.com";

    /// The claim rules for env `env-1` with the default issuers, on a token's unverified claims.
    fn check_unsigned(token: &str) -> Result<Claims, TokenError> {
        let issuers = Issuers::default_for("env-1", None);
        let expect = Expect {
            env_id: "env-1",
            issuers: &issuers,
        };
        check_claims(unverified_claims(token)?, &expect, now_secs())
    }

    fn claims(over: serde_json::Value) -> serde_json::Value {
        let now = now_secs();
        let mut c = serde_json::json!({
            "iss": ISS, "sub": "uid-1", "aud": "env-1",
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
    fn claims_follow_one_order() {
        let h = serde_json::json!({"alg": "RS256", "kid": "k"});
        let check = |over| check_unsigned(&token(h.clone(), claims(over)));
        let now = now_secs();
        let c = check(serde_json::json!({})).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.meta_str("wxOpenId").as_deref()),
            ("uid-1", Some("o-1"))
        );
        assert!(!c.is_anonymous());
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
            (
                serde_json::json!({"iss": ["https://evil", ISS]}),
                TokenError::WrongIssuer,
            ),
            (serde_json::json!({"iss": 5}), TokenError::WrongIssuer),
            (serde_json::json!({"iss": null}), TokenError::MissingClaim),
            // Another env's token: wrong_env, whatever else is wrong with it.
            (
                serde_json::json!({"aud": "env-2", "iss": "https://env-2.api.tcloudbasegateway.com", "exp": now - 3600}),
                TokenError::WrongEnv,
            ),
            // The issuer before the times.
            (
                serde_json::json!({"iss": "https://evil", "exp": now - 3600}),
                TokenError::WrongIssuer,
            ),
            // A server API key: aud, no iss, no sub.
            (
                serde_json::json!({"iss": null, "sub": null, "meta": {"platform": "ApiKey"}}),
                TokenError::MissingClaim,
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
        for anon in [
            serde_json::json!({"scope": "anonymous"}),
            serde_json::json!({"sub": "anon"}),
            serde_json::json!({"is_anonymous": true}),
            serde_json::json!({"meta": {"platform": "PublishableKey"}}),
        ] {
            assert!(check(anon.clone()).unwrap().is_anonymous(), "{anon}");
        }
        assert!(
            !check(serde_json::json!({"scope": "user sso"}))
                .unwrap()
                .is_anonymous()
        );
        let not_object = token(h.clone(), serde_json::json!([1]));
        assert_eq!(
            check_unsigned(&not_object).unwrap_err(),
            TokenError::Malformed
        );
    }
}
