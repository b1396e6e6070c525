//! Event mode: the SCF Custom Runtime loop.
//!
//! `ready` once, then forever: `/next` → an [`Event`] and a [`Context`] → the invocation pipeline
//! (`pipeline.rs`) → `/response` or `/error`. The transport and its retries are
//! `runtime_api.rs`; this file is the loop and what it promises:
//! - a handler panic, a missing `request_id` / `time_limit_in_ms` header, an event that is not
//!   JSON, or a result over 6 MB is reported as that invocation's error; the loop goes on;
//! - transient runtime-API failures (connection errors, 5xx, 429) are retried with bounded
//!   exponential backoff; if they persist the process logs one clear line and exits non-zero;
//! - a rejected `/response` or `/error` (4xx) is logged and the loop goes on;
//! - SIGTERM lets the current invocation finish, then the process exits 0; a SIGTERM before
//!   ready (while the runtime API is being retried) exits 0 at once.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use tracing::{Instrument as _, error, info, info_span, warn};

use crate::auth::Authenticator;
use crate::channels::NextDelivery;
use crate::context::{Context, InstanceInfo, InvocationHeaders};
use crate::error::{Diagnostic, FnError};
use crate::event::{Decoded, Event};
use crate::identity::{Identity, context_from_headers};
use crate::pipeline::{self, Answer, Failure};
use crate::response::{IntegratedResponse, IntoReply};
use crate::runtime_api::{self, ApiError, RetryPolicy, RuntimeApi};
use crate::secret::Secret;

/// Event mode with the environment's runtime API address and the default [`RetryPolicy`].
pub(crate) async fn run_from_env<F, T>(handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    match runtime_api::base_from_env() {
        Ok(base) => run_with(base, RetryPolicy::default(), handler).await,
        Err(msg) => {
            error!("cannot start: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Event mode against the runtime API at `base` (`http://host:port`), with `retry` for its
/// transient failures, until SIGTERM. Returns the process exit code: 0 after SIGTERM, 1 when the
/// runtime API stays unreachable.
pub async fn run_with<F, T>(base: String, retry: RetryPolicy, handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    crate::panic::install_hook();
    let api = RuntimeApi::new(base, retry);
    let instance = Arc::new(InstanceInfo::from_env());
    let auth = Authenticator::from_env();
    let mut sigterm = crate::signal::sigterm();

    // SIGTERM while ready is still being retried: nothing was dispatched yet, so exit at once.
    let ready = tokio::select! {
        biased;
        Some(()) = crate::signal::recv(&mut sigterm) => {
            info!("SIGTERM received before ready; exiting");
            return ExitCode::SUCCESS;
        }
        ready = api.ready() => ready,
    };
    if let Err(e) = ready {
        error!(
            "runtime API unreachable at {}: POST /runtime/init/ready failed after {} attempts: {e}",
            api.base, api.retry.attempts
        );
        return ExitCode::FAILURE;
    }
    info!(
        function = instance.function_name.as_deref().unwrap_or("-"),
        "runtime ready"
    );
    loop {
        let next = tokio::select! {
            biased;
            Some(()) = crate::signal::recv(&mut sigterm) => {
                info!("SIGTERM received; exiting");
                return ExitCode::SUCCESS;
            }
            next = api.next() => next,
        };
        let next = match next {
            Ok(n) => n,
            Err(e) => {
                error!(
                    "runtime API unreachable at {}: GET /runtime/invocation/next failed: {e}; exiting",
                    api.base
                );
                return ExitCode::FAILURE;
            }
        };
        if let Err(code) = serve_one(&api, &handler, (&instance, &auth), next).await {
            return code;
        }
    }
}

/// One invocation: run it in its span, post its result, log the end.
async fn serve_one<F, T>(
    api: &RuntimeApi,
    handler: &F,
    process: (&Arc<InstanceInfo>, &Arc<Authenticator>),
    next: runtime_api::Answer,
) -> Result<(), ExitCode>
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    let received = Instant::now();
    let request_id = next
        .headers
        .get("request_id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span = info_span!("invocation", request_id = %request_id);
    let (path, body) = invoke(handler, process, next, received)
        .instrument(span.clone())
        .await;
    let posted = api.post(path, body).await;
    let _enter = span.enter();
    match posted {
        Ok(()) => info!(
            elapsed_ms = received.elapsed().as_millis() as u64,
            "invocation done"
        ),
        Err(ApiError::Rejected(status, msg)) => {
            warn!(status, "runtime API rejected the result: {msg}");
        }
        Err(e) => {
            error!(
                "runtime API unreachable at {}: posting the result failed: {e}; exiting",
                api.base
            );
            return Err(ExitCode::FAILURE);
        }
    }
    Ok(())
}

/// The invocation: `/next`'s headers and event → context → pipeline. Returns where to post what:
/// `/runtime/invocation/response` and the answer, or `/runtime/invocation/error` and a
/// [`Diagnostic`].
async fn invoke<F, T>(
    handler: &F,
    (instance, auth): (&Arc<InstanceInfo>, &Arc<Authenticator>),
    next: runtime_api::Answer,
    received: Instant,
) -> (&'static str, Vec<u8>)
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    // Header values are read as UTF-8, not only visible ASCII: a context header may carry
    // non-ASCII values, and one such byte must not silently drop the caller's identity.
    let header = |name: &str| {
        next.headers
            .get(name)
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    };
    let headers = match InvocationHeaders::parse(header) {
        Ok(h) => h,
        Err(diag) => {
            error!(error_code = %diag.error_code, "{}", diag.error_message);
            return error(&diag);
        }
    };
    let failed = |f: Failure| {
        error(&Diagnostic {
            error_code: f.code().into(),
            error_message: f.to_string(),
            request_id: headers.request_id.clone(),
        })
    };
    let decoded = match Event::decode(&next.body) {
        Ok(d) => d,
        Err(e) => {
            let f = Failure::EventNotJson {
                len: next.body.len(),
                line: e.line(),
                column: e.column(),
            };
            error!("{f}");
            return failed(f);
        }
    };
    for name in ["environ", "environment"] {
        if next.headers.contains_key(name) && header(name).is_none() {
            warn!("ignoring the {name} header: it is not UTF-8 (no context identity)");
        }
    }
    let identity = identity(&headers, &decoded);
    let mut ctx = Context::new(
        headers.request_id.clone(),
        headers.memory_limit_in_mb,
        headers.time_limit,
        received,
        instance.clone(),
        identity,
    );
    // What /next delivered, kept as it came (moved, not copied): the names of its channels are
    // worked out only for a handler that asks (`ChannelNames::of`: the probe function).
    ctx.extensions
        .insert(NextDelivery::new(next.headers, next.body.clone()));
    let posted = match pipeline::invoke(handler, decoded.event, ctx, auth).await {
        Ok(Answer::Call(body)) => Ok(body),
        // An HTTP answer is posted as an integrated response.
        Ok(Answer::Http(r)) => serde_json::to_vec(&IntegratedResponse::from_http(r))
            .map_err(|e| Failure::SerializeFailed(e.to_string())),
        Err(f) => Err(f),
    };
    // SCF's limit, once, on what is posted (an integrated response's envelope counts too).
    match posted.and_then(|body| pipeline::within_limit(body.len()).map(|()| body)) {
        Ok(body) => ("/runtime/invocation/response", body),
        Err(f) => failed(f),
    }
}

fn error(diag: &Diagnostic) -> (&'static str, Vec<u8>) {
    let body = serde_json::to_vec(diag).unwrap_or_default();
    ("/runtime/invocation/error", body)
}

/// The caller, from the platform's channels of an event-mode invocation: the context header on
/// `/next` and the callFunction event's `userInfo`. Every refused channel is logged, by name.
fn identity(headers: &InvocationHeaders, decoded: &Decoded) -> Identity {
    if decoded.duplicate_user_info {
        warn!("the event repeats the top-level userInfo key; no userInfo is trusted");
    }
    let context = match context_from_headers(
        headers.environ.as_ref().map(Secret::expose),
        headers.environment.as_ref().map(Secret::expose),
    ) {
        Ok(Some(h)) => {
            for key in &h.repeated {
                warn!(
                    key,
                    "the context header repeats an identity key; neither copy is trusted"
                );
            }
            Some(h)
        }
        Ok(None) => None,
        Err(e) => {
            warn!("ignoring the context header: {e}");
            None
        }
    };
    Identity::from_channels(
        context.as_ref().map(|h| &h.vars),
        decoded.user_info.as_ref(),
    )
}
