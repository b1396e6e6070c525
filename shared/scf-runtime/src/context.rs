//! Invocation context: the `/next` headers, the instance facts from the process environment, the
//! caller identity the platform's channels carry, and an extensions slot for extractors.
//!
//! Sources (`docs/platform.md` "Runtime API" and "Environment"): the SCF Custom Runtime doc for
//! the headers `request_id`, `memory_limit_in_mb`, `time_limit_in_ms` (read case-insensitively;
//! the English doc spells them `Request_Id` etc.), and SCF's built-in environment variables.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Something a handler can ask of its [`Context`], computed only when asked (axum's
/// `FromRequestParts`, for SCF). Implemented by [`crate::Caller`] and [`crate::User`]; a
/// function's own extractor (a tenant from the caller, a role) implements it the same way.
/// Declared here, beside [`Context`], as axum declares `FromRequestParts` beside its request
/// parts.
pub trait FromContext: Sized {
    /// Work it out from `ctx`.
    ///
    /// # Errors
    /// The extractor's rejection, as a [`FnError`] with its HTTP status.
    fn from_context(ctx: &Context) -> impl Future<Output = Result<Self, FnError>>;
}

/// Everything a handler knows about its invocation besides the event: plain data, as
/// lambda_runtime's `Context` is.
///
/// What takes work to find out (the caller behind an access token) is not here: it is an
/// extractor the handler names ([`crate::Caller`], [`crate::User`]), computed only then, from
/// what the runtime left in [`Context::extensions`].
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
    /// header). Over HTTP this is empty; extract a [`crate::Caller`], which also checks an
    /// access token.
    pub identity: Identity,
    /// Typed values for extractors, as `http::Request::extensions`: the runtime puts the token
    /// verifier's state here for [`crate::Caller`], and in event mode what `/next` delivered, as
    /// it came, for [`crate::ChannelNames::of`] (the probe).
    /// A handler's own layers may add their own.
    pub extensions: http::Extensions,
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
            extensions: http::Extensions::new(),
        }
    }

    /// `T::from_context(self)`: `let user: User = ctx.extract().await?;`.
    ///
    /// # Errors
    /// `T`'s rejection.
    pub async fn extract<T: FromContext>(&self) -> Result<T, FnError> {
        T::from_context(self).await
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

    /// The `getWXContext()`-shaped view of `id` (e.g. a [`crate::Caller`]'s); `ENV`
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

    /// A context for unit tests of handlers: the given identity, a 3 s time limit, no
    /// extensions (so [`crate::Caller`] knows `identity` only; no token is checked).
    pub fn for_test(identity: Identity) -> Self {
        Context::new(
            "test-request".into(),
            Some(128),
            Duration::from_secs(3),
            Instant::now(),
            Arc::new(InstanceInfo::default()),
            identity,
        )
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
}
