//! The online check: CloudBase's documented `GET /auth/v1/token/introspect`, which answers
//! `{token_type, client_id, sub, scope}` for a valid token and `{}` for an expired or revoked one
//! (`docs/identity.md` "Introspect").
//!
//! Used for every new token with `TCB_TOKEN_VERIFY=introspect`, and as the fallback when the key
//! set cannot be fetched. The token's claims are checked first, with the same rules as offline
//! (`verify::check_claims`), so a token for another env never leaves the function. CloudBase's
//! answer stands in for the signature only when it says so without doubt ([`vouches`]): a JSON
//! object, no `error` member, `active` absent or `true`, and a `sub` equal to the token's. Any
//! other answer (`{}`, `{"active": false, "sub": …}`, `{"error": …, "sub": …}`) is `rejected`.
//!
//! A valid answer is cached until the token's `exp`, keyed by the token's SHA-256 (the cache
//! never holds a token), at most [`MAX_CACHED`] entries. Refusals are not cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::fetch;
use super::verify::{self, Claims, Expect, TokenError};

/// The most tokens remembered.
pub(crate) const MAX_CACHED: usize = 4096;

/// Why introspect gave no identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The token is refused.
    Invalid(TokenError),
    /// CloudBase could not be asked (the message says why).
    Unavailable(String),
}

/// The introspect client and its cache.
pub(crate) struct Introspector {
    url: String,
    cache: Mutex<HashMap<[u8; 32], Claims>>,
}

impl Introspector {
    pub(crate) fn new(url: String) -> Self {
        Introspector {
            url,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The claims of `token` once CloudBase has said it is valid.
    pub(crate) async fn check(
        &self,
        token: &str,
        expect: &Expect<'_>,
        timeout: Duration,
    ) -> Result<Claims, Outcome> {
        let claims = verify::unverified_claims(token)
            .and_then(|raw| verify::check_claims(raw, expect, verify::now_secs()))
            .map_err(Outcome::Invalid)?;
        let hash = verify::token_key(token);
        if let Some(c) = self.lock().get(&hash) {
            return Ok(c.clone());
        }
        let body = fetch::get(&self.url, Some(token), timeout)
            .await
            .map_err(|e| Outcome::Unavailable(format!("introspect: {e}")))?;
        let answer: Value = serde_json::from_slice(&body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                Outcome::Unavailable("introspect: the answer is not a JSON object".into())
            })?;
        if !vouches(&answer, &claims.sub) {
            return Err(Outcome::Invalid(TokenError::Rejected));
        }
        let mut cache = self.lock();
        let now = verify::now_secs();
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| c.exp > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(hash, claims.clone());
        Ok(claims)
    }

    /// The cache. Expired entries are never served without a purge on every call: `check` runs
    /// `check_claims` (which refuses a token past `exp`) before it looks here; the map is purged
    /// only when full.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Claims>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether an introspect answer vouches for a token whose `sub` is `sub`: an object without an
/// `error` member, whose `active` is absent or `true`, and whose `sub` is `sub` (non-empty).
fn vouches(answer: &Value, sub: &str) -> bool {
    let Some(obj) = answer.as_object() else {
        return false;
    };
    let active_ok = match obj.get("active") {
        None => true,
        Some(v) => *v == Value::Bool(true),
    };
    let sub_ok = obj.get("sub").and_then(Value::as_str) == Some(sub) && !sub.is_empty();
    !obj.contains_key("error") && active_ok && sub_ok
}

#[cfg(test)]
mod tests {
    use super::vouches;
    use serde_json::json;

    #[test]
    fn only_a_clear_yes_vouches() {
        let yes = [
            json!({"token_type": "Bearer", "client_id": "e", "sub": "u1", "scope": "user sso"}),
            json!({"active": true, "sub": "u1"}),
        ];
        for a in yes {
            assert!(vouches(&a, "u1"), "{a}");
        }
        let no = [
            json!({}),
            json!({"active": false, "sub": "u1"}),
            json!({"active": "true", "sub": "u1"}),
            json!({"active": null, "sub": "u1"}),
            json!({"error": "invalid_token", "sub": "u1"}),
            json!({"error": null, "sub": "u1"}),
            json!({"sub": "u2"}),
            json!({"sub": ["u1"]}),
            json!({"sub": 1}),
            json!(["u1"]),
            json!("u1"),
        ];
        for a in no {
            assert!(!vouches(&a, "u1"), "{a}");
        }
        assert!(!vouches(&json!({"sub": ""}), ""));
    }
}
