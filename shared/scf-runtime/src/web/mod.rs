//! Web mode: the same handlers as CloudBase HTTP cloud functions (web functions).
//!
//! A web function's `scf_bootstrap` starts an HTTP server on `0.0.0.0:9000` (`docs/platform.md`
//! "HTTP functions"; `tcb fn deploy --httpFn`). Started with `--web`, a function binary serves
//! `0.0.0.0:${PORT:-9000}` with hyper (HTTP/1.1) and hands each request to the handler as it came:
//! - hyper's request, its body read whole, is the [`HttpEvent`]'s `http::Request<Bytes>` (every
//!   header copy, the body's bytes as sent, binary ones included; no JSON shape in between);
//! - `X-Scf-Request-Id` is the request id (else `web-<pid>-<n>`), `X-Scf-Timeout` the time
//!   limit in **milliseconds** (else [`DEFAULT_TIME_LIMIT`]), `X-Scf-Memory` the memory in MB.
//!   SCF documents that clients cannot set headers beginning with `X-Scf-` (SCF doc 583/56129),
//!   but we do not rely on it: when a header comes more than once, the **last** copy is used,
//!   because a proxy that adds its own header appends it after whatever the client sent. A
//!   request id is used only when it is a short token of safe characters (`headers::is_safe_request_id`);
//!   anything else is replaced by a generated id (and a WARN names the header, never the value),
//!   so a client cannot write fields into a log line;
//! - a body over 6 MB gets `413 PAYLOAD_TOO_LARGE` without being read further;
//! - the handler's answer is written as the `http::Response` the pipeline built (no integrated
//!   response in between); a handler panic becomes `500 INTERNAL`, a body over 6 MB
//!   `500 RESULT_TOO_LARGE`.
//!
//! No identity: nothing in a web function's request is vouched for by the platform (the identity
//! headers of WeChat CloudRun are not documented for CloudBase HTTP functions, and a client can
//! send any `x-wx-*` header), so [`Context::identity`] is always empty.
//!
//! Requests are served concurrently on the current thread (one future per connection, no
//! `Send` needed), so handler state such as getLoginTicket's code cache is shared safely.
//! SIGTERM stops accepting, lets requests in flight finish (at most [`DRAIN_LIMIT`]), and exits 0.
//!
//! **Hostile and careless clients.** Every resource a client can hold is bounded:
//! - time: a complete request head within [`HEAD_TIMEOUT`]; the body within the request's time
//!   limit, else `408` ([`body`]); a keep-alive connection idle for [`DEFAULT_IDLE_TIMEOUT`]
//!   (`WEB_IDLE_TIMEOUT_SECS`) is closed ([`conn`] explains why these are our timers, not hyper's);
//! - descriptors: the soft `RLIMIT_NOFILE` is raised to the hard limit, connections are capped
//!   below it (`WEB_MAX_CONNECTIONS`), and at the cap the connection that has waited longest for a
//!   request head is shed to let a new client in ([`limits`]);
//! - memory: a head is at most [`MAX_HEAD_BYTES`]; bodies share a byte budget, past which they get
//!   `503` ([`body`]).

pub mod body;
pub mod conn;
mod headers;
pub mod limits;

use headers::{header, is_safe_request_id};

use std::collections::HashMap;
use std::convert::Infallible;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use tracing::{Instrument as _, debug, error, info, info_span, warn};

use crate::auth::Authenticator;
use crate::context::{Context, InstanceInfo};
use crate::error::FnError;
use crate::event::Event;
use crate::http_event::HttpEvent;
use crate::identity::Identity;
use crate::pipeline::{self, Failure};
use crate::response::{IntoReply, error_response};

use body::Budget;
use conn::{End, Slot, Timeouts, Tracked, Watched};
use limits::AcceptErrors;

/// The port when `PORT` is not set: what CloudBase HTTP functions expect.
pub const DEFAULT_PORT: u16 = 9000;
/// The time limit when a request has no `X-Scf-Timeout`: SCF's default function timeout.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3);
/// The longest time limit taken from `X-Scf-Timeout`: SCF's largest function timeout (900 s,
/// `docs/platform.md` "HTTP functions"). Without a platform in front, a client could otherwise ask for years.
pub const MAX_TIME_LIMIT: Duration = Duration::from_secs(900);
/// How long SIGTERM waits for requests in flight.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// How long a client has to send a complete request head: from the connection's accept, or, on
/// a keep-alive connection, from the first byte of the next head. A few seconds: the client is
/// normally the platform's gateway on the same network, which sends a head in one packet. Go's
/// `net/http` calls this `ReadHeaderTimeout`.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a keep-alive connection may stay idle between requests, unless
/// `WEB_IDLE_TIMEOUT_SECS` says otherwise. Long, because a gateway that pools connections to us
/// and reuses one just as we close it fails that request (nginx keeps upstream connections 60 s,
/// so 75 s, nginx's own client default, outlives it). Idle connections cost no more than a
/// descriptor and a few KB, and they are shed first-come at the cap.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// The environment variable that sets the idle timeout, in whole seconds.
pub const IDLE_TIMEOUT_VAR: &str = "WEB_IDLE_TIMEOUT_SECS";
/// The largest request head (request line and headers), bytes; larger gets hyper's `431`. Also
/// hyper's read buffer size, so it bounds what each connection holds. Node's default is the same
/// 16 KiB; a gateway's head is a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How often, at the cap with every connection busy, the accept loop looks again for a
/// connection to shed (connections that finish wake it earlier).
const AT_CAP_RECHECK: Duration = Duration::from_millis(50);
/// At most one INFO line per this period about connections closed for being slow or shed.
const CLOSED_LOG_EVERY: Duration = Duration::from_secs(10);

/// The command-line switch that selects web mode.
pub const WEB_FLAG: &str = "--web";

/// Web mode's limits, read once at start.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The most connections held at once ([`limits::connection_cap`]).
    pub max_connections: usize,
    /// See [`HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`body::BODY_BUDGET_BYTES`].
    pub body_budget: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: limits::MAX_DEFAULT_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_budget: body::BODY_BUDGET_BYTES,
        }
    }
}

impl Settings {
    /// The settings from `WEB_MAX_CONNECTIONS` and `WEB_IDLE_TIMEOUT_SECS` (looked up through
    /// `lookup`) and the descriptor limit `nofile`. Returns them with any warnings to log.
    ///
    /// # Errors
    /// A message naming the variable when one is set but is not a whole number from 1 up.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        nofile: Option<u64>,
    ) -> Result<(Settings, Option<String>), String> {
        let (max_connections, warning) =
            limits::connection_cap(lookup(limits::MAX_CONNECTIONS_VAR).as_deref(), nofile)?;
        let idle_timeout = match lookup(IDLE_TIMEOUT_VAR)
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => DEFAULT_IDLE_TIMEOUT,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!("{IDLE_TIMEOUT_VAR}={v:?} is not a whole number of seconds from 1 up")
                })?,
        };
        Ok((
            Settings {
                max_connections,
                idle_timeout,
                ..Settings::default()
            },
            warning,
        ))
    }
}

/// Serve `handler` on `0.0.0.0:${PORT:-9000}` until SIGTERM. Returns the process exit code:
/// 0 after SIGTERM, 1 when the port cannot be bound, or `PORT`, `WEB_MAX_CONNECTIONS` or
/// `WEB_IDLE_TIMEOUT_SECS` is not a valid number.
pub async fn serve_from_env<F, T>(handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    let port = match std::env::var("PORT") {
        Err(_) => DEFAULT_PORT,
        Ok(p) if p.trim().is_empty() => DEFAULT_PORT,
        Ok(p) => match p.trim().parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                error!("cannot start: PORT={p:?} is not a port number");
                return ExitCode::FAILURE;
            }
        },
    };
    let nofile = limits::raise_nofile_limit();
    let settings = match Settings::from_lookup(|k| std::env::var(k).ok(), nofile) {
        Ok((settings, warning)) => {
            if let Some(w) = warning {
                warn!("{w}");
            }
            settings
        }
        Err(e) => {
            error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    info!(
        descriptors = nofile.unwrap_or_default(),
        max_connections = settings.max_connections,
        idle_timeout_s = settings.idle_timeout.as_secs(),
        "web mode limits"
    );
    let listener = match tokio::net::TcpListener::bind(("0.0.0.0", port)).await {
        Ok(l) => l,
        Err(e) => {
            error!("cannot start: cannot listen on 0.0.0.0:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut sigterm = crate::signal::sigterm();
    let shutdown = async move {
        crate::signal::recv(&mut sigterm).await;
    };
    serve(listener, handler, shutdown, settings).await
}

/// The waiting connection (see [`Slot::waiting_since`]) that has waited longest.
fn oldest_waiting(slots: &HashMap<u64, Rc<Slot>>) -> Option<&Rc<Slot>> {
    // A linear scan, only when at the cap: at most a few thousand slots, microseconds.
    slots
        .values()
        .filter_map(|s| s.waiting_since().map(|t| (t, s)))
        .min_by_key(|(t, _)| *t)
        .map(|(_, s)| s)
}

/// Counts of connections the server closed, logged together once in a while: under a slowloris
/// a line per connection would be thousands of lines.
#[derive(Debug, Default)]
struct Closed {
    head: u64,
    idle: u64,
    shed: u64,
    last_log: Option<Instant>,
}

impl Closed {
    fn record(&mut self, end: &End, now: Instant) {
        match end {
            End::Done(Ok(())) => {}
            // A client that goes away mid-request, a malformed or over-large head (hyper has
            // answered 400 or 431): not our problem, and one line each would flood the log.
            End::Done(Err(e)) => debug!("connection ended: {e}"),
            End::HeadTimeout => self.head += 1,
            End::IdleTimeout => self.idle += 1,
            End::Shed => self.shed += 1,
        }
        let due = self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= CLOSED_LOG_EVERY);
        if due && self.head + self.shed > 0 {
            self.log(now);
        }
    }

    fn log(&mut self, now: Instant) {
        info!(
            head_timeout = self.head,
            idle_timeout = self.idle,
            shed = self.shed,
            "closed connections that sent no complete request head in time, or were shed at the connection cap (counts since the last such line)"
        );
        *self = Closed {
            last_log: Some(now),
            ..Closed::default()
        };
    }
}

/// Serve `handler` on `listener` with `settings` until `shutdown` completes, then drain and
/// return 0.
pub async fn serve<F, T>(
    listener: tokio::net::TcpListener,
    handler: F,
    shutdown: impl Future<Output = ()>,
    settings: Settings,
) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    let instance = Arc::new(InstanceInfo::from_env());
    let counter = AtomicU64::new(0);
    let budget = Budget::new(settings.body_budget);
    let web = Web {
        handler: &handler,
        instance,
        auth: Authenticator::from_env(),
        counter: &counter,
        budget: &budget,
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info!(
        %addr,
        function = web.instance.function_name.as_deref().unwrap_or("-"),
        "web mode: serving HTTP"
    );
    let timeouts = Timeouts {
        head: settings.head_timeout,
        idle: settings.idle_timeout,
    };
    let mut builder = http1::Builder::new();
    builder.max_buf_size(MAX_HEAD_BYTES);
    let mut slots: HashMap<u64, Rc<Slot>> = HashMap::new();
    let mut next_id = 0u64;
    let mut connections = FuturesUnordered::new();
    let mut accept_errors = AcceptErrors::default();
    let mut closed = Closed::default();
    // Accepting is paused until then: after an accept error, or at the cap with nothing to shed.
    let mut paused_until: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if paused_until.is_none()
            && slots.len() >= settings.max_connections
            && oldest_waiting(&slots).is_none()
        {
            paused_until = Some(tokio::time::Instant::now() + AT_CAP_RECHECK);
        }
        let resume = paused_until.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some((id, end)) = connections.next(), if !connections.is_empty() => {
                slots.remove(&id);
                closed.record(&end, Instant::now());
            }
            () = tokio::time::sleep_until(resume), if paused_until.is_some() => paused_until = None,
            accepted = listener.accept(), if paused_until.is_none() => match accepted {
                Ok((stream, _peer)) => {
                    accept_errors.succeeded();
                    // At the cap: make room by shedding whoever has waited longest for a head.
                    if slots.len() >= settings.max_connections
                        && let Some(oldest) = oldest_waiting(&slots)
                    {
                        oldest.shed();
                    }
                    next_id += 1;
                    let id = next_id;
                    let slot = Slot::new(tokio::time::Instant::now());
                    let for_service = slot.clone();
                    let web = &web;
                    let service = service_fn(move |req| web.answer(req, for_service.clone()));
                    let conn = builder.serve_connection(
                        TokioIo::new(Watched::new(stream, slot.clone())),
                        service,
                    );
                    slots.insert(id, slot.clone());
                    connections.push(async move { (id, conn::supervise(conn, slot, timeouts).await) });
                }
                Err(e) => {
                    let now = tokio::time::Instant::now();
                    let pause = accept_errors.failed(&e, now.into_std());
                    // Out of descriptors (WEB_MAX_CONNECTIONS set too high, or descriptors used
                    // elsewhere): free one by shedding and accept again at once; the shed
                    // connection is closed first (biased select). Each retry sheds one more
                    // waiting connection, so this cannot spin. With nothing to shed, back off.
                    match oldest_waiting(&slots) {
                        Some(oldest) if limits::is_exhaustion(&e) => oldest.shed(),
                        _ => paused_until = Some(now + pause),
                    }
                }
            },
        }
    }
    drop(listener);
    info!(
        in_flight = slots.len(),
        "SIGTERM received; finishing requests in flight, then exiting"
    );
    // Each connection is told and woken: an idle one closes at once, a busy one after its
    // response.
    for slot in slots.values() {
        slot.drain();
    }
    let drain = async { while connections.next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_LIMIT, drain).await.is_err() {
        warn!("requests still in flight after {DRAIN_LIMIT:?}; exiting anyway");
    }
    closed.log(Instant::now());
    ExitCode::SUCCESS
}

/// What every request needs.
struct Web<'a, F> {
    handler: &'a F,
    instance: Arc<InstanceInfo>,
    auth: Arc<Authenticator>,
    counter: &'a AtomicU64,
    budget: &'a Budget,
}

impl<F> Web<'_, F> {
    async fn answer<T>(
        &self,
        req: Request<hyper::body::Incoming>,
        slot: Rc<Slot>,
    ) -> Result<Response<Tracked>, Infallible>
    where
        F: AsyncFn(Event, Context) -> Result<T, FnError>,
        T: IntoReply,
    {
        slot.busy();
        let received = Instant::now();
        let sent_id = req.headers().get_all("x-scf-request-id").iter().next_back();
        let safe_id = sent_id
            .and_then(|v| v.to_str().ok())
            .filter(|id| is_safe_request_id(id));
        let request_id = safe_id.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "web-{}-{}",
                std::process::id(),
                self.counter.fetch_add(1, Ordering::Relaxed) + 1
            )
        });
        let refused_id = sent_id.is_some() && safe_id.is_none();
        let span = info_span!("invocation", request_id = %request_id);
        async move {
            if refused_id {
                warn!(
                    "X-Scf-Request-Id is not a short token of safe characters; using a generated request id"
                );
            }
            let time_limit = header(req.headers(), "x-scf-timeout")
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_TIME_LIMIT)
                .min(MAX_TIME_LIMIT);
            let memory_limit_in_mb =
                header(req.headers(), "x-scf-memory").and_then(|v| v.parse::<u32>().ok());
            let body_deadline =
                body::body_deadline(tokio::time::Instant::from_std(received), time_limit);
            // Body errors leave the rest of the body unread: the connection must close.
            let mut close = false;
            let response = match body::read_event(req, &request_id, body_deadline, self.budget)
                .await
            {
                // `_charge` keeps the body's bytes counted until the handler has answered.
                Ok((event, _charge)) => {
                    let ctx = Context::new(
                        request_id.clone(),
                        memory_limit_in_mb,
                        time_limit,
                        received,
                        self.instance.clone(),
                        Identity::default(),
                    );
                    self.call(event, ctx).await
                }
                Err(e) => {
                    warn!(error = %e.error, status = e.status, "request refused");
                    close = true;
                    error_response(&e)
                }
            };
            info!(
                status = response.status().as_u16(),
                elapsed_ms = received.elapsed().as_millis() as u64,
                "invocation done"
            );
            let mut http = response;
            if close {
                http.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            Ok(http.map(|b| Tracked::new(Full::new(b), slot)))
        }
        .instrument(span)
        .await
    }

    /// The invocation pipeline (`pipeline.rs`), its failures answered as `500`s; the body held
    /// to SCF's 6 MB, as a deployed HTTP function's would be.
    async fn call<T>(&self, event: HttpEvent, ctx: Context) -> Response<Bytes>
    where
        F: AsyncFn(Event, Context) -> Result<T, FnError>,
        T: IntoReply,
    {
        let answered = pipeline::invoke_http(self.handler, event, ctx, &self.auth)
            .await
            .and_then(|r| pipeline::within_limit(r.body().len()).map(|()| r));
        match answered {
            Ok(r) => r,
            Err(f) => {
                // The panic message stays in the log: a client learns only that it failed.
                let err = match f {
                    Failure::ResultTooLarge(_) => {
                        FnError::new(crate::ErrorCode::RESULT_TOO_LARGE, 500, f.to_string())
                    }
                    Failure::HandlerPanic(_) => FnError::internal("the handler panicked"),
                    Failure::SerializeFailed(_) | Failure::EventNotJson { .. } => {
                        FnError::internal("the result could not be serialised")
                    }
                };
                error_response(&err)
            }
        }
    }
}
