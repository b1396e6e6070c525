//! The customUserId of a verified custom-ticket user, from CloudBase's `GET /auth/v1/user/me`.
//!
//! Why: a user who signed in with `signInWithCustomTicket` gets an access token whose
//! `meta.wxOpenId` is empty (the one real user token seen has `""`), yet getLoginTicket mints every
//! ticket with customUserId = openid, so the openid is knowable. CloudBase documents
//! `GET /auth/v1/user/me` with the caller's own token (`docs/identity.md` "customUserId over
//! HTTP"); its answer lists the user's `providers[{id, provider_user_id, name}]`
//! (`@cloudbase/oauth` `src/auth/models.ts` `UserProfileProvider`), and the `custom` provider's
//! `provider_user_id` is the customUserId the ticket carried.
//!
//! Bounds: asked only when a handler wants the openid and the verified token has none; one call
//! per token at a time (concurrent requests of one token wait for the same call); the answer,
//! also "no custom provider", cached by the token's SHA-256 until the token's `exp`, at most
//! [`MAX_CACHED`] tokens; a failure is not cached. Each call has the invocation's deadline and
//! reads at most `fetch::MAX_ANSWER_BYTES`. The token, the answer and the id are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;

use super::fetch;
use super::verify;

/// The most tokens remembered.
pub(crate) const MAX_CACHED: usize = 4096;
/// The longest customUserId accepted from an answer, in bytes (CloudBase's own rule is 4 to 32
/// characters; an openid has 28).
pub(crate) const MAX_CUSTOM_USER_ID_BYTES: usize = 128;

struct Entry {
    /// The token's `exp`, **seconds**: the entry is dropped after it.
    exp: u64,
    /// The customUserId (`None`: the user has no custom provider), once asked.
    cell: Arc<OnceCell<Option<String>>>,
}

/// Why no customUserId could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// CloudBase answered 401 or 403: it does not accept the token (expired by its clock, which
    /// has no leeway, or revoked).
    Refused,
    /// CloudBase could not be asked, or answered oddly (the sentence says how; never the token,
    /// the URL or the answer).
    Unavailable(String),
}

/// The `/auth/v1/user/me` client's cache.
#[derive(Default)]
pub(crate) struct UserDirectory {
    cache: Mutex<HashMap<[u8; 32], Entry>>,
}

impl UserDirectory {
    /// The customUserId of the user whose verified token is `token` (`sub`, `exp` in seconds),
    /// asking `url` within `timeout` unless it is cached.
    ///
    /// # Errors
    /// [`LookupError::Refused`] for a 401 or 403; [`LookupError::Unavailable`] when CloudBase
    /// cannot be asked or its answer is not a profile of `sub`.
    pub(crate) async fn custom_user_id(
        &self,
        url: &str,
        token: &str,
        sub: &str,
        exp: u64,
        timeout: Duration,
    ) -> Result<Option<String>, LookupError> {
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let key = verify::token_key(token);
            if !cache.contains_key(&key) && cache.len() >= MAX_CACHED {
                let now = verify::now_secs();
                cache.retain(|_, e| e.exp > now);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache
                .entry(key)
                .or_insert_with(|| Entry {
                    exp,
                    cell: Arc::default(),
                })
                .cell
                .clone()
        };
        cell.get_or_try_init(|| ask(url, token, sub, timeout))
            .await
            .cloned()
    }
}

async fn ask(
    url: &str,
    token: &str,
    sub: &str,
    timeout: Duration,
) -> Result<Option<String>, LookupError> {
    let body = fetch::get(url, Some(token), timeout)
        .await
        .map_err(|e| match e {
            fetch::FetchError::Status(401 | 403) => LookupError::Refused,
            e => LookupError::Unavailable(format!("user/me: {e}")),
        })?;
    let profile: Value = serde_json::from_slice(&body)
        .map_err(|_| LookupError::Unavailable("user/me: the answer is not JSON".into()))?;
    custom_user_id_of(&profile, sub).map_err(LookupError::Unavailable)
}

/// The `custom` provider's `provider_user_id` in a `/auth/v1/user/me` answer for `sub`.
///
/// # Errors
/// The answer is not an object, carries `error`, names another `sub`, or has a `custom` provider
/// whose id is empty, not a string, over [`MAX_CUSTOM_USER_ID_BYTES`] or holds a control
/// character.
fn custom_user_id_of(profile: &Value, sub: &str) -> Result<Option<String>, String> {
    let Some(obj) = profile.as_object() else {
        return Err("user/me: the answer is not a JSON object".into());
    };
    if obj.contains_key("error") {
        return Err("user/me: CloudBase answered an error".into());
    }
    if let Some(s) = obj.get("sub").filter(|s| !s.is_null())
        && s.as_str() != Some(sub)
    {
        return Err("user/me: the profile is not the token's user".into());
    }
    let providers = obj
        .get("providers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(custom) = providers
        .iter()
        .find(|p| p.get("id").and_then(Value::as_str) == Some("custom"))
    else {
        return Ok(None);
    };
    match custom.get("provider_user_id").and_then(Value::as_str) {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_CUSTOM_USER_ID_BYTES
                && !id.chars().any(char::is_control) =>
        {
            Ok(Some(id.to_owned()))
        }
        _ => Err("user/me: the custom provider has no usable provider_user_id".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_custom_provider_names_the_custom_user_id() {
        let me = |providers: Value| json!({"sub": "u1", "name": "x", "providers": providers});
        let cases = [
            (
                me(json!([{"id": "custom", "provider_user_id": "o-1", "name": "custom"}])),
                Ok(Some("o-1".to_owned())),
            ),
            (
                me(
                    json!([{"id": "wx-app", "provider_user_id": "o-2"}, {"id": "custom", "provider_user_id": "c-3"}]),
                ),
                Ok(Some("c-3".to_owned())),
            ),
            (
                me(json!([{"id": "phone", "provider_user_id": "p"}])),
                Ok(None),
            ),
            (me(json!([])), Ok(None)),
            (json!({"sub": "u1"}), Ok(None)),
            (json!({"providers": "x"}), Ok(None)),
        ];
        for (answer, want) in cases {
            assert_eq!(custom_user_id_of(&answer, "u1"), want, "{answer}");
        }
        for bad in [
            json!({"sub": "u2", "providers": [{"id": "custom", "provider_user_id": "o"}]}),
            json!({"sub": 5}),
            json!({"error": "unauthenticated", "sub": "u1"}),
            me(json!([{"id": "custom", "provider_user_id": ""}])),
            me(json!([{"id": "custom", "provider_user_id": 7}])),
            me(json!([{"id": "custom", "provider_user_id": "a\nb"}])),
            me(json!([{"id": "custom", "provider_user_id": "x".repeat(129)}])),
            json!([]),
        ] {
            assert!(custom_user_id_of(&bad, "u1").is_err(), "{bad}");
        }
    }
}
