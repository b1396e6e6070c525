//! The online check: CloudBase's documented `GET /auth/v1/token/introspect`, which answers
//! `{token_type, client_id, sub, scope}` for a valid token and `{}` for an expired or revoked one
//! (`docs/identity.md` "Introspect").
//!
//! Used for every new token with `TCB_TOKEN_VERIFY=introspect`, and as the fallback when the key
//! set cannot be fetched. The token's claims are checked first, with the same rules as offline
//! (`verify::check_unsigned`), so a token for another env never leaves the function; CloudBase's
//! answer stands in for the signature, and its `sub` must equal the token's.
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
        let claims = verify::check_unsigned(token, expect).map_err(Outcome::Invalid)?;
        let hash: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .unwrap_or([0; 32]);
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
        match answer.get("sub").and_then(Value::as_str) {
            Some(sub) if !sub.is_empty() && sub == claims.sub => {}
            _ => return Err(Outcome::Invalid(TokenError::Rejected)),
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
    /// `check_unsigned` (which refuses a token past `exp`) before it looks here; the map is purged
    /// only when full.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Claims>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}
