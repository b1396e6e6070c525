//! Invocation context: the `/next` headers, the instance facts from the process environment, and
//! the caller identity.
//!
//! Sources (`docs/platform.md` "Runtime API" and "Environment"): the SCF Custom Runtime doc for
//! the headers `request_id`, `memory_limit_in_mb`, `time_limit_in_ms` (read case-insensitively;
//! the English doc spells them `Request_Id` etc.), and SCF's built-in environment variables.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::{Authenticator, Offered};
use crate::channels::ChannelNames;
use crate::error::{Diagnostic, FnError};
use crate::identity::{Identity, WxContext};
use crate::secret::Secret;

/// Facts about this function instance, read once from the process environment at start.
/// Every field is optional: SCF does not always set them (`docs/platform.md` "Environment").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceInfo {
    /// `SCF_FUNCTIONNAME`.
    pub function_name: Option<String>,
    /// `SCF_FUNCTIONVERSION`, e.g. `$LATEST`.
    pub function_version: Option<String>,
    /// `SCF_NAMESPACE`; in CloudBase this is the env id.
    pub namespace: Option<String>,
    /// `TENCENTCLOUD_REGION`, e.g. `ap-shanghai`.
    pub region: Option<String>,
    /// `TENCENTCLOUD_APPID`: the owner's Tencent Cloud appid (not the mini program AppID).
    pub owner_appid: Option<String>,
    /// `TCB_ENV` from the process environment.
    pub tcb_env: Option<String>,
}

impl InstanceInfo {
    /// Read from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read through `lookup` (for tests). Empty values count as absent.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        InstanceInfo {
            function_name: get("SCF_FUNCTIONNAME"),
            function_version: get("SCF_FUNCTIONVERSION"),
            namespace: get("SCF_NAMESPACE"),
            region: get("TENCENTCLOUD_REGION"),
            owner_appid: get("TENCENTCLOUD_APPID"),
            tcb_env: get("TCB_ENV"),
        }
    }

    /// The CloudBase env id of this instance: `TCB_ENV`, else `SCF_NAMESPACE` (node-sdk
    /// `SYMBOL_CURRENT_ENV`).
    pub fn env_id(&self) -> Option<&str> {
        self.tcb_env.as_deref().or(self.namespace.as_deref())
    }
}

/// The per-invocation headers of `/runtime/invocation/next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationHeaders {
    /// `request_id` (required).
    pub request_id: String,
    /// `memory_limit_in_mb` (optional; `None` when absent or not a number).
    pub memory_limit_in_mb: Option<u32>,
    /// `time_limit_in_ms` (required): the exec timeout, a duration in **milliseconds**, not a deadline.
    pub time_limit: Duration,
    /// `environ` header (`KEY=VALUE;...`), if the platform sent one. It can carry tokens
    /// (`WX_API_TOKEN`, `TENCENTCLOUD_SECRETKEY`), hence a [`Secret`].
    pub environ: Option<Secret>,
    /// `environment` header (JSON object string), if the platform sent one; a [`Secret`] too.
    pub environment: Option<Secret>,
}

impl InvocationHeaders {
    /// Read the headers. `get` looks a header up case-insensitively.
    ///
    /// # Errors
    /// A [`Diagnostic`] `MISSING_HEADER` when `request_id` or `time_limit_in_ms` is absent, or
    /// `BAD_HEADER` when `time_limit_in_ms` is not a positive integer. The request id is kept in the
    /// diagnostic when it was present.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, Diagnostic> {
        let request_id = get("request_id").map(str::trim).filter(|v| !v.is_empty());
        let diag = |code: &'static str, msg: String| Diagnostic {
            error_code: code.into(),
            error_message: msg,
            request_id: request_id.unwrap_or_default().to_owned(),
        };
        let Some(request_id) = request_id else {
            return Err(diag(
                "MISSING_HEADER",
                "the /next answer has no request_id header".into(),
            ));
        };
        let time_limit = match get("time_limit_in_ms").map(str::trim) {
            None => {
                return Err(diag(
                    "MISSING_HEADER",
                    "the /next answer has no time_limit_in_ms header".into(),
                ));
            }
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(diag(
                        "BAD_HEADER",
                        "time_limit_in_ms is not a positive integer".into(),
                    ));
                }
            },
        };
        Ok(InvocationHeaders {
            request_id: request_id.to_owned(),
            memory_limit_in_mb: get("memory_limit_in_mb").and_then(|v| v.trim().parse().ok()),
            time_limit,
            environ: get("environ").map(Secret::new),
            environment: get("environment").map(Secret::new),
        })
    }
}

/// Everything a handler knows about its invocation besides the event.
#[derive(Debug, Clone)]
pub struct Context {
    /// SCF request id (`request_id` header).
    pub request_id: String,
    /// `memory_limit_in_mb` header.
    pub memory_limit_in_mb: Option<u32>,
    /// Exec timeout (`time_limit_in_ms` header).
    pub time_limit: Duration,
    /// When this invocation must be answered: when the runtime received the event plus
    /// `time_limit`. SCF's own clock started a little earlier (at dispatch), so keep a margin.
    pub deadline: Instant,
    /// Instance facts from the process environment.
    pub instance: Arc<InstanceInfo>,
    /// The caller, from the platform's own channels only (`userInfo`, the `/next` context
    /// header). Over HTTP this is empty; ask [`Context::caller`], which also checks an access
    /// token.
    pub identity: Identity,
    /// The headers that may prove the caller (a token; never logged), decoded only when asked.
    offered: Offered,
    /// The process-wide token verifier.
    auth: Arc<Authenticator>,
    /// [`Context::caller`]'s answer, once worked out: a second call in the same invocation
    /// neither verifies nor logs again.
    resolved: Arc<tokio::sync::OnceCell<Result<Identity, FnError>>>,
    /// What the platform's channels carried, names only (event mode); see [`Context::channels`].
    channels: Option<ChannelNames>,
}

impl Context {
    /// The context of an invocation received at `received` (an [`Instant`]) with a time limit of
    /// `time_limit`: the deadline is `received + time_limit`. Both modes build it here.
    pub fn new(
        request_id: String,
        memory_limit_in_mb: Option<u32>,
        time_limit: Duration,
        received: Instant,
        instance: Arc<InstanceInfo>,
        identity: Identity,
    ) -> Self {
        Context {
            request_id,
            memory_limit_in_mb,
            time_limit,
            deadline: received + time_limit,
            instance,
            identity,
            offered: Offered::default(),
            auth: Authenticator::off(),
            resolved: Arc::default(),
            channels: None,
        }
    }

    /// Attach the names the platform's channels carried (event mode sets them for every
    /// invocation; a handler's unit test may too).
    pub fn with_channels(mut self, channels: ChannelNames) -> Self {
        self.channels = Some(channels);
        self
    }

    /// The names (never the values) of the `/next` headers, the context header's keys and the
    /// `userInfo` keys of this invocation ([`ChannelNames`]). `None` in web mode, which has no
    /// `/next`, and in [`Context::for_test`] unless set with [`Context::with_channels`].
    pub fn channels(&self) -> Option<&ChannelNames> {
        self.channels.as_ref()
    }

    /// Attach the headers the event offers and the verifier that checks them (both modes, in
    /// the pipeline).
    pub(crate) fn with_auth(mut self, auth: Arc<Authenticator>, offered: Offered) -> Self {
        self.auth = auth;
        self.offered = offered;
        self
    }

    /// Whether `Authorization` or `X-Cloudbase-Context` came (valid or not); for the start log.
    pub(crate) fn has_token_headers(&self) -> bool {
        !self.offered.is_empty()
    }

    /// A signed-in user: [`Context::caller`], refusing an anonymous caller (a publishable key,
    /// an anonymous sign-in, `TCB_ISANONYMOUS_USER=true`).
    ///
    /// # Errors
    /// Those of [`Context::caller`], and `401 ANONYMOUS` for an anonymous caller.
    pub async fn user(&self) -> Result<Identity, FnError> {
        let id = self.caller().await?;
        if id.is_anonymous == Some(true) {
            tracing::info!("anonymous caller refused: this handler needs a signed-in user");
            return Err(FnError::anonymous());
        }
        Ok(id)
    }

    /// `id` (from [`Context::caller`] or [`Context::user`]) with its customUserId, and the openid
    /// from it, for a user whose verified access token carries no openid: a custom-ticket user's
    /// token has an empty `meta.wxOpenId`, but getLoginTicket mints every ticket with
    /// customUserId = openid. Asks CloudBase's `GET /auth/v1/user/me` with the caller's own token
    /// (`auth/user_me.rs`: cached per token until its `exp`, one call per token at a time, within
    /// the deadline). `openid` is set from the customUserId only with
    /// `TCB_CUSTOM_USER_ID_IS_OPENID` (default `true`); the same rule applies, without a call, to
    /// a platform channel that names the customUserId (`TCB_CUSTOM_USER_ID` of a js-sdk caller).
    /// Any other `id` (an openid already there, an anonymous caller, a channel without a
    /// customUserId) is returned as it is.
    ///
    /// Ask for this only when the handler needs the openid: `uid` alone never needs the call.
    ///
    /// # Errors
    /// `503 AUTH_UNAVAILABLE` with `Retry-After` when `/auth/v1/user/me` cannot be asked or
    /// answers oddly; `401 INVALID_TOKEN` `rejected` when CloudBase refuses the token there
    /// (expired by its clock while inside our 60 s leeway, or revoked).
    pub async fn resolve_openid(&self, mut id: Identity) -> Result<Identity, FnError> {
        if id.openid.is_some() || id.is_anonymous == Some(true) {
            return Ok(id);
        }
        // A platform channel that already names the customUserId (`TCB_CUSTOM_USER_ID` of a
        // js-sdk caller's context): no call, the same rule.
        if id.custom_user_id.is_some() {
            if self.auth.custom_user_id_is_openid() {
                id.openid = id.custom_user_id.clone();
            }
            return Ok(id);
        }
        if id.source_channel != crate::identity::IdentitySource::AccessToken {
            return Ok(id);
        }
        let presented = self.offered.read();
        match self.auth.custom_user_id(&presented, self.remaining()).await {
            Ok(found) => {
                tracing::info!(found = found.is_some(), "customUserId looked up");
                if self.auth.custom_user_id_is_openid() {
                    id.openid = found.clone();
                }
                id.custom_user_id = found;
                Ok(id)
            }
            Err(failure) => {
                let e = failure.to_error();
                match &failure {
                    crate::auth::AuthFailure::Unavailable(why) => {
                        tracing::warn!(error = %e.error, "cannot look up the customUserId: {why}")
                    }
                    _ => tracing::warn!(error = %e.error, "CloudBase refused the token at user/me"),
                }
                Err(e)
            }
        }
    }

    /// The caller, proven. In order:
    /// 1. the platform's channels ([`Context::identity`]: `userInfo`, the `/next` context header);
    /// 2. over HTTP, a CloudBase access token from `Authorization: Bearer` or the `accessToken` of
    ///    `X-Cloudbase-Context`, verified against the env's key set (RS256, `kid`, `exp`/`nbf`/`iat`
    ///    in **seconds** with 60 s leeway, `aud` = env id, `iss`), or by CloudBase's introspect;
    /// 3. `wechatContext` of `X-Cloudbase-Context`, only with `TCB_TRUST_WECHAT_CONTEXT=true`.
    ///
    /// The first call may fetch the key set, within the invocation's deadline; its answer is
    /// kept for the rest of the invocation. An anonymous caller (a publishable key) is returned
    /// too, with `is_anonymous: Some(true)` and no openid: ask [`Context::user`] to refuse it.
    ///
    /// # Errors
    /// - `401 UNAUTHENTICATED`: no channel and no token;
    /// - `401 INVALID_TOKEN` with `reason` (`expired`, `bad_signature`, `wrong_env`,
    ///   `unknown_key`, `algorithm`, `malformed`, `not_yet_valid`, `wrong_issuer` (an `iss` that
    ///   is not one of this env's issuers: `TCB_TOKEN_ISSUER`),
    ///   `missing_claim`, `token_mismatch`, `rejected`): the token is refused;
    /// - `503 AUTH_UNAVAILABLE` with `Retry-After`: the token cannot be checked now;
    /// - `500 MISCONFIGURED`: a verification setting is wrong (names the variable).
    pub async fn caller(&self) -> Result<Identity, FnError> {
        if self.identity.is_verified() {
            return Ok(self.identity.clone());
        }
        self.resolved.get_or_init(|| self.resolve()).await.clone()
    }

    async fn resolve(&self) -> Result<Identity, FnError> {
        let presented = self.offered.read();
        if let Some(e) = &presented.context_error {
            tracing::warn!("ignoring the X-Cloudbase-Context header: {e}");
        }
        match self.auth.identify(&presented, self.remaining()).await {
            Ok(Some(id)) => {
                tracing::info!(channel = ?id.source_channel, openid = id.openid.is_some(), "caller verified");
                Ok(id)
            }
            Ok(None) => Err(FnError::unauthenticated()),
            Err(failure) => {
                let e = failure.to_error();
                match &failure {
                    crate::auth::AuthFailure::Unavailable(why) => {
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

    /// Time left before the deadline (zero when past it).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// CloudBase env id: the context's `TCB_ENV`, else the instance's `TCB_ENV` / `SCF_NAMESPACE`.
    pub fn env_id(&self) -> Option<&str> {
        self.identity
            .env
            .as_deref()
            .or_else(|| self.instance.env_id())
    }

    /// The wx-server-sdk `getWXContext()`-shaped view of the caller the platform's channels name
    /// ([`Context::identity`]).
    pub fn wx_context(&self) -> WxContext {
        self.wx_context_of(&self.identity)
    }

    /// The `getWXContext()`-shaped view of `id` (e.g. what [`Context::caller`] returned); `ENV`
    /// falls back to the instance's env id.
    pub fn wx_context_of(&self, id: &Identity) -> WxContext {
        WxContext {
            openid: id.openid.clone(),
            appid: id.appid.clone(),
            unionid: id.unionid.clone(),
            clientip: id.client_ip.clone(),
            clientipv6: id.client_ipv6.clone(),
            env: id
                .env
                .as_deref()
                .or_else(|| self.instance.env_id())
                .map(str::to_owned),
            source: id.source.clone(),
        }
    }

    /// A context for unit tests of handlers: the given identity, a 3 s time limit.
    pub fn for_test(identity: Identity) -> Self {
        Context {
            request_id: "test-request".into(),
            memory_limit_in_mb: Some(128),
            time_limit: Duration::from_secs(3),
            deadline: Instant::now() + Duration::from_secs(3),
            instance: Arc::new(InstanceInfo::default()),
            identity,
            offered: Offered::default(),
            auth: Authenticator::off(),
            resolved: Arc::default(),
            channels: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(h: &[(&str, &str)]) -> Result<InvocationHeaders, Diagnostic> {
        let map: HashMap<String, String> = h
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        InvocationHeaders::parse(|k| map.get(k).map(String::as_str))
    }

    #[test]
    fn headers_parse() {
        let h = parse(&[
            ("Request_Id", "r-1"),
            ("Memory_Limit_In_Mb", "128"),
            ("Time_Limit_In_Ms", "3000"),
        ])
        .unwrap();
        assert_eq!(h.request_id, "r-1");
        assert_eq!(h.memory_limit_in_mb, Some(128));
        assert_eq!(h.time_limit, Duration::from_millis(3000));
    }

    #[test]
    fn missing_or_bad_headers_are_diagnostics() {
        let e = parse(&[("time_limit_in_ms", "3000")]).unwrap_err();
        assert_eq!(e.error_code, "MISSING_HEADER");
        assert_eq!(e.request_id, "");
        let e = parse(&[("request_id", "r-2")]).unwrap_err();
        assert_eq!(
            (e.error_code.as_ref(), e.request_id.as_str()),
            ("MISSING_HEADER", "r-2")
        );
        let e = parse(&[("request_id", "r-3"), ("time_limit_in_ms", "-5")]).unwrap_err();
        assert_eq!(e.error_code, "BAD_HEADER");
        let h = parse(&[
            ("request_id", "r"),
            ("time_limit_in_ms", "1"),
            ("memory_limit_in_mb", "x"),
        ]);
        assert_eq!(h.unwrap().memory_limit_in_mb, None);
    }

    #[test]
    fn wx_context_view_falls_back_to_the_instance_env() {
        let mut ctx = Context::for_test(Identity {
            openid: Some("o1".into()),
            client_ip: Some("10.0.0.1".into()),
            ..Identity::default()
        });
        ctx.instance = Arc::new(InstanceInfo {
            namespace: Some("ns-1".into()),
            ..InstanceInfo::default()
        });
        let view = serde_json::to_value(ctx.wx_context()).unwrap();
        assert_eq!(
            view,
            serde_json::json!({"OPENID": "o1", "CLIENTIP": "10.0.0.1", "ENV": "ns-1"})
        );
        ctx.identity.env = Some("ctx-env".into());
        assert_eq!(ctx.wx_context().env.as_deref(), Some("ctx-env"));
    }

    #[test]
    fn env_id_prefers_tcb_env() {
        let i = InstanceInfo::from_lookup(|k| match k {
            "SCF_NAMESPACE" => Some("ns".into()),
            "TCB_ENV" => Some(String::new()),
            _ => None,
        });
        assert_eq!(i.env_id(), Some("ns"));
        let i = InstanceInfo::from_lookup(|k| Some(format!("{k}-v")));
        assert_eq!(i.env_id(), Some("TCB_ENV-v"));
    }

    /// The customUserId a platform channel names is the openid (no call); an openid already
    /// there, or an anonymous caller, is left alone.
    #[tokio::test(flavor = "current_thread")]
    async fn a_channels_custom_user_id_is_the_openid() {
        let ctx = Context::for_test(Identity::default());
        let id = Identity {
            uid: Some("u1".into()),
            custom_user_id: Some("oCustom".into()),
            source_channel: crate::identity::IdentitySource::ContextHeader,
            ..Identity::default()
        };
        let got = ctx.resolve_openid(id.clone()).await.unwrap();
        assert_eq!(got.openid.as_deref(), Some("oCustom"));
        let with_openid = Identity {
            openid: Some("oWx".into()),
            ..id.clone()
        };
        assert_eq!(
            ctx.resolve_openid(with_openid)
                .await
                .unwrap()
                .openid
                .as_deref(),
            Some("oWx")
        );
        let anonymous = Identity {
            is_anonymous: Some(true),
            ..id
        };
        assert_eq!(ctx.resolve_openid(anonymous).await.unwrap().openid, None);
    }

    /// One answer per invocation: a second `caller()` does not ask CloudBase again (introspect
    /// mode; refusals are not cached by the verifier, so only the context's memo saves the call).
    #[cfg(feature = "access-token")]
    #[tokio::test(flavor = "current_thread")]
    async fn caller_is_worked_out_once_per_invocation() {
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
        let ctx =
            Context::for_test(Identity::default()).with_auth(auth, Offered::from_event(&event));
        for _ in 0..3 {
            let e = ctx.caller().await.unwrap_err();
            assert_eq!(e.extra.get("reason"), Some(&serde_json::json!("rejected")));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
