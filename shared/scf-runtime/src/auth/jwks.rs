//! The key set (JWKS) that CloudBase signs access tokens with, fetched on first need and cached.
//!
//! Policy, and why:
//! - **Fetched lazily**, within the invocation's deadline: a function that never sees a token
//!   never fetches it.
//! - **Cached for [`KEY_SET_TTL`]** (an hour, as the independent verifiers in `docs/identity.md`
//!   do).
//! - **An unknown `kid` refetches at most once per [`UNKNOWN_KID_REFETCH_EVERY`].** That is how a
//!   rotated key is picked up, and why a storm of forged `kid`s costs at most one fetch a minute.
//! - **A failed fetch is not retried for [`FAILURE_BACKOFF`]**, so while the key set is down each
//!   request fails fast (or falls back to introspect) instead of each waiting for its own timeout.
//!   Meanwhile keys fetched earlier stay usable for up to [`MAX_STALE`]: a key-set outage does not
//!   log everybody out, at the cost that a key CloudBase withdrew stays trusted that long.
//! - One fetch at a time: concurrent requests in web mode wait for the same fetch.
//!
//! Keys are parsed one by one with jsonwebtoken's JWK support; a key that is not an RSA signing
//! key for RS256 (or does not parse) is skipped, so one odd key does not hide the others.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use serde_json::Value;
use tokio::sync::Mutex;
use tracing::{info, warn};

use super::fetch::{self, FetchError};

/// How long a fetched key set is used before it is fetched again.
pub(crate) const KEY_SET_TTL: Duration = Duration::from_secs(3600);
/// The least time between two refetches caused by an unknown `kid`.
pub(crate) const UNKNOWN_KID_REFETCH_EVERY: Duration = Duration::from_secs(60);
/// After a failed fetch, how long before the next attempt.
pub(crate) const FAILURE_BACKOFF: Duration = Duration::from_secs(super::failure::RETRY_AFTER_SECS);
/// How long keys stay usable when they cannot be refreshed.
pub(crate) const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// The most keys kept from one key set (CloudBase publishes two).
const MAX_KEYS: usize = 32;

/// What a lookup found.
pub(crate) enum Lookup {
    /// The key for the `kid`.
    Key(DecodingKey),
    /// The key set is known and does not hold the `kid`.
    Unknown,
    /// No key set could be had in time.
    Unavailable(String),
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    failed_at: Option<Instant>,
    unknown_refetch_at: Option<Instant>,
}

/// The cached key set of one URL.
pub(crate) struct KeySet {
    url: String,
    state: Mutex<State>,
}

impl KeySet {
    pub(crate) fn new(url: String) -> Self {
        KeySet {
            url,
            state: Mutex::new(State::default()),
        }
    }

    /// The key for `kid`, fetching the key set if the policy above allows, within `timeout`.
    pub(crate) async fn lookup(&self, kid: &str, timeout: Duration) -> Lookup {
        let started = Instant::now();
        let Ok(mut state) = tokio::time::timeout(timeout, self.state.lock()).await else {
            return Lookup::Unavailable("waited too long for another fetch of the key set".into());
        };
        let left = timeout.saturating_sub(started.elapsed());
        let now = Instant::now();
        let fresh = state.fetched_at.is_some_and(|t| now - t < KEY_SET_TTL);
        let backing_off = state.failed_at.is_some_and(|t| now - t < FAILURE_BACKOFF);
        if !fresh {
            let error = if backing_off {
                "the last fetch of the key set failed moments ago".to_owned()
            } else {
                match self.fetch(&mut state, left).await {
                    Ok(()) => String::new(),
                    Err(e) => e.to_string(),
                }
            };
            if !error.is_empty() {
                let usable = state.fetched_at.is_some_and(|t| now - t < MAX_STALE);
                return match state.keys.get(kid) {
                    Some(key) if usable => Lookup::Key(key.clone()),
                    _ => Lookup::Unavailable(error),
                };
            }
        }
        if let Some(key) = state.keys.get(kid) {
            return Lookup::Key(key.clone());
        }
        if fresh
            && !backing_off
            && state
                .unknown_refetch_at
                .is_none_or(|t| now - t >= UNKNOWN_KID_REFETCH_EVERY)
        {
            state.unknown_refetch_at = Some(now);
            if self.fetch(&mut state, left).await.is_ok()
                && let Some(key) = state.keys.get(kid)
            {
                return Lookup::Key(key.clone());
            }
        }
        Lookup::Unknown
    }

    async fn fetch(&self, state: &mut State, timeout: Duration) -> Result<(), FetchError> {
        let result = match fetch::get(&self.url, None, timeout).await {
            Ok(body) => parse_key_set(&body),
            Err(e) => Err(e),
        };
        match result {
            Ok(keys) => {
                info!(keys = keys.len(), "fetched the access-token key set");
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
                state.failed_at = None;
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "cannot fetch the access-token key set");
                state.failed_at = Some(Instant::now());
                Err(e)
            }
        }
    }
}

/// The RS256 signing keys of a JWKS document `{"keys": [...]}`, by `kid`.
///
/// # Errors
/// [`FetchError::BadAnswer`] when the document is not JSON, has no `keys` array, or holds no
/// usable key.
pub(crate) fn parse_key_set(body: &[u8]) -> Result<HashMap<String, DecodingKey>, FetchError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|_| FetchError::BadAnswer("the key set is not JSON".into()))?;
    let Some(list) = doc.get("keys").and_then(Value::as_array) else {
        return Err(FetchError::BadAnswer(
            "the key set has no keys array".into(),
        ));
    };
    let mut keys = HashMap::new();
    for raw in list {
        if keys.len() == MAX_KEYS {
            break;
        }
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let rs256 = jwk
            .common
            .key_algorithm
            .is_none_or(|a| a == jsonwebtoken::jwk::KeyAlgorithm::RS256);
        let signing = jwk
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature);
        let (Some(kid), AlgorithmParameters::RSA(_), true, true) =
            (jwk.common.key_id.clone(), &jwk.algorithm, rs256, signing)
        else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, key);
        }
    }
    if keys.is_empty() {
        return Err(FetchError::BadAnswer(
            "the key set holds no RS256 key".into(),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rsa_signing_keys_are_kept() {
        let doc = serde_json::json!({"keys": [
            {"kid": "a", "kty": "RSA", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kid": "b", "kty": "RSA", "alg": "RS512", "n": "sXch", "e": "AQAB"},
            {"kid": "c", "kty": "RSA", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kid": "d", "kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kid": "f", "kty": "RSA"},
            "garbage",
            {"kid": "g", "kty": "RSA", "n": "sXch", "e": "AQAB"}
        ]});
        let keys = parse_key_set(doc.to_string().as_bytes()).unwrap();
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["a", "g"]);
    }

    #[test]
    fn unusable_documents_are_errors() {
        for body in [&b"<html>"[..], b"{}", b"{\"keys\":\"x\"}", b"{\"keys\":[]}"] {
            assert!(parse_key_set(body).is_err());
        }
    }
}

/// The key-set policy against a local HTTP server that counts fetches.
#[cfg(test)]
mod policy_tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A key set server: answers every request with `doc()` (after `delay`), `Connection: close`.
    struct Server {
        url: String,
        fetches: Arc<AtomicUsize>,
        doc: Arc<std::sync::Mutex<String>>,
    }

    fn key(kid: &str) -> serde_json::Value {
        serde_json::json!({"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"})
    }

    async fn server(kids: &[&str], delay: Duration) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/auth/v1/certs", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let doc = Arc::new(std::sync::Mutex::new(String::new()));
        let s = Server {
            url,
            fetches: fetches.clone(),
            doc: doc.clone(),
        };
        s.set(kids);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                fetches.fetch_add(1, Ordering::SeqCst);
                let body = doc.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                });
            }
        });
        s
    }

    impl Server {
        fn set(&self, kids: &[&str]) {
            let keys: Vec<_> = kids.iter().map(|k| key(k)).collect();
            *self.doc.lock().unwrap() = serde_json::json!({ "keys": keys }).to_string();
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    const T: Duration = Duration::from_secs(2);

    #[tokio::test(flavor = "current_thread")]
    async fn cached_and_unknown_kids_refetch_at_most_once_a_minute() {
        let s = server(&["k1"], Duration::ZERO).await;
        let set = KeySet::new(s.url.clone());
        assert!(matches!(set.lookup("k1", T).await, Lookup::Key(_)));
        assert!(matches!(set.lookup("k1", T).await, Lookup::Key(_)));
        assert_eq!(s.fetches(), 1);
        // Rotation: a new kid is published; the first token under it refetches once.
        s.set(&["k1", "k2"]);
        assert!(matches!(set.lookup("k2", T).await, Lookup::Key(_)));
        assert_eq!(s.fetches(), 2);
        // A storm of forged kids within the minute: no further fetch.
        for i in 0..50 {
            assert!(matches!(
                set.lookup(&format!("forged-{i}"), T).await,
                Lookup::Unknown
            ));
        }
        assert_eq!(s.fetches(), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_fetch_backs_off_and_a_slow_one_ends_in_time() {
        // A port nobody listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/auth/v1/certs", closed.local_addr().unwrap());
        drop(closed);
        let set = KeySet::new(url);
        assert!(matches!(set.lookup("k1", T).await, Lookup::Unavailable(_)));
        let Lookup::Unavailable(why) = set.lookup("k1", T).await else {
            panic!("expected unavailable")
        };
        assert!(why.contains("moments ago"), "{why}");

        let slow = server(&["k1"], Duration::from_secs(30)).await;
        let set = KeySet::new(slow.url.clone());
        let Lookup::Unavailable(why) = set.lookup("k1", Duration::from_millis(200)).await else {
            panic!("expected unavailable")
        };
        assert!(why.contains("no answer within"), "{why}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn garbage_is_unavailable_not_a_panic() {
        let s = server(&[], Duration::ZERO).await;
        *s.doc.lock().unwrap() = "<html>not a key set</html>".into();
        let set = KeySet::new(s.url.clone());
        let Lookup::Unavailable(why) = set.lookup("k1", T).await else {
            panic!("expected unavailable")
        };
        assert!(why.contains("not JSON"), "{why}");
    }
}
