//! The verifier of CloudBase access tokens (the `access-token` feature): the settings, the key
//! sets, introspect and the customUserId lookup, built once per process. `mod.rs` says how a
//! token is checked, file by file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::config::{AuthConfig, Mode};
use super::credentials::{Credentials, Presented};
use super::failure::AuthFailure;
use super::introspect::{Introspector, Outcome};

use super::jwks::{KeySet, Lookup};
use super::url;
use super::user_me::{LookupError, UserDirectory};
use super::verify::{self, Claims, Expect, TokenError};
use crate::config::Misconfig;
use crate::identity::{Identity, IdentitySource, TokenCheck};

/// Time kept back from the invocation's deadline for answering, in a fetch's timeout.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);
/// The longest a key-set or introspect fetch may take, whatever the time left.
const MAX_FETCH: Duration = Duration::from_secs(5);
/// The most issuer hosts whose key sets are kept (the default set has three hosts; a region-less
/// default accepts any region, so this bounds how many hosts forged tokens can make us ask).
const MAX_ISSUER_KEY_SETS: usize = 4;

/// The process-wide verifier: settings, the key-set cache, the introspect cache. Built once per
/// process, shared by every invocation.
pub(crate) struct Authenticator {
    /// A bad setting is kept, not fatal: callers with a token get `MISCONFIGURED`.
    verifier: Result<Verifier, Misconfig>,
}

/// The settings with the caches they point at.
struct Verifier {
    config: AuthConfig,
    /// `TCB_JWKS_URL`'s key set, asked first.
    keys: KeySet,
    /// The key sets of accepted issuer hosts (`{iss}/auth/v1/certs`), by URL, made on first need.
    issuer_keys: Mutex<HashMap<String, Arc<KeySet>>>,
    introspect: Introspector,
    users: UserDirectory,
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
            issuer_keys: Mutex::default(),
            introspect: Introspector::new(config.introspect_url.clone()),
            users: UserDirectory::default(),
            config,
        });
        Authenticator { verifier }
    }

    /// Tokens ignored (`TCB_TOKEN_VERIFY=off`), for the runtime's unit tests.
    #[cfg(test)]
    pub(crate) fn off() -> Arc<Self> {
        Arc::new(Self::from_lookup(|k| {
            (k == "TCB_TOKEN_VERIFY").then(|| "off".to_owned())
        }))
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
        let deadline = Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN).min(MAX_FETCH);
        let (claims, check) = v.check(token, deadline).await?;
        Ok(Some(identity_from(&claims, &v.config.env_id, check)))
    }

    /// The customUserId of the caller whose token `presented` carries (already verified in this
    /// invocation: [`Authenticator::identify`] said so), from `/auth/v1/user/me`, with `remaining`
    /// time left. `Ok(None)`: the user has no custom provider, or no token is presented.
    ///
    /// # Errors
    /// [`AuthFailure::Unavailable`] when CloudBase cannot be asked or answers oddly;
    /// [`AuthFailure::Invalid`] `rejected` when it refuses the token (401/403: a token inside our
    /// clock leeway but expired by CloudBase's, or revoked).
    pub(crate) async fn custom_user_id(
        &self,
        presented: &Presented,
        remaining: Duration,
    ) -> Result<Option<String>, AuthFailure> {
        let (Ok(v), Credentials::Token(token)) = (&self.verifier, &presented.credentials) else {
            return Ok(None);
        };
        let token = token.expose();
        let raw = verify::unverified_claims(token).map_err(AuthFailure::Invalid)?;
        let expect = v.expect();
        let claims =
            verify::check_claims(raw, &expect, verify::now_secs()).map_err(AuthFailure::Invalid)?;
        let url = v.user_me_url(&claims.iss);
        let timeout = remaining.saturating_sub(DEADLINE_MARGIN).min(MAX_FETCH);
        v.users
            .custom_user_id(&url, token, &claims.sub, claims.exp, timeout)
            .await
            .map_err(|e| match e {
                LookupError::Refused => AuthFailure::Invalid(TokenError::Rejected),
                LookupError::Unavailable(why) => AuthFailure::Unavailable(why),
            })
    }

    /// `TCB_CUSTOM_USER_ID_IS_OPENID` (`true` unless the settings say otherwise or are broken).
    pub(crate) fn custom_user_id_is_openid(&self) -> bool {
        self.verifier
            .as_ref()
            .is_ok_and(|v| v.config.custom_user_id_is_openid)
    }
}

impl Verifier {
    fn expect(&self) -> Expect<'_> {
        Expect {
            env_id: &self.config.env_id,
            issuers: &self.config.issuers,
        }
    }

    /// The claims of `token` and how its signature was vouched for, by `deadline`. The order of
    /// checks is `verify.rs`'s: header, signature (key set, else introspect), then the claims.
    async fn check(
        &self,
        token: &str,
        deadline: Instant,
    ) -> Result<(Claims, TokenCheck), AuthFailure> {
        let expect = self.expect();
        let kid = verify::header_kid(token).map_err(AuthFailure::Invalid)?;
        let raw = verify::unverified_claims(token).map_err(AuthFailure::Invalid)?;
        let left = || deadline.saturating_duration_since(Instant::now());
        let by_introspect = async |why: Option<String>| {
            if let Some(why) = why {
                warn!("no key set is available ({why}); asking introspect");
            }
            self.introspect
                .check(token, &expect, left())
                .await
                .map(|c| (c, TokenCheck::Introspect))
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
        if left().is_zero() {
            return Err(AuthFailure::Unavailable(
                "no time left in the invocation".into(),
            ));
        }
        let verified = |key: &jsonwebtoken::DecodingKey, check| {
            verify::verify(token, key, &expect)
                .map(|c| (c, check))
                .map_err(AuthFailure::Invalid)
        };
        let mut unavailable = match self.keys.lookup(&kid, left()).await {
            Lookup::Key(key) => return verified(&key, TokenCheck::KeySet),
            Lookup::Unknown => None,
            Lookup::Unavailable(why) => Some(why),
        };
        if let Some(set) = self.issuer_key_set(&raw) {
            match set.lookup(&kid, left()).await {
                Lookup::Key(key) => return verified(&key, TokenCheck::IssuerKeySet),
                Lookup::Unknown => {}
                Lookup::Unavailable(why) => {
                    unavailable.get_or_insert(why);
                }
            }
        }
        match unavailable {
            Some(why) => by_introspect(Some(why)).await,
            None => Err(AuthFailure::Invalid(TokenError::UnknownKey)),
        }
    }

    /// The key set at the token's own issuer host, `{iss}/auth/v1/certs`: only for an `iss` in
    /// the accepted set (so no token makes us fetch from a host outside it), only with
    /// `TCB_ISSUER_HOSTS`, not when it is `TCB_JWKS_URL` itself, and for at most
    /// [`MAX_ISSUER_KEY_SETS`] hosts.
    fn issuer_key_set(&self, raw: &serde_json::Value) -> Option<Arc<KeySet>> {
        let iss = raw.get("iss")?.as_str()?;
        if !self.config.issuer_hosts || !self.config.issuers.accepts(iss) {
            return None;
        }
        let url = format!("{iss}/auth/v1/certs");
        if url == self.config.jwks_url || !url::is_allowed_url(&url) {
            return None;
        }
        let mut sets = self.issuer_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = sets.get(&url) {
            return Some(set.clone());
        }
        if sets.len() >= MAX_ISSUER_KEY_SETS {
            return None;
        }
        let set = Arc::new(KeySet::new(url.clone()));
        sets.insert(url, set.clone());
        Some(set)
    }

    /// Where a token of issuer `iss` (already accepted) asks `/auth/v1/user/me`:
    /// `TCB_USER_ME_URL`, else the issuer's host with `TCB_ISSUER_HOSTS`, else the gateway.
    fn user_me_url(&self, iss: &str) -> String {
        if let Some(url) = &self.config.user_me_url {
            return url.clone();
        }
        let at_issuer = format!("{iss}/auth/v1/user/me");
        if self.config.issuer_hosts && url::is_allowed_url(&at_issuer) {
            at_issuer
        } else {
            self.config.gateway_user_me_url.clone()
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
        headers.insert(super::credentials::CONTEXT_HEADER.into(), c.into());
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
    assert!(token.len() <= super::credentials::MAX_TOKEN_BYTES);
    assert!(!shown.contains(token), "Debug shows the token");
    let issuers = super::issuer::Issuers::default_for("env-fuzz", None);
    let expect = Expect {
        env_id: "env-fuzz",
        issuers: &issuers,
    };
    let checked = verify::header_kid(token)
        .and_then(|_| verify::unverified_claims(token))
        .and_then(|raw| verify::check_claims(raw, &expect, verify::now_secs()));
    match checked {
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
/// token's own non-empty `meta.wxOpenId` / `meta.wxUnionId`, and never for an anonymous caller;
/// `env` = the env id the token was checked for; `is_anonymous` always said.
fn identity_from(claims: &Claims, env_id: &str, check: TokenCheck) -> Identity {
    let anonymous = claims.is_anonymous();
    let wx = |key: &str| {
        if anonymous {
            None
        } else {
            claims.meta_str(key)
        }
    };
    Identity {
        uid: Some(claims.sub.clone()),
        openid: wx("wxOpenId"),
        unionid: wx("wxUnionId"),
        env: Some(env_id.to_owned()),
        is_anonymous: Some(anonymous),
        source_channel: IdentitySource::AccessToken,
        token_check: Some(check),
        ..Identity::default()
    }
}
