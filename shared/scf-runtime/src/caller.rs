//! The caller as an extractor: worked out only when a handler names it.
//!
//! Why extractors and not `Context` methods: a [`Context`] is plain data (request id, deadline,
//! instance facts, the platform's identity, an extensions slot). Checking an access token is
//! work with outcomes (a key-set fetch, a refusal, an outage), so it is a type the handler asks
//! for, as axum's `FromRequestParts` extractors are: `Caller::from_context(&ctx)` or
//! `ctx.extract::<Caller>()`. A handler that names none of them never parses a token.
//!
//! The outcomes are types, not string codes to compare:
//! - [`Caller`]: whoever is proven to call, anonymous callers included (marked);
//! - [`Caller::optional`]: `None` when nothing names a caller at all, an error when something
//!   presented fails (a bad token is not "nobody");
//! - [`User`]: a signed-in user; an anonymous caller is `401 ANONYMOUS`.
//!
//! [`Caller::with_openid`] / [`User::with_openid`] add a custom-ticket user's openid, which its
//! token does not carry (`docs/identity.md`).
//!
//! Where the state lives: the pipeline puts a [`CallerState`] (the process's verifier, the
//! request's token headers, a memo) into [`Context::extensions`]. A context without one (a
//! handler's unit test, [`Context::for_test`]) knows the platform's identity only.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::auth::{AuthFailure, Authenticator, Offered};
use crate::context::{Context, FromContext};
use crate::error::FnError;
use crate::identity::{Identity, IdentitySource};

/// The caller, proven, anonymous callers included ([`Caller::is_anonymous`]). In order:
/// 1. the platform's channels ([`Context::identity`]: `userInfo`, the `/next` context header);
/// 2. over HTTP, a CloudBase access token from `Authorization: Bearer` or the `accessToken` of
///    `X-Cloudbase-Context`, verified against the env's key set (RS256, `kid`, `exp`/`nbf`/`iat`
///    in **seconds** with 60 s leeway, `aud` = env id, `iss` one of this env's issuers), or by
///    CloudBase's introspect (needs the `access-token` feature; without it a token names nobody);
/// 3. `wechatContext` of `X-Cloudbase-Context`, only with `TCB_TRUST_WECHAT_CONTEXT=true`.
///
/// The first extraction may fetch the key set, within the invocation's deadline; its answer is
/// kept for the rest of the invocation, so a second extraction neither verifies nor logs again.
///
/// # Errors (rejections)
/// - `401 UNAUTHENTICATED`: no channel and no token ([`Caller::optional`] makes this `None`);
/// - `401 INVALID_TOKEN` with `reason` (`expired`, `bad_signature`, `wrong_env`, `unknown_key`,
///   `algorithm`, `malformed`, `not_yet_valid`, `wrong_issuer`, `missing_claim`,
///   `token_mismatch`, `rejected`): the token is refused;
/// - `503 AUTH_UNAVAILABLE` with `Retry-After`: the token cannot be checked now;
/// - `500 MISCONFIGURED`: a verification setting is wrong (names the variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub Identity);

/// A signed-in user: a [`Caller`] that is not anonymous (not a publishable key, an anonymous
/// sign-in or `TCB_ISANONYMOUS_USER=true`).
///
/// # Errors (rejections)
/// Those of [`Caller`], and `401 ANONYMOUS` for an anonymous caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User(pub Identity);

impl Deref for Caller {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl Deref for User {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl FromContext for Caller {
    async fn from_context(ctx: &Context) -> Result<Self, FnError> {
        if ctx.identity.is_verified() {
            return Ok(Caller(ctx.identity.clone()));
        }
        let Some(state) = ctx.extensions.get::<CallerState>() else {
            return Err(FnError::unauthenticated());
        };
        let found = state.resolved.get_or_init(|| state.resolve(ctx)).await;
        found.clone().map(Caller)
    }
}

impl FromContext for User {
    async fn from_context(ctx: &Context) -> Result<Self, FnError> {
        let caller = Caller::from_context(ctx).await?;
        if caller.is_anonymous() {
            tracing::info!("anonymous caller refused: this handler needs a signed-in user");
            return Err(FnError::anonymous());
        }
        Ok(User(caller.0))
    }
}

impl Caller {
    /// The caller, or `None` when nothing names one (no platform channel, no token): for a
    /// handler that also answers callers nobody vouches for.
    ///
    /// # Errors
    /// The rejections of [`Caller`] other than `401 UNAUTHENTICATED`: a token that was presented
    /// and failed is an error, not "nobody".
    pub async fn optional(ctx: &Context) -> Result<Option<Caller>, FnError> {
        match Caller::from_context(ctx).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.error == crate::ErrorCode::UNAUTHENTICATED => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the caller is anonymous (`is_anonymous: Some(true)`); such a caller has no openid.
    pub fn is_anonymous(&self) -> bool {
        self.0.is_anonymous == Some(true)
    }

    /// The caller with its customUserId, and the openid from it (see [`User::with_openid`]).
    ///
    /// # Errors
    /// Those of [`User::with_openid`].
    pub async fn with_openid(self, ctx: &Context) -> Result<Caller, FnError> {
        resolve_openid(ctx, self.0).await.map(Caller)
    }
}

impl User {
    /// The user with its customUserId, and the openid from it, when its verified access token
    /// carries no openid: a custom-ticket user's token has an empty `meta.wxOpenId`, but
    /// getLoginTicket mints every ticket with customUserId = openid. Asks CloudBase's
    /// `GET /auth/v1/user/me` with the caller's own token (`auth/user_me.rs`: cached per token
    /// until its `exp`, one call per token at a time, within the deadline). `openid` is set from
    /// the customUserId only with `TCB_CUSTOM_USER_ID_IS_OPENID` (default `true`); the same rule
    /// applies, without a call, to a platform channel that names the customUserId
    /// (`TCB_CUSTOM_USER_ID` of a js-sdk caller). A user whose openid is already known, or one
    /// from a channel without a customUserId, is returned as it is.
    ///
    /// Ask for this only when the handler needs the openid: `uid` alone never needs the call.
    ///
    /// # Errors
    /// `503 AUTH_UNAVAILABLE` with `Retry-After` when `/auth/v1/user/me` cannot be asked or
    /// answers oddly; `401 INVALID_TOKEN` `rejected` when CloudBase refuses the token there
    /// (expired by its clock while inside our 60 s leeway, or revoked).
    pub async fn with_openid(self, ctx: &Context) -> Result<User, FnError> {
        resolve_openid(ctx, self.0).await.map(User)
    }
}

/// What the pipeline puts into [`Context::extensions`] for the extractors: the process's token
/// verifier, the token headers the request offered (never logged) and the memo of this
/// invocation's answer.
#[derive(Debug, Clone)]
pub(crate) struct CallerState {
    auth: Arc<Authenticator>,
    offered: Offered,
    resolved: Arc<OnceCell<Result<Identity, FnError>>>,
}

impl CallerState {
    pub(crate) fn new(auth: Arc<Authenticator>, offered: Offered) -> Self {
        CallerState {
            auth,
            offered,
            resolved: Arc::default(),
        }
    }

    async fn resolve(&self, ctx: &Context) -> Result<Identity, FnError> {
        let presented = self.offered.read();
        if let Some(e) = &presented.context_error {
            tracing::warn!("ignoring the X-Cloudbase-Context header: {e}");
        }
        match self.auth.identify(&presented, ctx.remaining()).await {
            Ok(Some(id)) => {
                tracing::info!(channel = ?id.source_channel, openid = id.openid.is_some(), "caller verified");
                Ok(id)
            }
            Ok(None) => Err(FnError::unauthenticated()),
            Err(failure) => {
                let e = failure.to_error();
                match &failure {
                    AuthFailure::Unavailable(why) => {
                        tracing::warn!(error = %e.error, "cannot check the access token: {why}")
                    }
                    _ => {
                        tracing::warn!(error = %e.error, reason = ?e.extra.get("reason"), "access token refused")
                    }
                }
                Err(e)
            }
        }
    }
}

async fn resolve_openid(ctx: &Context, mut id: Identity) -> Result<Identity, FnError> {
    if id.openid.is_some() || id.is_anonymous == Some(true) {
        return Ok(id);
    }
    let state = ctx.extensions.get::<CallerState>();
    // Without a verifier (a unit test's context) the default rule: the customUserId is the openid.
    let is_openid = state.is_none_or(|s| s.auth.custom_user_id_is_openid());
    // A platform channel that already names the customUserId (`TCB_CUSTOM_USER_ID` of a js-sdk
    // caller's context): no call, the same rule.
    if id.custom_user_id.is_some() {
        if is_openid {
            id.openid = id.custom_user_id.clone();
        }
        return Ok(id);
    }
    let Some(state) = state else { return Ok(id) };
    if id.source_channel != IdentitySource::AccessToken {
        return Ok(id);
    }
    let presented = state.offered.read();
    match state.auth.custom_user_id(&presented, ctx.remaining()).await {
        Ok(found) => {
            tracing::info!(found = found.is_some(), "customUserId looked up");
            if is_openid {
                id.openid = found.clone();
            }
            id.custom_user_id = found;
            Ok(id)
        }
        Err(failure) => {
            let e = failure.to_error();
            match &failure {
                AuthFailure::Unavailable(why) => {
                    tracing::warn!(error = %e.error, "cannot look up the customUserId: {why}")
                }
                _ => tracing::warn!(error = %e.error, "CloudBase refused the token at user/me"),
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with(auth: Arc<Authenticator>, event: &crate::event::Event) -> Context {
        let mut ctx = Context::for_test(Identity::default());
        ctx.extensions
            .insert(CallerState::new(auth, Offered::from_event(event)));
        ctx
    }

    /// The customUserId a platform channel names is the openid (no call); an openid already
    /// there, or an anonymous caller, is left alone.
    #[tokio::test(flavor = "current_thread")]
    async fn a_channels_custom_user_id_is_the_openid() {
        let ctx = Context::for_test(Identity::default());
        let id = Identity {
            uid: Some("u1".into()),
            custom_user_id: Some("oCustom".into()),
            source_channel: IdentitySource::ContextHeader,
            ..Identity::default()
        };
        let got = User(id.clone()).with_openid(&ctx).await.unwrap();
        assert_eq!(got.openid.as_deref(), Some("oCustom"));
        let with_openid = Identity {
            openid: Some("oWx".into()),
            ..id.clone()
        };
        let got = Caller(with_openid).with_openid(&ctx).await.unwrap();
        assert_eq!(got.openid.as_deref(), Some("oWx"));
        let anonymous = Identity {
            is_anonymous: Some(true),
            ..id
        };
        assert_eq!(
            Caller(anonymous).with_openid(&ctx).await.unwrap().openid,
            None
        );
    }

    /// The typed outcomes: nobody is `None` for `optional` and `401 UNAUTHENTICATED` otherwise;
    /// an anonymous channel caller is a `Caller` but not a `User`.
    #[tokio::test(flavor = "current_thread")]
    async fn outcomes_are_types() {
        let nobody = ctx_with(
            Authenticator::off(),
            &crate::event::Event::Call(serde_json::json!({})),
        );
        assert_eq!(Caller::optional(&nobody).await.unwrap(), None);
        let e = nobody.extract::<Caller>().await.unwrap_err();
        assert_eq!(
            (e.error, e.status),
            (crate::ErrorCode::UNAUTHENTICATED, 401)
        );
        let e = User::from_context(&Context::for_test(Identity::default()))
            .await
            .unwrap_err();
        assert_eq!(e.error, crate::ErrorCode::UNAUTHENTICATED);

        let anonymous = Context::for_test(Identity {
            uid: Some("anon".into()),
            is_anonymous: Some(true),
            source_channel: IdentitySource::ContextHeader,
            ..Identity::default()
        });
        let caller = Caller::optional(&anonymous).await.unwrap().unwrap();
        assert!(caller.is_anonymous());
        let e = anonymous.extract::<User>().await.unwrap_err();
        assert_eq!((e.error, e.status), (crate::ErrorCode::ANONYMOUS, 401));

        let user = Context::for_test(Identity {
            openid: Some("o1".into()),
            source_channel: IdentitySource::UserInfo,
            ..Identity::default()
        });
        let User(id) = user.extract().await.unwrap();
        assert_eq!(id.openid.as_deref(), Some("o1"));
    }

    /// One answer per invocation: a second extraction does not ask CloudBase again (introspect
    /// mode; refusals are not cached by the verifier, so only the memo saves the call). A
    /// presented token that fails is an error for `optional` too, not "nobody".
    #[cfg(feature = "access-token")]
    #[tokio::test(flavor = "current_thread")]
    async fn the_caller_is_worked_out_once_per_invocation() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    )
                    .await;
            }
        });
        let url = format!("http://127.0.0.1:{port}/auth/v1/token/introspect");
        let auth = Arc::new(Authenticator::from_lookup(|k| match k {
            "TCB_ENV" => Some("env-1".into()),
            "TCB_TOKEN_VERIFY" => Some("introspect".into()),
            "TCB_INTROSPECT_URL" => Some(url.clone()),
            _ => None,
        }));
        use base64::Engine;
        let b64 = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let token = format!(
            "{}.{}.c2ln",
            b64(serde_json::json!({"alg": "RS256", "kid": "k"})),
            b64(serde_json::json!({
                "iss": "https://env-1.api.tcloudbasegateway.com", "aud": "env-1", "sub": "u",
                "exp": jsonwebtoken::get_current_timestamp() + 600
            }))
        );
        let (event, _) = crate::event::Event::classify(serde_json::json!({
            "httpMethod": "GET", "path": "/", "headers": {"authorization": format!("Bearer {token}")}
        }));
        let ctx = ctx_with(auth, &event);
        for _ in 0..3 {
            let e = ctx.extract::<Caller>().await.unwrap_err();
            assert_eq!(e.extra.get("reason"), Some(&serde_json::json!("rejected")));
        }
        let e = Caller::optional(&ctx).await.unwrap_err();
        assert_eq!(e.error, crate::ErrorCode::INVALID_TOKEN);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
