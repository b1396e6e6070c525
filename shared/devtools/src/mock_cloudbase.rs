//! A local mock of CloudBase's user access-token endpoints, so the functions' access-token
//! verification (`TCB_TOKEN_VERIFY` = `jwks` | `introspect`) can be run and attacked on
//! 127.0.0.1 without a cloud account: `scripts/invoke --access-token-for UID` and the tests.
//!
//! What it mirrors: the token shapes recorded, with their public sources, in
//! `testdata/cloudbase_token_shapes.json` (docs/identity.md "What real tokens look like"); the
//! mock's tests compare every shape it mints with that file. In short: RS256, header
//! `{"alg","kid"}` (no `typ`, a UUID kid); a user token's claims `iss` =
//! `https://{env}.ap-shanghai.tcb-api.tencentcloudapi.com` (the SDK's sign-in host; the gateway
//! or another form on request: [`MockIssuer`]), `sub` = a 19-digit uid, `aud` = the env id,
//! `exp` / `iat` in SECONDS 7,200 apart, `scope: "user sso"`, `meta: {wxOpenId, wxUnionId}`
//! always present (empty strings unless given), `user_id` = `sub`, `user_type: "external"`;
//! the publishable key (`sub: "anon"`, `scope: "anonymous"`) and the server API key (no `iss`,
//! no `sub`) shapes too.
//!
//! Routes (same paths as CloudBase, so a function needs only the URL overrides):
//!
//! | route | answer |
//! |---|---|
//! | `GET /auth/v1/certs` | the JWKS of the published keys: `{"keys":[{"kid","kty":"RSA","alg":"RS256","use":"sig","n","e"}]}`, or the [`JwksFault`] set |
//! | `GET /auth/v1/token/introspect` | with `Authorization: Bearer <token>`: `{"token_type":"Bearer","client_id":env_id,"sub":uid,"scope":...}` when the token verifies against a published key, else `{}` (HTTP 200, as CloudBase documents); or the [`IntrospectFault`] set |
//! | `GET /auth/v1/user/me` | with a Bearer token that verifies: the profile in the documented shape `{sub, user_id, name, picture, groups, providers: [{id, provider_user_id, name}], status, ...}`, its `custom` provider carrying the customUserId the token was minted for; else HTTP 401 `{"error":"unauthenticated","error_description"}`; or the [`UserMeFault`] set |
//! | `POST /mock/auth/token` | mock only: `{"uid"?, "openid"?, "unionid"?, "custom_user_id"?, "anonymous"?, "ttl_secs"?}` → `{"access_token", "expires_in"}` (seconds); 400 `{"error","message"}` on a bad body |
//!
//! Design choices, each where it matters:
//! - Keys are 2048-bit RSA made by aws-lc-rs (fast, already a devtools dependency) and signed
//!   with jsonwebtoken (the workspace's JWT crate, aws_lc_rs backend), so a mock token is what a
//!   real RS256 library produces.
//! - The *signing* key and the *published* keys are separate, so a test can make a key that
//!   signs but is not yet published ([`MockCloudBase::stage_rotation`]) and publish it later
//!   ([`MockCloudBase::publish_staged`]): "an unknown kid makes the verifier refetch once".
//! - The default issuer is a real CloudBase host form, which the functions' default settings
//!   accept: [`MockCloudBase::env_vars`] sets only the URLs (and `TCB_ISSUER_HOSTS=false`, so no
//!   function asks a real issuer host from a test), never `TCB_TOKEN_ISSUER`, so the tests prove
//!   the defaults.
//! - Introspection here is strict (no clock leeway, `nbf` and `iat` checked): it stands for the
//!   issuer's own check, which has no other clock to forgive. It sets no size limit on the token,
//!   so a test of an oversized token sees the function's own bound, not the mock's.
//! - Every token the mock hands out is a secret: it is never logged, and no route echoes one.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

/// The JWKS path, as at `https://{env_id}.api.tcloudbasegateway.com`.
pub const JWKS_PATH: &str = "/auth/v1/certs";
/// The introspection path, as at `https://{env_id}.api.tcloudbasegateway.com`.
pub const INTROSPECT_PATH: &str = "/auth/v1/token/introspect";
/// The profile path (documented: `docs/identity.md` "customUserId over HTTP").
pub const USER_ME_PATH: &str = "/auth/v1/user/me";
/// The mock-only route that mints a token over HTTP (for scripts).
pub const MINT_PATH: &str = "/mock/auth/token";
/// Default token lifetime, seconds (CloudBase access tokens: 2 hours, as far as public docs say).
pub const DEFAULT_TTL_SECS: u64 = 7200;
/// Longest lifetime `POST /mock/auth/token` hands out, seconds.
pub const MAX_TTL_SECS: u64 = 86_400;
/// Size of the [`JwksFault::Huge`] body, bytes (8 MiB).
pub const HUGE_JWKS_BYTES: usize = 8 * 1024 * 1024;

/// The gateway issuer (and API base) for `env_id`: `https://{env_id}.api.tcloudbasegateway.com`.
pub fn gateway_issuer(env_id: &str) -> String {
    format!("https://{env_id}.api.tcloudbasegateway.com")
}

/// The issuer real user tokens carry: `https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com`
/// (the js-sdk 2.x sign-in host of the `ap-shanghai` region).
pub fn issuer_for(env_id: &str) -> String {
    format!("https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com")
}

/// Which `iss` the mock's tokens carry (its other issuers' tokens still verify at its routes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MockIssuer {
    /// `https://{env}.ap-shanghai.tcb-api.tencentcloudapi.com`, as every real user token seen.
    #[default]
    TcbApi,
    /// `https://{env}.api.tcloudbasegateway.com`.
    Gateway,
    /// `https://{env}.api.intl.tcloudbasegateway.com`.
    IntlGateway,
    /// The mock's own `http://127.0.0.1:PORT`: a token whose issuer host is reachable, to test
    /// asking the issuer's own key set and profile (`TCB_ISSUER_HOSTS`).
    Loopback,
}

/// A 19-digit numeric uid, as real tokens' `sub` (random).
pub fn new_uid() -> String {
    format!(
        "{}{:018}",
        1 + rand::random::<u8>() % 9,
        rand::random::<u64>() % 1_000_000_000_000_000_000
    )
}

fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

/// Seconds since the Unix epoch (JWT time unit).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A 2048-bit RSA key with its `kid`, made by aws-lc-rs, signing RS256 through jsonwebtoken.
///
/// Public for the forged-token helpers ([`crate::testkit::tokens`]): a *foreign* key signs a
/// token under a kid the mock publishes, and the public halves feed the HS256 confusion attack.
/// The private half never leaves this struct (no accessor, and `Debug` shows the kid only).
pub struct JwtKey {
    kid: String,
    encoding: EncodingKey,
    /// Modulus and exponent, base64url without padding (JWK `n`, `e`).
    n: String,
    e: String,
    /// The public key as a SubjectPublicKeyInfo DER (the body of a `BEGIN PUBLIC KEY` PEM).
    spki_der: Vec<u8>,
    /// The public key as a PKCS#1 `RSAPublicKey` DER (what jsonwebtoken keeps from an RSA PEM).
    pkcs1_der: Vec<u8>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey").field("kid", &self.kid).finish()
    }
}

fn io_err(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

/// PEM armour: base64 in 64-character lines between `-----BEGIN {label}-----` and `-----END`.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl JwtKey {
    /// A new 2048-bit key with a random kid (a UUID, as real kids).
    ///
    /// # Errors
    /// When aws-lc cannot generate or encode the key (an `io::Error` of kind `Other`).
    pub fn generate() -> std::io::Result<JwtKey> {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| io_err("RSA key generation", e))?;
        // aws-lc-rs hands out PKCS#8; jsonwebtoken's PEM reader takes PKCS#8 and keeps the inner
        // PKCS#1 key, which is what its aws_lc_rs signer parses.
        let pkcs8 = pair.as_der().map_err(|e| io_err("PKCS#8 encoding", e))?;
        let encoding = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes())
            .map_err(|e| io_err("jsonwebtoken key", e))?;
        let public = pair.public_key();
        let parts = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
        let spki_der = public
            .as_der()
            .map_err(|e| io_err("SPKI encoding", e))?
            .as_ref()
            .to_vec();
        Ok(JwtKey {
            kid: uuid(),
            encoding,
            n: URL_SAFE_NO_PAD.encode(&parts.n),
            e: URL_SAFE_NO_PAD.encode(&parts.e),
            spki_der,
            pkcs1_der: public.as_ref().to_vec(),
        })
    }

    /// The key's id (the JWT header's `kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWKS entry: `{"kid","kty":"RSA","alg":"RS256","use":"sig","n","e"}`.
    pub fn jwk(&self) -> Value {
        json!({"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": self.n, "e": self.e})
    }

    /// An RS256 JWT of `claims` with header `{"alg":"RS256","kid": kid}` (no `typ`, as real
    /// tokens). `kid` need not be this key's own (a forged token uses another key's kid).
    ///
    /// # Panics
    /// Never for a key made by [`JwtKey::generate`] and JSON claims (jsonwebtoken fails only on
    /// a key it cannot parse or claims it cannot serialise).
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("RS256 with a key aws-lc generated")
    }

    /// The public key as `-----BEGIN PUBLIC KEY-----` PEM text (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der)
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER.
    pub fn public_key_pkcs1_der(&self) -> &[u8] {
        &self.pkcs1_der
    }

    fn decoding_key(&self) -> Option<DecodingKey> {
        DecodingKey::from_rsa_components(&self.n, &self.e).ok()
    }
}

/// The claims of a user token to mint. `UserClaims::new(uid)` gives the real shape
/// (`testdata/cloudbase_token_shapes.json` "user"); the builder methods add WeChat ids, the
/// customUserId the mock's `/auth/v1/user/me` reports, or override a claim for a test.
///
/// Times are Unix SECONDS. The token is (before `extra`):
///
/// ```json
/// {"iss": "https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com", "sub": uid, "aud": env_id,
///  "iat": now, "exp": now + ttl_secs, "at_hash": "<random>", "scope": "user sso",
///  "project_id": env_id, "provider_type": "custom",
///  "meta": {"wxOpenId": openid or "", "wxUnionId": unionid or ""},
///  "user_id": uid, "user_type": "external"}
/// ```
///
/// `nbf` appears only when set. Real uids are 19-digit strings ([`new_uid`]); tests may use any.
#[derive(Debug, Clone, PartialEq)]
pub struct UserClaims {
    /// `sub` and `user_id`: the CloudBase uid.
    pub uid: String,
    /// `meta.wxOpenId` (`""` when `None`).
    pub openid: Option<String>,
    /// `meta.wxUnionId` (`""` when `None`).
    pub unionid: Option<String>,
    /// The customUserId the mock's `/auth/v1/user/me` reports for this uid (not in the token,
    /// as with real custom-ticket users).
    pub custom_user_id: Option<String>,
    /// Lifetime: `exp = now + ttl_secs` unless [`UserClaims::exp`] is set. Default 7200.
    pub ttl_secs: u64,
    /// `aud` instead of the env id.
    pub aud: Option<String>,
    /// `iss` instead of the mock's issuer.
    pub iss: Option<String>,
    /// `iat` instead of now, seconds.
    pub iat: Option<i64>,
    /// `nbf`, seconds (absent by default, as in CloudBase tokens).
    pub nbf: Option<i64>,
    /// `exp` instead of `now + ttl_secs`, seconds.
    pub exp: Option<i64>,
    /// Claims applied last: each replaces the claim of that name; a `null` value removes it
    /// (e.g. `("exp", null)` for a token without `exp`).
    pub extra: serde_json::Map<String, Value>,
}

impl UserClaims {
    /// The default claims for `uid` (see the type's docs).
    pub fn new(uid: &str) -> UserClaims {
        UserClaims {
            uid: uid.to_owned(),
            openid: None,
            unionid: None,
            custom_user_id: None,
            ttl_secs: DEFAULT_TTL_SECS,
            aud: None,
            iss: None,
            iat: None,
            nbf: None,
            exp: None,
            extra: serde_json::Map::new(),
        }
    }

    /// With `meta.wxOpenId`.
    pub fn openid(mut self, openid: &str) -> Self {
        self.openid = Some(openid.to_owned());
        self
    }

    /// With `meta.wxUnionId`.
    pub fn unionid(mut self, unionid: &str) -> Self {
        self.unionid = Some(unionid.to_owned());
        self
    }

    /// The customUserId the mock's `/auth/v1/user/me` reports for this user (getLoginTicket's
    /// tickets carry the openid there).
    pub fn custom_user_id(mut self, id: &str) -> Self {
        self.custom_user_id = Some(id.to_owned());
        self
    }

    /// Lifetime in seconds.
    pub fn ttl_secs(mut self, secs: u64) -> Self {
        self.ttl_secs = secs;
        self
    }

    /// `aud` override.
    pub fn aud(mut self, aud: &str) -> Self {
        self.aud = Some(aud.to_owned());
        self
    }

    /// `iss` override.
    pub fn iss(mut self, iss: &str) -> Self {
        self.iss = Some(iss.to_owned());
        self
    }

    /// `iat` override, seconds.
    pub fn iat(mut self, iat: i64) -> Self {
        self.iat = Some(iat);
        self
    }

    /// `nbf`, seconds.
    pub fn nbf(mut self, nbf: i64) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// `exp` override, seconds.
    pub fn exp(mut self, exp: i64) -> Self {
        self.exp = Some(exp);
        self
    }

    /// Set (or, with `null`, remove) any claim, applied last.
    pub fn extra(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The claims as JSON for a token of `env_id` issued at `now` (seconds), with `iss` =
    /// [`issuer_for`]`(env_id)` unless [`UserClaims::iss`] says otherwise.
    pub fn to_json(&self, env_id: &str, now: i64) -> Value {
        let mut c = json!({
            "iss": self.iss.clone().unwrap_or_else(|| issuer_for(env_id)),
            "sub": self.uid,
            "aud": self.aud.as_deref().unwrap_or(env_id),
            "exp": self.exp.unwrap_or(now.saturating_add(self.ttl_secs as i64)),
            "iat": self.iat.unwrap_or(now),
            "at_hash": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "scope": "user sso",
            "project_id": env_id,
            "provider_type": "custom",
            "meta": {
                "wxOpenId": self.openid.as_deref().unwrap_or_default(),
                "wxUnionId": self.unionid.as_deref().unwrap_or_default(),
            },
            "user_id": self.uid,
            "user_type": "external",
        });
        if let Some(nbf) = self.nbf {
            c["nbf"] = nbf.into();
        }
        apply_extra(&mut c, &self.extra);
        c
    }
}

fn apply_extra(c: &mut Value, extra: &serde_json::Map<String, Value>) {
    if let Value::Object(m) = c {
        for (k, v) in extra {
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The claims of the anonymous publishable key of `env_id` issued by `iss` at `now` (seconds):
/// `testdata/cloudbase_token_shapes.json` "publishable_key" (`sub: "anon"`, `scope:
/// "anonymous"`, `exp` in 2099).
pub fn publishable_key_claims(env_id: &str, iss: &str, now: i64) -> Value {
    json!({
        "iss": iss, "sub": "anon", "aud": env_id,
        "exp": 4_070_908_800_i64, "iat": now,
        "scope": "anonymous", "role": "anon", "is_anonymous": true,
        "client_type": "client_user",
        "meta": {"platform": "PublishableKey"},
    })
}

/// The claims of a server API key of `env_id` at `now` (seconds):
/// `testdata/cloudbase_token_shapes.json` "api_key" (no `iss`, no `sub`).
pub fn api_key_claims(env_id: &str, now: i64) -> Value {
    json!({
        "aud": env_id, "exp": 253_402_300_799_i64, "iat": now,
        "groups": ["administrator"], "is_system_admin": true,
        "meta": {"platform": "ApiKey", "internalUserType": "administrator"},
    })
}

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

struct Keys {
    /// Signs [`MockCloudBase::mint`]; published unless staged.
    signing: Arc<JwtKey>,
    /// Served at `/auth/v1/certs`, oldest first.
    published: Vec<Arc<JwtKey>>,
}

struct Shared {
    env_id: String,
    /// The `iss` of minted tokens.
    issuer: String,
    /// Every `iss` the mock's routes accept: the env's three CloudBase issuer forms and its own
    /// loopback base.
    accepted_issuers: Vec<String>,
    keys: Mutex<Keys>,
    /// customUserId by uid, for `/auth/v1/user/me`.
    custom_users: Mutex<std::collections::HashMap<String, String>>,
    jwks_fault: Mutex<JwksFault>,
    introspect_fault: Mutex<IntrospectFault>,
    user_me_fault: Mutex<UserMeFault>,
    jwks_fetches: AtomicU32,
    introspect_calls: AtomicU32,
    user_me_calls: AtomicU32,
    /// Seconds added to the real clock for everything the mock mints and checks.
    clock_offset_secs: std::sync::atomic::AtomicI64,
    /// Sign-in: the custom-login keys, users, refresh tokens (`signin.rs`).
    signin: signin::SignInState,
    /// The functions `/web` and `/v1/functions/{name}` run (`functions.rs`).
    functions: Mutex<std::collections::HashMap<String, functions::FunctionBackend>>,
}

/// A running CloudBase auth mock. Dropping it stops the server.
pub struct MockCloudBase {
    server: crate::LocalServer,
    shared: Arc<Shared>,
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn html_response(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

const DOWN_PAGE: &str = "<html><body>503 Service Temporarily Unavailable</body></html>";
const GARBAGE: &str = "{\"keys\": [ this is not JSON";

impl Shared {
    fn jwks(&self) -> Value {
        let keys = self.keys.lock().unwrap();
        json!({"keys": keys.published.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
    }

    /// The claims of `token` when it verifies against a published key: RS256 only, its `kid`
    /// published, `exp` in the future and `nbf` / `iat` not (no leeway), `aud` = env id, `iss`
    /// one of the accepted issuers, `sub` present.
    fn verify(&self, token: &str) -> Option<Value> {
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
    fn now(&self) -> i64 {
        now_secs() + self.clock_offset_secs.load(Ordering::SeqCst)
    }
}

async fn certs(State(s): State<Arc<Shared>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let fault = *s.jwks_fault.lock().unwrap();
    match fault {
        JwksFault::None => {}
        JwksFault::Down => return html_response(StatusCode::SERVICE_UNAVAILABLE, DOWN_PAGE),
        JwksFault::Slow(d) => tokio::time::sleep(d).await,
        JwksFault::Garbage => return json_response(StatusCode::OK, GARBAGE.into()),
        JwksFault::Html => {
            return html_response(StatusCode::OK, "<html><body>maintenance</body></html>");
        }
        JwksFault::EmptyKeys => return json_response(StatusCode::OK, r#"{"keys":[]}"#.into()),
        JwksFault::WrongShape => return json_response(StatusCode::OK, r#"{"keys":"x"}"#.into()),
        JwksFault::Huge => {
            let keys = s.jwks()["keys"].to_string();
            let head = format!(r#"{{"keys":{keys},"padding":""#);
            let pad = HUGE_JWKS_BYTES.saturating_sub(head.len() + 2);
            let body = format!("{head}{}\"}}", "x".repeat(pad));
            return json_response(StatusCode::OK, body);
        }
    }
    json_response(StatusCode::OK, s.jwks().to_string())
}

async fn introspect(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    s.introspect_calls.fetch_add(1, Ordering::SeqCst);
    let fault = *s.introspect_fault.lock().unwrap();
    match fault {
        IntrospectFault::None => {}
        IntrospectFault::Down => return html_response(StatusCode::SERVICE_UNAVAILABLE, DOWN_PAGE),
        IntrospectFault::Slow(d) => tokio::time::sleep(d).await,
        IntrospectFault::Garbage => return json_response(StatusCode::OK, GARBAGE.into()),
        IntrospectFault::InactiveWithSub | IntrospectFault::ErrorWithSub => {
            let sub = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| jsonwebtoken::dangerous::insecure_decode_claims::<Value>(t).ok())
                .and_then(|c| c.get("sub").cloned())
                .unwrap_or(Value::Null);
            let body = if fault == IntrospectFault::InactiveWithSub {
                json!({"active": false, "sub": sub})
            } else {
                json!({"error": "invalid_token", "error_description": "token revoked", "sub": sub})
            };
            return json_response(StatusCode::OK, body.to_string());
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(claims) = token.and_then(|t| s.verify(t)) else {
        return json_response(StatusCode::OK, "{}".into());
    };
    let body = json!({
        "token_type": "Bearer",
        "client_id": s.env_id,
        "sub": claims["sub"],
        "scope": claims.get("scope").cloned().unwrap_or(Value::Null),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// `GET /auth/v1/user/me`: the documented profile shape (`docs/identity.md` "customUserId over
/// HTTP"; `@cloudbase/oauth` `src/auth/models.ts` `UserProfile`, `UserProfileProvider`), with a
/// `custom` provider when the uid was minted with a customUserId. A token that does not verify:
/// 401 with CloudBase's error body shape `{error, error_description}` (`@cloudbase/oauth`
/// `src/oauth2client/models.ts` `ResponseError`).
async fn user_me(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    s.user_me_calls.fetch_add(1, Ordering::SeqCst);
    let fault = *s.user_me_fault.lock().unwrap();
    match fault {
        UserMeFault::None | UserMeFault::OtherUser => {}
        UserMeFault::Down => return html_response(StatusCode::SERVICE_UNAVAILABLE, DOWN_PAGE),
        UserMeFault::Slow(d) => tokio::time::sleep(d).await,
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(claims) = token.and_then(|t| s.verify(t)) else {
        let body = json!({"error": "unauthenticated", "error_description": "invalid access token"});
        return json_response(StatusCode::UNAUTHORIZED, body.to_string());
    };
    let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
    let mut providers = Vec::new();
    if let Some(custom) = s.custom_users.lock().unwrap().get(&sub) {
        providers.push(json!({"id": "custom", "provider_user_id": custom, "name": "custom"}));
    }
    let shown_sub = if fault == UserMeFault::OtherUser {
        new_uid()
    } else {
        sub.clone()
    };
    let body = json!({
        "sub": shown_sub, "user_id": sub, "name": "", "picture": "", "username": "",
        "groups": [{"id": "default"}], "providers": providers,
        "status": "ACTIVE", "meta": claims.get("meta").cloned().unwrap_or(Value::Null),
        "created_from": "custom",
    });
    json_response(StatusCode::OK, body.to_string())
}

fn bad_request(message: &str) -> Response {
    let body = json!({"error": "BAD_REQUEST", "message": message});
    json_response(StatusCode::BAD_REQUEST, body.to_string())
}

async fn mint_route(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            r#"expected a JSON object {"uid"?, "openid"?, "unionid"?, "custom_user_id"?, "anonymous"?, "ttl_secs"?}"#,
        );
    };
    if req
        .get("anonymous")
        .is_some_and(|v| *v == Value::Bool(true))
    {
        let token = sign_with_current(
            &s,
            &publishable_key_claims(&s.env_id, &s.issuer, now_secs()),
        );
        return json_response(
            StatusCode::OK,
            json!({"access_token": token, "expires_in": 4_070_908_800_i64 - now_secs()})
                .to_string(),
        );
    }
    let text = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_owned);
    let uid = match req.get("uid") {
        None | Some(Value::Null) => new_uid(),
        Some(_) => match text("uid").filter(|u| (1..=256).contains(&u.len())) {
            Some(u) => u,
            None => return bad_request("uid must be a string of 1 to 256 bytes"),
        },
    };
    let ttl = match req.get("ttl_secs") {
        None | Some(Value::Null) => DEFAULT_TTL_SECS,
        Some(v) => match v.as_u64().filter(|t| (1..=MAX_TTL_SECS).contains(t)) {
            Some(t) => t,
            None => return bad_request("ttl_secs must be an integer from 1 to 86400 (seconds)"),
        },
    };
    for k in ["openid", "unionid", "custom_user_id"] {
        if req.get(k).is_some_and(|v| !v.is_null() && !v.is_string()) {
            return bad_request(&format!("{k} must be a string"));
        }
    }
    let mut claims = UserClaims::new(&uid).ttl_secs(ttl);
    claims.openid = text("openid");
    claims.unionid = text("unionid");
    claims.custom_user_id = text("custom_user_id");
    let token = mint_with(&s, &claims);
    json_response(
        StatusCode::OK,
        json!({"access_token": token, "expires_in": ttl}).to_string(),
    )
}

/// Sign `claims` (the mock's issuer unless they set one) and remember its customUserId.
fn mint_with(s: &Shared, claims: &UserClaims) -> String {
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

fn sign_with_current(s: &Shared, claims: &Value) -> String {
    let key = s.keys.lock().unwrap().signing.clone();
    key.sign(&key.kid, claims)
}

impl MockCloudBase {
    /// Start on `127.0.0.1`, a free port, for `env_id`, with one signing key, published; its
    /// tokens carry the tcb-api issuer ([`MockIssuer::TcbApi`]).
    ///
    /// # Errors
    /// `InvalidInput` for an empty `env_id`; when the port cannot be bound; when the key cannot
    /// be generated.
    pub async fn start(env_id: &str) -> std::io::Result<Self> {
        Self::start_with(env_id, MockIssuer::default()).await
    }

    /// [`MockCloudBase::start`], its tokens carrying `issuer`'s form.
    ///
    /// # Errors
    /// As [`MockCloudBase::start`].
    pub async fn start_with(env_id: &str, issuer: MockIssuer) -> std::io::Result<Self> {
        if env_id.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the env id is empty",
            ));
        }
        let key = Arc::new(JwtKey::generate()?);
        // The port is known only once bound; the loopback issuer is filled in then.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let own = match issuer {
            MockIssuer::TcbApi => issuer_for(env_id),
            MockIssuer::Gateway => gateway_issuer(env_id),
            MockIssuer::IntlGateway => format!("https://{env_id}.api.intl.tcloudbasegateway.com"),
            MockIssuer::Loopback => base.clone(),
        };
        let shared = Arc::new(Shared {
            env_id: env_id.to_owned(),
            issuer: own,
            accepted_issuers: vec![
                issuer_for(env_id),
                gateway_issuer(env_id),
                format!("https://{env_id}.api.intl.tcloudbasegateway.com"),
                base,
            ],
            keys: Mutex::new(Keys {
                signing: key.clone(),
                published: vec![key],
            }),
            custom_users: Mutex::default(),
            jwks_fault: Mutex::default(),
            introspect_fault: Mutex::default(),
            user_me_fault: Mutex::default(),
            jwks_fetches: AtomicU32::new(0),
            introspect_calls: AtomicU32::new(0),
            user_me_calls: AtomicU32::new(0),
            clock_offset_secs: std::sync::atomic::AtomicI64::new(0),
            signin: signin::SignInState::default(),
            functions: Mutex::default(),
        });
        let app = axum::Router::new()
            .route(JWKS_PATH, get(certs))
            .route(INTROSPECT_PATH, get(introspect))
            .route(USER_ME_PATH, get(user_me))
            .route(MINT_PATH, post(mint_route))
            .route(signin::SIGNIN_CUSTOM_PATH, post(signin::signin_custom))
            .route(signin::TOKEN_PATH, post(signin::refresh))
            .route(signin::REVOKE_PATH, post(signin::revoke))
            .route(signin::CLOCK_PATH, post(signin::clock))
            .route(signin::STATS_PATH, get(signin::stats))
            .route(functions::WEB_PATH, post(functions::web))
            .route(functions::GATEWAY_FUNCTION_PATH, post(functions::gateway))
            .with_state(shared.clone());
        let server = crate::LocalServer::serve(listener, app)?;
        Ok(MockCloudBase { server, shared })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `http://127.0.0.1:PORT/auth/v1/certs`, for `TCB_JWKS_URL`.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.base_url())
    }

    /// `http://127.0.0.1:PORT/auth/v1/token/introspect`, for `TCB_INTROSPECT_URL`.
    pub fn introspect_url(&self) -> String {
        format!("{}{INTROSPECT_PATH}", self.base_url())
    }

    /// `http://127.0.0.1:PORT/auth/v1/user/me`, for `TCB_USER_ME_URL`.
    pub fn user_me_url(&self) -> String {
        format!("{}{USER_ME_PATH}", self.base_url())
    }

    /// The `iss` of its tokens ([`MockIssuer`]).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The env id (`aud` of its tokens).
    pub fn env_id(&self) -> &str {
        &self.shared.env_id
    }

    /// The variables that make a function trust this mock: `TCB_ENV`, `TCB_JWKS_URL`,
    /// `TCB_INTROSPECT_URL`, `TCB_USER_ME_URL`, and `TCB_ISSUER_HOSTS=false` so that no function
    /// asks a real CloudBase host from a test. Not `TCB_TOKEN_ISSUER`: the mock's tokens carry
    /// a real issuer form, which the functions' defaults must accept; except a
    /// [`MockIssuer::Loopback`] mock, whose issuer is listed and whose host is asked
    /// (`TCB_ISSUER_HOSTS=true`). `TCB_TOKEN_VERIFY` is left to the caller: it chooses the method
    /// under test.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let loopback = self.issuer() == self.base_url();
        let mut vars = vec![
            ("TCB_ENV".into(), self.env_id().to_owned()),
            ("TCB_JWKS_URL".into(), self.jwks_url()),
            ("TCB_INTROSPECT_URL".into(), self.introspect_url()),
            ("TCB_USER_ME_URL".into(), self.user_me_url()),
            ("TCB_ISSUER_HOSTS".into(), loopback.to_string()),
        ];
        if loopback {
            vars.push(("TCB_TOKEN_ISSUER".into(), self.issuer().to_owned()));
        }
        vars
    }

    /// A user token of `claims`, signed by the current signing key (see [`UserClaims`] for the
    /// shape); its customUserId, if any, is what `/auth/v1/user/me` reports for the uid.
    pub fn mint(&self, claims: UserClaims) -> String {
        mint_with(&self.shared, &claims)
    }

    /// The env's anonymous publishable key ([`publishable_key_claims`]).
    pub fn publishable_key(&self) -> String {
        self.sign_claims(&publishable_key_claims(
            self.env_id(),
            self.issuer(),
            now_secs(),
        ))
    }

    /// A server API key ([`api_key_claims`]): no `iss`, no `sub`.
    pub fn api_key(&self) -> String {
        self.sign_claims(&api_key_claims(self.env_id(), now_secs()))
    }

    /// Any JSON claims, signed RS256 by the current signing key under its own kid (for forged
    /// and oversized tokens).
    pub fn sign_claims(&self, claims: &Value) -> String {
        sign_with_current(&self.shared, claims)
    }

    /// The current signing key (its kid and public halves; the forged-token helpers use it).
    pub fn signing_key(&self) -> Arc<JwtKey> {
        self.shared.keys.lock().unwrap().signing.clone()
    }

    /// The kids served at `/auth/v1/certs` now, oldest first.
    pub fn published_kids(&self) -> Vec<String> {
        let keys = self.shared.keys.lock().unwrap();
        keys.published.iter().map(|k| k.kid.clone()).collect()
    }

    /// The JWKS `/auth/v1/certs` serves without a fault.
    pub fn jwks(&self) -> Value {
        self.shared.jwks()
    }

    /// Make a new key the signing key *without publishing it*; returns its kid. Tokens minted
    /// from now on carry a kid the JWKS does not have until [`MockCloudBase::publish_staged`].
    ///
    /// # Errors
    /// When the key cannot be generated (nothing changes then).
    pub fn stage_rotation(&self) -> std::io::Result<String> {
        let key = Arc::new(JwtKey::generate()?);
        let kid = key.kid.clone();
        self.shared.keys.lock().unwrap().signing = key;
        Ok(kid)
    }

    /// Publish the signing key if it is not yet; with `keep_old` false the other keys are
    /// withdrawn from the JWKS (tokens they signed stop verifying).
    pub fn publish_staged(&self, keep_old: bool) {
        let mut keys = self.shared.keys.lock().unwrap();
        let signing = keys.signing.clone();
        if !keep_old {
            keys.published.retain(|k| Arc::ptr_eq(k, &signing));
        }
        if !keys.published.iter().any(|k| Arc::ptr_eq(k, &signing)) {
            keys.published.push(signing);
        }
    }

    /// Rotate: a new key signs and is published; the old ones stay published if `keep_old`.
    /// Returns the new kid.
    ///
    /// # Errors
    /// When the key cannot be generated (nothing changes then).
    pub fn rotate(&self, keep_old: bool) -> std::io::Result<String> {
        let kid = self.stage_rotation()?;
        self.publish_staged(keep_old);
        Ok(kid)
    }

    /// Set how `/auth/v1/certs` answers from the next request on.
    pub fn set_jwks_fault(&self, fault: JwksFault) {
        *self.shared.jwks_fault.lock().unwrap() = fault;
    }

    /// Set how `/auth/v1/token/introspect` answers from the next request on.
    pub fn set_introspect_fault(&self, fault: IntrospectFault) {
        *self.shared.introspect_fault.lock().unwrap() = fault;
    }

    /// Set how `/auth/v1/user/me` answers from the next request on.
    pub fn set_user_me_fault(&self, fault: UserMeFault) {
        *self.shared.user_me_fault.lock().unwrap() = fault;
    }

    /// `GET /auth/v1/user/me` requests received (faulty answers included).
    pub fn user_me_calls(&self) -> u32 {
        self.shared.user_me_calls.load(Ordering::SeqCst)
    }

    /// `GET /auth/v1/certs` requests received (faulty answers included).
    pub fn jwks_fetches(&self) -> u32 {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// `GET /auth/v1/token/introspect` requests received (faulty answers included).
    pub fn introspect_calls(&self) -> u32 {
        self.shared.introspect_calls.load(Ordering::SeqCst)
    }

    /// Whether the mock's own introspection accepts `token` now (the in-process form of
    /// `GET /auth/v1/token/introspect`, without counting a call).
    pub fn accepts(&self, token: &str) -> bool {
        self.shared.verify(token).is_some()
    }
}

mod functions;
mod signin;

pub use functions::FunctionBackend;

#[cfg(test)]
mod tests;
