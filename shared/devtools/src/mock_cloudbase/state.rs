//! The mock's state, shared by its routes: the keys, the users, the faults, the counters, the
//! clock, the functions; and the helpers every route answers with. Its own file so that the route
//! files (`mock_cloudbase.rs`, `signin.rs`, `functions.rs`) import it and not each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};
use tokio::sync::Mutex as AsyncMutex;

use super::claims::{UserClaims, now_secs};
use super::faults::{IntrospectFault, JwksFault, UserMeFault};
use super::key::JwtKey;
use scf_emulator::emulator::Runner;

pub(super) struct Keys {
    /// Signs [`MockCloudBase::mint`]; published unless staged.
    pub(super) signing: Arc<JwtKey>,
    /// Served at `/auth/v1/certs`, oldest first.
    pub(super) published: Vec<Arc<JwtKey>>,
}

pub(super) struct Shared {
    pub(super) env_id: String,
    /// The `iss` of minted tokens.
    pub(super) issuer: String,
    /// Every `iss` the mock's routes accept: the env's three CloudBase issuer forms and its own
    /// loopback base.
    pub(super) accepted_issuers: Vec<String>,
    pub(super) keys: Mutex<Keys>,
    /// customUserId by uid, for `/auth/v1/user/me`.
    pub(super) custom_users: Mutex<std::collections::HashMap<String, String>>,
    pub(super) jwks_fault: Mutex<JwksFault>,
    pub(super) introspect_fault: Mutex<IntrospectFault>,
    pub(super) user_me_fault: Mutex<UserMeFault>,
    pub(super) jwks_fetches: AtomicU32,
    pub(super) introspect_calls: AtomicU32,
    pub(super) user_me_calls: AtomicU32,
    /// Seconds added to the real clock for everything the mock mints and checks.
    pub(super) clock_offset_secs: std::sync::atomic::AtomicI64,
    /// Sign-in: the custom-login keys, users, refresh tokens (`signin.rs`).
    pub(super) signin: SignInState,
    /// The functions `/web` and `/v1/functions/{name}` run (`functions.rs`).
    pub(super) functions: Mutex<std::collections::HashMap<String, FunctionBackend>>,
}

/// Sign-in state: trusted keys, users, refresh tokens, a counter.
#[derive(Default)]
pub(super) struct SignInState {
    /// `private_key_id` → (the public key as PKCS#1 DER, the key file's `env_id`).
    pub(super) keys: Mutex<HashMap<String, (Vec<u8>, String)>>,
    /// customUserId → uid.
    pub(super) users: Mutex<HashMap<String, String>>,
    /// refresh_token → uid.
    pub(super) refresh_tokens: Mutex<HashMap<String, String>>,
    /// Sign-ins that succeeded.
    pub(super) signins: AtomicU32,
    /// Sign-ins refused.
    pub(super) refused: AtomicU32,
}

/// Where a function named in `/web` or `/v1/functions/{name}` runs.
#[derive(Clone, Default)]
pub struct FunctionBackend {
    /// Its HTTP mode: `http://127.0.0.1:PORT` (the gateway route forwards there).
    pub web_url: Option<String>,
    /// Its event mode on the emulator (the `/web` action invokes it).
    pub event: Option<Arc<AsyncMutex<Runner>>>,
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) fn html_response(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

impl Shared {
    pub(super) fn jwks(&self) -> Value {
        let keys = self.keys.lock().unwrap();
        json!({"keys": keys.published.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
    }

    /// The claims of `token` when it verifies against a published key: RS256 only, its `kid`
    /// published, `exp` in the future and `nbf` / `iat` not (no leeway), `aud` = env id, `iss`
    /// one of the accepted issuers, `sub` present.
    pub(super) fn verify(&self, token: &str) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 {
            return None;
        }
        let kid = header.kid?;
        let key = {
            let keys = self.keys.lock().unwrap();
            keys.published
                .iter()
                .find(|k| k.kid == kid)?
                .decoding_key()?
        };
        // The signature by jsonwebtoken; the claims by hand, against the mock's clock.
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(token, &key, &v).ok()?.claims;
        let now = self.now();
        let secs = |k: &str| claims.get(k).map(|v| v.as_i64());
        let aud_ok = match claims.get("aud")? {
            Value::String(a) => *a == self.env_id,
            Value::Array(l) => l.iter().any(|a| a.as_str() == Some(self.env_id.as_str())),
            _ => false,
        };
        // A string `iss` (CloudBase's own tokens carry one), among the accepted issuers.
        let iss_ok = self
            .accepted_issuers
            .iter()
            .any(|i| Some(i.as_str()) == claims.get("iss").and_then(Value::as_str));
        let exp_ok = secs("exp")?.is_some_and(|exp| exp > now);
        let nbf_ok = secs("nbf").is_none_or(|nbf| nbf.is_some_and(|nbf| nbf <= now));
        let iat_ok = secs("iat").is_none_or(|iat| iat.is_some_and(|iat| iat <= now));
        let sub_ok = claims.get("sub")?.is_string();
        (aud_ok && iss_ok && exp_ok && nbf_ok && iat_ok && sub_ok).then_some(claims)
    }

    /// The mock's clock, Unix seconds: the real one moved by [`MockCloudBase::set_clock_offset_secs`].
    pub(super) fn now(&self) -> i64 {
        now_secs() + self.clock_offset_secs.load(Ordering::SeqCst)
    }
}

pub(super) fn bad_request(message: &str) -> Response {
    let body = json!({"error": "BAD_REQUEST", "message": message});
    json_response(StatusCode::BAD_REQUEST, body.to_string())
}

/// Sign `claims` (the mock's issuer unless they set one) and remember its customUserId.
pub(super) fn mint_with(s: &Shared, claims: &UserClaims) -> String {
    if let Some(custom) = &claims.custom_user_id {
        s.custom_users
            .lock()
            .unwrap()
            .insert(claims.uid.clone(), custom.clone());
    }
    let mut claims = claims.clone();
    claims.iss.get_or_insert_with(|| s.issuer.clone());
    sign_with_current(s, &claims.to_json(&s.env_id, s.now()))
}

pub(super) fn sign_with_current(s: &Shared, claims: &Value) -> String {
    let key = s.keys.lock().unwrap().signing.clone();
    key.sign(&key.kid, claims)
}
