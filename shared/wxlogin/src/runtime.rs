//! The SCF Custom Runtime loop.
//!
//! Protocol (`scf-runtime.md` §1, SCF doc 583/47274): base URL
//! `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT`; POST `/runtime/init/ready` once (body `" "`,
//! no `Content-Type`, as Tencent's bash example), then loop: GET `/runtime/invocation/next` (long
//! poll, no client timeout, no `Content-Type`), run the handler, POST the result to
//! `/runtime/invocation/response` or a [`Diagnostic`] to `/runtime/invocation/error` (both
//! `Content-Type: application/json`). No request id in the path: one invocation at a time.
//!
//! Guarantees:
//! - a handler panic, a missing `request_id` / `time_limit_in_ms` header, an event that is not
//!   JSON, or a result over 6 MB is reported as that invocation's error; the loop goes on;
//! - transient runtime-API failures (connection errors, 5xx, 429) are retried with bounded
//!   exponential backoff; if they persist the process logs one clear line and exits non-zero;
//! - a rejected `/response` or `/error` (4xx) is logged and the loop goes on;
//! - SIGTERM lets the current invocation finish, then the process exits 0; a SIGTERM before
//!   ready (while the runtime API is being retried) exits 0 at once.

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use serde::Serialize;
use tracing::{Instrument as _, error, info, info_span, warn};

use crate::context::{Context, InstanceInfo, InvocationHeaders};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Method;
use hyper::http;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::{Diagnostic, FnError};
use crate::event::{Decoded, Event, IntegratedResponse, MAX_PAYLOAD_BYTES};
use crate::identity::{Identity, context_from_headers};
use crate::secret::Secret;

/// Bounded exponential backoff for runtime-API calls.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total, including the first.
    pub attempts: u32,
    /// Delay after the first failure; doubles each time.
    pub base_delay: Duration,
    /// Cap on one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 50 ms doubling to at most 1 s: about 3.5 s of waiting in total.
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        }
    }
}

/// Why a runtime-API call failed.
#[derive(Debug)]
enum ApiError {
    /// Worth retrying: connection error, timeout, 5xx, 429.
    Transient(String),
    /// The runtime API said no (4xx): do not retry.
    Rejected(u16, String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Transient(m) => write!(f, "{m}"),
            ApiError::Rejected(s, m) => write!(f, "rejected with HTTP {s}: {m}"),
        }
    }
}

/// A client for the SCF runtime API: plain HTTP/1.1 on loopback, so hyper's client without TLS.
struct RuntimeApi {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    retry: RetryPolicy,
}

struct Next {
    headers: http::HeaderMap,
    body: Bytes,
}

/// An error with its whole source chain.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

impl RuntimeApi {
    fn new(base: String, retry: RetryPolicy) -> Self {
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build_http();
        RuntimeApi { http, base, retry }
    }

    /// One request; a 2xx answer gives its headers and body. `content_type` is sent only when
    /// given: ready and `/next` go without one, as every public SCF client sends them.
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Next, ApiError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ApiError::Transient(chain(&e)))?;
        // No client timeout: /next long-polls until SCF has an event.
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| ApiError::Transient(chain(&e)))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| ApiError::Transient(format!("reading the answer: {}", chain(&e))))?
            .to_bytes();
        let status = parts.status;
        if status.is_success() {
            return Ok(Next {
                headers: parts.headers,
                body,
            });
        }
        let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        if status.is_server_error() || status.as_u16() == 429 {
            Err(ApiError::Transient(format!("HTTP {status}: {text}")))
        } else {
            Err(ApiError::Rejected(status.as_u16(), text))
        }
    }

    /// Run `op` with the retry policy; `what` names the call in logs.
    async fn with_retry<T, Fut>(
        &self,
        what: &str,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T, ApiError>
    where
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut delay = self.retry.base_delay;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(ApiError::Transient(msg)) if attempt < self.retry.attempts => {
                    warn!(
                        attempt,
                        max_attempts = self.retry.attempts,
                        "runtime API {what} failed, retrying in {delay:?}: {msg}"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn ready(&self) -> Result<(), ApiError> {
        // As Tencent's bash sample (`curl -d " " -X POST`) and tencent_scf's notify_ready send it:
        // one space, because a POST with no body was reported rejected. No Content-Type: curl's
        // form label describes nothing here, and no SCF client sends a JSON one.
        self.with_retry("ready", || {
            self.send(
                Method::POST,
                "/runtime/init/ready",
                None,
                Bytes::from_static(b" "),
            )
        })
        .await
        .map(drop)
    }

    async fn next(&self) -> Result<Next, ApiError> {
        self.with_retry("next", || {
            self.send(Method::GET, "/runtime/invocation/next", None, Bytes::new())
        })
        .await
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Result<(), ApiError> {
        let body = Bytes::from(body);
        self.with_retry(path, || {
            self.send(Method::POST, path, Some("application/json"), body.clone())
        })
        .await
        .map(drop)
    }
}

/// Where the runtime API is: `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT`.
///
/// # Errors
/// Names the missing variable.
pub fn runtime_api_from_env() -> Result<String, String> {
    let host = std::env::var("SCF_RUNTIME_API")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or("SCF_RUNTIME_API is not set: this binary is an SCF bootstrap (run it with scripts/invoke), or pass --web to serve HTTP on 0.0.0.0:${PORT:-9000}")?;
    let port = std::env::var("SCF_RUNTIME_API_PORT")
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or("SCF_RUNTIME_API_PORT is not set")?;
    Ok(format!("http://{host}:{port}"))
}

/// The outcome of one invocation, before it is posted.
enum Outcome {
    Response(Vec<u8>),
    Error(Diagnostic),
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        error!(%location, "handler panicked: {}", panic_message(info.payload()));
    }));
}

/// Run `handler` for every invocation until SIGTERM, using the environment's runtime API
/// address and the default [`RetryPolicy`]. Returns the process exit code.
///
/// Mode: with the command-line argument `--web` the process serves HTTP instead (web mode, for
/// CloudBase HTTP functions; see [`crate::web`]); otherwise it needs `SCF_RUNTIME_API` and
/// `SCF_RUNTIME_API_PORT` (event mode).
///
/// The handler is a plain `async fn(Event, Context) -> Result<T, FnError>`. Its `Ok` value is
/// the function result (for an HTTP event, wrapped in a `200` JSON integrated response); its
/// `Err` is a business error answered as a result object / integrated response with its status.
pub async fn run<F, T>(handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: Serialize,
{
    // Web mode is asked for explicitly (scf_bootstrap passes --web); otherwise the runtime API.
    if std::env::args().skip(1).any(|a| a == crate::web::WEB_FLAG) {
        return crate::web::serve_from_env(handler).await;
    }
    let base = match runtime_api_from_env() {
        Ok(b) => b,
        Err(msg) => {
            error!("cannot start: {msg}");
            return ExitCode::FAILURE;
        }
    };
    run_with(base, RetryPolicy::default(), handler).await
}

/// [`run`] with an explicit runtime API base URL and retry policy.
pub async fn run_with<F, T>(base: String, retry: RetryPolicy, handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: Serialize,
{
    install_panic_hook();
    let api = RuntimeApi::new(base.clone(), retry);
    let instance = Arc::new(InstanceInfo::from_env());
    let mut sigterm = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("cannot listen for SIGTERM ({e}); the process will stop only when killed");
            None
        }
    };

    // SIGTERM while ready is still being retried: nothing was dispatched yet, so exit at once.
    let ready = tokio::select! {
        biased;
        Some(()) = recv_sigterm(&mut sigterm) => {
            info!("SIGTERM received before ready; exiting");
            return ExitCode::SUCCESS;
        }
        ready = api.ready() => ready,
    };
    if let Err(e) = ready {
        error!(
            "runtime API unreachable at {base}: POST /runtime/init/ready failed after {} attempts: {e}",
            retry.attempts
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
            Some(()) = recv_sigterm(&mut sigterm) => {
                info!("SIGTERM received; exiting");
                return ExitCode::SUCCESS;
            }
            next = api.next() => next,
        };
        let next = match next {
            Ok(n) => n,
            Err(e) => {
                error!(
                    "runtime API unreachable at {base}: GET /runtime/invocation/next failed: {e}; exiting"
                );
                return ExitCode::FAILURE;
            }
        };
        let received = Instant::now();
        let request_id = next
            .headers
            .get("request_id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let span = info_span!("invocation", request_id = %request_id);
        let outcome = invoke_once(&handler, &instance, next, received)
            .instrument(span.clone())
            .await;
        let posted = match outcome {
            Outcome::Response(body) => api.post("/runtime/invocation/response", body).await,
            Outcome::Error(diag) => {
                let body = serde_json::to_vec(&diag).unwrap_or_default();
                api.post("/runtime/invocation/error", body).await
            }
        };
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
                    "runtime API unreachable at {base}: posting the result failed: {e}; exiting"
                );
                return ExitCode::FAILURE;
            }
        }
    }
}

/// The next SIGTERM; never, when SIGTERM could not be listened for.
async fn recv_sigterm(sigterm: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sigterm.as_mut() {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Run the handler once, catching a panic (`Err` with its message; the panic hook has logged it
/// with its location) and logging a business error. Event mode and web mode both call this.
pub(crate) async fn call_handler<F, T>(
    handler: &F,
    event: Event,
    ctx: Context,
) -> Result<Result<T, FnError>, String>
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
{
    let result = AssertUnwindSafe(async { handler(event, ctx).await })
        .catch_unwind()
        .await
        .map_err(|payload| format!("handler panicked: {}", panic_message(&*payload)))?;
    if let Err(e) = &result {
        warn!(error = %e.error, errcode = ?e.errcode, status = e.status, "handler returned an error");
    }
    Ok(result)
}

async fn invoke_once<F, T>(
    handler: &F,
    instance: &Arc<InstanceInfo>,
    next: Next,
    received: Instant,
) -> Outcome
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: Serialize,
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
            return Outcome::Error(diag);
        }
    };
    let diag = |code: &'static str, message: String| Diagnostic {
        error_code: code.into(),
        error_message: message,
        request_id: headers.request_id.clone(),
    };
    let decoded = match Event::decode(&next.body) {
        Ok(d) => d,
        Err(e) => {
            let msg = format!(
                "the event is not JSON ({} bytes; line {} column {})",
                next.body.len(),
                e.line(),
                e.column()
            );
            error!("{msg}");
            return Outcome::Error(diag("EVENT_NOT_JSON", msg));
        }
    };
    if decoded.duplicate_user_info {
        warn!("the event repeats the top-level userInfo key; no userInfo is trusted");
    }
    for name in ["environ", "environment"] {
        if next.headers.contains_key(name) && header(name).is_none() {
            warn!("ignoring the {name} header: it is not UTF-8 (no context identity)");
        }
    }
    let ctx_vars = match context_from_headers(
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
            Some(h.vars)
        }
        Ok(None) => None,
        Err(e) => {
            warn!("ignoring the context header: {e}");
            None
        }
    };
    let Decoded {
        event, user_info, ..
    } = decoded;
    let identity = Identity::from_channels(ctx_vars.as_ref(), user_info.as_ref());
    let is_http = event.is_http();
    info!(
        kind = if is_http { "http" } else { "call" },
        identity = ?identity.source_channel,
        time_limit_ms = headers.time_limit.as_millis() as u64,
        "invocation start"
    );
    let ctx = Context {
        request_id: headers.request_id.clone(),
        memory_limit_in_mb: headers.memory_limit_in_mb,
        time_limit: headers.time_limit,
        deadline: received + headers.time_limit,
        instance: instance.clone(),
        identity,
    };
    let result = match call_handler(handler, event, ctx).await {
        Ok(r) => r,
        Err(panicked) => return Outcome::Error(diag("HANDLER_PANIC", panicked)),
    };
    let body = match (is_http, &result) {
        (false, Ok(v)) => serde_json::to_vec(v),
        (false, Err(e)) => serde_json::to_vec(e),
        (true, Ok(v)) => IntegratedResponse::json(200, v).and_then(|r| serde_json::to_vec(&r)),
        (true, Err(e)) => serde_json::to_vec(&IntegratedResponse::from_error(e)),
    };
    match body {
        Ok(b) if b.len() > MAX_PAYLOAD_BYTES => {
            let msg = format!(
                "the result is {} bytes; SCF's limit is {MAX_PAYLOAD_BYTES}",
                b.len()
            );
            error!("{msg}");
            Outcome::Error(diag("RESULT_TOO_LARGE", msg))
        }
        Ok(b) => Outcome::Response(b),
        Err(e) => Outcome::Error(diag(
            "SERIALIZE_FAILED",
            format!("the result could not be serialised: {e}"),
        )),
    }
}
