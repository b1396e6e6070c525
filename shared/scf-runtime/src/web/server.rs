//! The server: the accept loop with its connection cap and shedding, the SIGTERM drain, and
//! the counts of connections closed for being slow. Each request is answered by `request.rs`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tracing::{debug, error, info, warn};

use super::body::Budget;
use super::conn::{self, End, Slot, Timeouts, Watched};
use super::limits::{self, AcceptErrors};
use super::request::Web;
use super::settings::Settings;
use crate::auth::Authenticator;
use crate::context::{Context, InstanceInfo};
use crate::error::FnError;
use crate::event::Event;
use crate::response::IntoReply;

/// The port when `PORT` is not set: what CloudBase HTTP functions expect.
pub const DEFAULT_PORT: u16 = 9000;
/// How long SIGTERM waits for requests in flight.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// The largest request head (request line and headers), bytes; larger gets hyper's `431`. Also
/// hyper's read buffer size, so it bounds what each connection holds. Node's default is the same
/// 16 KiB; a gateway's head is a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How often, at the cap with every connection busy, the accept loop looks again for a
/// connection to shed (connections that finish wake it earlier).
const AT_CAP_RECHECK: Duration = Duration::from_millis(50);
/// At most one INFO line per this period about connections closed for being slow or shed.
const CLOSED_LOG_EVERY: Duration = Duration::from_secs(10);

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
