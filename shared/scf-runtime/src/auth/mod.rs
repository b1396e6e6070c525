//! Caller identity over HTTP from a verified CloudBase access token.
//!
//! The platform channels (`identity.rs`: `userInfo`, the context header on `/next`) carry no
//! identity for HTTP requests. What an HTTP caller does carry, once signed in, is its CloudBase
//! access token: a JWT, RS256, signed with a key of the env's key set (`docs/identity.md`). A
//! token whose signature and claims check out names its caller as surely as a platform channel
//! does; anything else in the request is the client's own writing and names nobody.
//!
//! The steps, one file each: `credentials.rs` finds the token (Bearer or `X-Cloudbase-Context`),
//! `config.rs` reads the settings, `jwks.rs` keeps the key set, `verify.rs` checks a token,
//! `introspect.rs` asks CloudBase when the key set cannot be had, `fetch.rs` is their HTTP GET.
//!
//! Nothing runs until a handler asks ([`crate::Context::caller`]): a function that never asks
//! never parses a token or fetches a key.

mod config;
mod credentials;
mod fetch;
mod introspect;
mod jwks;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

pub use credentials::{
    ContextHeaderError, MAX_CONTEXT_HEADER_BYTES, MAX_CONTEXT_JSON_BYTES, MAX_TOKEN_BYTES,
    decode_cloudbase_context,
};
pub(crate) use credentials::{Credentials, Offered, Presented};

use crate::config::Misconfig;
use crate::error::FnError;
use crate::identity::{Identity, IdentitySource};
use config::{AuthConfig, Mode};
use introspect::{Introspector, Outcome};
use jwks::{KeySet, Lookup};
use verify::{Claims, Expect, TokenError};

/// Time kept back from the invocation's deadline for answering, in a fetch's timeout.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);
/// The longest a key-set or introspect fetch may take, whatever the time left.
const MAX_FETCH: Duration = Duration::from_secs(5);
/// `Retry-After` of a `503 AUTH_UNAVAILABLE`, in seconds: the key set's failure back-off.
pub(crate) const RETRY_AFTER_SECS: u64 = jwks::FAILURE_BACKOFF.as_secs();

/// Why a request has no identity from its token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AuthFailure {
    /// The token is refused: `401 INVALID_TOKEN`.
    Invalid(TokenError),
    /// Neither the key set nor introspect could be had in time: `503 AUTH_UNAVAILABLE`.
    Unavailable(String),
    /// A setting is wrong: `500 MISCONFIGURED`.
    Misconfigured(Misconfig),
}

impl AuthFailure {
    /// The answer the caller gets. Never the token, never a URL.
    pub(crate) fn to_error(&self) -> FnError {
        match self {
            AuthFailure::Invalid(e) => FnError::new("INVALID_TOKEN", 401, e.to_string())
                .with_field("reason", serde_json::Value::from(e.reason())),
            AuthFailure::Unavailable(_) => FnError::new(
                "AUTH_UNAVAILABLE",
                503,
                "the access token cannot be checked now: CloudBase's key set and introspect are unreachable; retry later",
            )
            .with_retry_after(RETRY_AFTER_SECS),
            AuthFailure::Misconfigured(m) => m.to_error(),
        }
    }
}

/// The process-wide verifier: settings, the key-set cache, the introspect cache. Built once per
/// process, shared by every invocation.
pub(crate) struct Authenticator {
    /// A bad setting is kept, not fatal: callers with a token get `MISCONFIGURED`.
    verifier: Result<Verifier, Misconfig>,
}

/// The settings with the two caches they point at.
struct Verifier {
    config: AuthConfig,
    keys: KeySet,
    introspect: Introspector,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.verifier.as_ref().map(|v| v.config.mode))
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// From the process environment; logs the mode (or the misconfiguration) once.
    pub(crate) fn from_env() -> Arc<Self> {
        let auth = Self::from_lookup(|k| std::env::var(k).ok());
        match &auth.verifier {
            Ok(Verifier { config: c, .. }) => {
                info!(mode = ?c.mode, env_id = %c.env_id, trust_wechat_context = c.trust_wechat_context, "access-token verification")
            }
            Err(m) => {
                warn!(setting = %m.setting, "access tokens will be refused as MISCONFIGURED: {}", m.detail)
            }
        }
        Arc::new(auth)
    }

    /// From `lookup` (tests). The caches are empty until a token needs them.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let verifier = AuthConfig::from_lookup(lookup).map(|config| Verifier {
            keys: KeySet::new(config.jwks_url.clone()),
            introspect: Introspector::new(config.introspect_url.clone()),
            config,
        });
        Authenticator { verifier }
    }

    /// Tokens ignored: the verifier of a context built without one (unit tests of handlers).
    /// One shared instance, so a context costs no allocation for it.
    pub(crate) fn off() -> Arc<Self> {
        static OFF: std::sync::OnceLock<Arc<Authenticator>> = std::sync::OnceLock::new();
        OFF.get_or_init(|| {
            Arc::new(Self::from_lookup(|k| {
                (k == "TCB_TOKEN_VERIFY").then(|| "off".to_owned())
            }))
        })
        .clone()
    }

    /// The identity `presented` proves, with `remaining` time left in the invocation:
    /// `Ok(None)` when it presents no token (nor a trusted `wechatContext`).
    ///
    /// # Errors
    /// [`AuthFailure`]: the token is refused, cannot be checked in time, or a setting is wrong.
    pub(crate) async fn identify(
        &self,
        presented: &Presented,
        remaining: Duration,
    ) -> Result<Option<Identity>, AuthFailure> {
        if presented.credentials == Credentials::Conflict {
            return Err(AuthFailure::Invalid(TokenError::Mismatch));
        }
        let v = match &self.verifier {
            Ok(v) if v.config.mode == Mode::Off => return Ok(None),
            Ok(v) => v,
            Err(_) if presented.credentials == Credentials::None => return Ok(None),
            Err(m) => return Err(AuthFailure::Misconfigured(m.clone())),
        };
        let token = match &presented.credentials {
            Credentials::Token(t) => t.expose(),
            Credentials::Malformed(_) => return Err(AuthFailure::Invalid(TokenError::Malformed)),
            Credentials::None | Credentials::Conflict => return Ok(v.wechat_context(presented)),
        };
        let timeout = remaining.saturating_sub(DEADLINE_MARGIN).min(MAX_FETCH);
        let claims = v.check(token, timeout).await?;
        Ok(Some(identity_from(&claims, &v.config.env_id)))
    }
}

impl Verifier {
    async fn check(&self, token: &str, timeout: Duration) -> Result<Claims, AuthFailure> {
        let expect = Expect {
            env_id: &self.config.env_id,
            issuer: &self.config.issuer,
        };
        let kid = verify::header_kid(token).map_err(AuthFailure::Invalid)?;
        let by_introspect = async |why: Option<String>| {
            if let Some(why) = why {
                warn!("the key set is unavailable ({why}); asking introspect");
            }
            self.introspect
                .check(token, &expect, timeout)
                .await
                .map_err(|o| match o {
                    Outcome::Invalid(e) => AuthFailure::Invalid(e),
                    Outcome::Unavailable(m) => AuthFailure::Unavailable(m),
                })
        };
        if self.config.mode == Mode::Introspect {
            return by_introspect(None).await;
        }
        let Some(kid) = kid else {
            return Err(AuthFailure::Invalid(TokenError::UnknownKey));
        };
        if timeout.is_zero() {
            return Err(AuthFailure::Unavailable(
                "no time left in the invocation".into(),
            ));
        }
        match self.keys.lookup(&kid, timeout).await {
            Lookup::Key(key) => verify::verify(token, &key, &expect).map_err(AuthFailure::Invalid),
            Lookup::Unknown => Err(AuthFailure::Invalid(TokenError::UnknownKey)),
            Lookup::Unavailable(why) => by_introspect(Some(why)).await,
        }
    }

    /// The `wechatContext` identity, only when the deployment opted in.
    fn wechat_context(&self, presented: &Presented) -> Option<Identity> {
        if !self.config.trust_wechat_context {
            return None;
        }
        let w = presented.wechat.as_ref()?;
        let openid = w.openid.clone()?;
        Some(Identity {
            openid: Some(openid),
            appid: w.appid.clone(),
            unionid: w.unionid.clone(),
            source_channel: IdentitySource::WechatContext,
            ..Identity::default()
        })
    }
}

/// Everything the verifier does with hostile bytes before any network call, for the fuzz
/// target `access_token`: read `Authorization` and `X-Cloudbase-Context` from an HTTP event,
/// check the token's shape, header and (unverified) claims. Panics when a `Debug` form shows the
/// token; returns the outcome's name.
#[cfg(feature = "fuzzing")]
pub fn fuzz_offline(authorization: Option<&str>, context: Option<&str>) -> &'static str {
    let mut headers = serde_json::Map::new();
    if let Some(a) = authorization {
        headers.insert("authorization".into(), a.into());
    }
    if let Some(c) = context {
        headers.insert(credentials::CONTEXT_HEADER.into(), c.into());
    }
    let event = crate::event::Event::classify(
        serde_json::json!({"httpMethod": "GET", "path": "/", "headers": headers}),
    )
    .0;
    let presented = Presented::from_event(&event);
    let shown = format!("{presented:?}");
    let Credentials::Token(token) = &presented.credentials else {
        return match presented.credentials {
            Credentials::None => "none",
            Credentials::Conflict => "conflict",
            _ => "malformed",
        };
    };
    let token = token.expose();
    assert!(token.len() <= MAX_TOKEN_BYTES);
    assert!(!shown.contains(token), "Debug shows the token");
    let expect = Expect {
        env_id: "env-fuzz",
        issuer: "https://env-fuzz.api.tcloudbasegateway.com",
    };
    match verify::header_kid(token).and_then(|_| verify::check_unsigned(token, &expect)) {
        Ok(claims) => {
            assert!(!claims.sub.is_empty());
            "claims-ok"
        }
        Err(e) => {
            assert!(!e.to_string().contains(token));
            e.reason()
        }
    }
}

/// The identity a verified token names: `uid` = `sub`; `openid` / `unionid` only from the
/// token's own `meta.wxOpenId` / `meta.wxUnionId`; `env` = the env id the token was checked for.
fn identity_from(claims: &Claims, env_id: &str) -> Identity {
    Identity {
        uid: Some(claims.sub.clone()),
        openid: claims.meta_str("wxOpenId"),
        unionid: claims.meta_str("wxUnionId"),
        env: Some(env_id.to_owned()),
        is_anonymous: claims.is_anonymous(),
        source_channel: IdentitySource::AccessToken,
        ..Identity::default()
    }
}
