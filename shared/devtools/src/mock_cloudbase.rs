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

mod claims;
mod faults;
mod functions;
mod key;
mod signin;
mod state;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use claims::{
    DEFAULT_TTL_SECS, MAX_TTL_SECS, MockIssuer, UserClaims, api_key_claims, gateway_issuer,
    issuer_for, new_uid, now_secs, publishable_key_claims,
};
pub use faults::{HUGE_JWKS_BYTES, IntrospectFault, JwksFault, UserMeFault};
pub use key::JwtKey;
pub use state::FunctionBackend;

use faults::{DOWN_PAGE, GARBAGE};
use state::{
    Keys, Shared, SignInState, bad_request, html_response, json_response, mint_with,
    sign_with_current,
};

/// The JWKS path, as at `https://{env_id}.api.tcloudbasegateway.com`.
pub const JWKS_PATH: &str = "/auth/v1/certs";
/// The introspection path, as at `https://{env_id}.api.tcloudbasegateway.com`.
pub const INTROSPECT_PATH: &str = "/auth/v1/token/introspect";
/// The profile path (documented: `docs/identity.md` "customUserId over HTTP").
pub const USER_ME_PATH: &str = "/auth/v1/user/me";
/// The mock-only route that mints a token over HTTP (for scripts).
pub const MINT_PATH: &str = "/mock/auth/token";
/// A running CloudBase auth mock. Dropping it stops the server.
pub struct MockCloudBase {
    server: scf_emulator::LocalServer,
    shared: Arc<Shared>,
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
            signin: SignInState::default(),
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
        let server = scf_emulator::LocalServer::serve(listener, app)?;
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

    /// Trust the custom-login key of a `tcb_custom_login.json` (`{private_key_id, private_key,
    /// env_id}`): tickets whose prefix names it are checked with its public half (`signin.rs`).
    ///
    /// # Errors
    /// `InvalidData` when the JSON or the PEM cannot be read.
    pub fn trust_custom_login_key(&self, key_file_json: &str) -> std::io::Result<()> {
        let (id, der, env) = signin::trusted_key(key_file_json)?;
        self.shared
            .signin
            .keys
            .lock()
            .unwrap()
            .insert(id, (der, env));
        Ok(())
    }

    /// Move the mock's clock: everything it mints and checks from now on uses the real clock
    /// plus `secs` (negative: the past). Tickets and tokens are judged by it, so a test can make
    /// a token that is already expired without sleeping.
    pub fn set_clock_offset_secs(&self, secs: i64) {
        self.shared.clock_offset_secs.store(secs, Ordering::SeqCst);
    }

    /// Sign-ins that succeeded, and that were refused.
    pub fn signins(&self) -> (u32, u32) {
        (
            self.shared.signin.signins.load(Ordering::SeqCst),
            self.shared.signin.refused.load(Ordering::SeqCst),
        )
    }

    /// Serve function `name` from `backend` at `/web` (`functions.invokeFunction`) and
    /// `/v1/functions/{name}` (`functions.rs`).
    pub fn set_function(&self, name: &str, backend: FunctionBackend) {
        self.shared
            .functions
            .lock()
            .unwrap()
            .insert(name.to_owned(), backend);
    }
}

#[cfg(test)]
mod tests;
