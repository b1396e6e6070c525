//! Web mode: the same handlers as CloudBase HTTP cloud functions (web functions).
//!
//! A web function's `scf_bootstrap` starts an HTTP server on `0.0.0.0:9000` (`scf-runtime.md`
//! §4.3; `tcb fn deploy --httpFn`). Started with `--web`, a function binary serves
//! `0.0.0.0:${PORT:-9000}` with hyper (HTTP/1.1) and maps each request to the HTTP-event path the
//! handler already has:
//! - method, path, query, headers (names lower-cased) and body become an [`HttpEvent`]; a body
//!   that is not UTF-8 is passed base64-encoded (`isBase64Encoded`);
//! - `X-Scf-Request-Id` is the request id (else `web-<pid>-<n>`), `X-Scf-Timeout` the time
//!   limit in **milliseconds** (else [`DEFAULT_TIME_LIMIT`]), `X-Scf-Memory` the memory in MB.
//!   SCF documents that clients cannot set headers beginning with `X-Scf-` (SCF doc 583/56129),
//!   but we do not rely on it: when a header comes more than once, the **last** copy is used,
//!   because a proxy that adds its own header appends it after whatever the client sent. A
//!   request id is used only when it is a short token of safe characters ([`is_safe_request_id`]);
//!   anything else is replaced by a generated id (and a WARN names the header, never the value),
//!   so a client cannot write fields into a log line;
//! - a body over 6 MB gets `413 PAYLOAD_TOO_LARGE` without being read further;
//! - the handler's integrated response becomes the HTTP response; a handler panic becomes
//!   `500 INTERNAL`, a result over 6 MB `500 RESULT_TOO_LARGE`.
//!
//! No identity: nothing in a web function's request is vouched for by the platform (the identity
//! headers of WeChat CloudRun are not documented for CloudBase HTTP functions, and a client can
//! send any `x-wx-*` header), so [`Context::identity`] is always empty.
//!
//! Requests are served concurrently on the current thread (one task per connection, no
//! `Send` needed), so handler state such as getLoginTicket's code cache is shared safely.
//! SIGTERM stops accepting, lets requests in flight finish (at most [`DRAIN_LIMIT`]), and exits 0.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::json;
use tracing::{Instrument as _, error, info, info_span, warn};

use crate::context::{Context, InstanceInfo};
use crate::error::FnError;
use crate::event::{Event, HttpEvent, IntegratedResponse, MAX_PAYLOAD_BYTES};
use crate::identity::Identity;

/// The port when `PORT` is not set: what CloudBase HTTP functions expect.
pub const DEFAULT_PORT: u16 = 9000;
/// The time limit when a request has no `X-Scf-Timeout`: SCF's default function timeout.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3);
/// How long SIGTERM waits for requests in flight.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The command-line switch that selects web mode.
pub const WEB_FLAG: &str = "--web";

/// Serve `handler` on `0.0.0.0:${PORT:-9000}` until SIGTERM. Returns the process exit code:
/// 0 after SIGTERM, 1 when the port cannot be bound or `PORT` is not a port number.
pub async fn serve_from_env<F, T>(handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: Serialize,
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
    let listener = match tokio::net::TcpListener::bind(("0.0.0.0", port)).await {
        Ok(l) => l,
        Err(e) => {
            error!("cannot start: cannot listen on 0.0.0.0:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM ({e}); the process will stop only when killed");
                std::future::pending::<()>().await;
            }
        }
    };
    serve(listener, handler, shutdown).await
}

/// Serve `handler` on `listener` until `shutdown` completes, then drain and return 0.
pub async fn serve<F, T>(
    listener: tokio::net::TcpListener,
    handler: F,
    shutdown: impl Future<Output = ()>,
) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: Serialize,
{
    let instance = Arc::new(InstanceInfo::from_env());
    let counter = AtomicU64::new(0);
    let web = Web {
        handler: &handler,
        instance,
        counter: &counter,
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
    let mut connections = FuturesUnordered::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = connections.next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    info!("connection ended: {e}");
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let web = &web;
                    let service = service_fn(move |req| web.answer(req));
                    connections.push(
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                    );
                }
                Err(e) => {
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    info!(
        in_flight = connections.len(),
        "SIGTERM received; finishing requests in flight, then exiting"
    );
    // graceful_shutdown only marks a connection; FuturesUnordered polls a future again only when
    // it is woken, and an idle keep-alive connection is never woken. So re-queue each one: a
    // freshly pushed future is polled, sees the shutdown and closes (idle) or finishes (busy).
    let mut closing = FuturesUnordered::new();
    for mut conn in connections {
        std::pin::Pin::new(&mut conn).graceful_shutdown();
        closing.push(conn);
    }
    let drain = async { while closing.next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_LIMIT, drain).await.is_err() {
        warn!("requests still in flight after {DRAIN_LIMIT:?}; exiting anyway");
    }
    ExitCode::SUCCESS
}

/// What every request needs.
struct Web<'a, F> {
    handler: &'a F,
    instance: Arc<InstanceInfo>,
    counter: &'a AtomicU64,
}

/// The **last** copy of a header, as text, when it is valid visible ASCII. The last, not the
/// first: a proxy in front of us appends its own copy after any the client sent.
fn header<'h>(h: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    h.get_all(name)
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Longest request id taken from `X-Scf-Request-Id`, bytes. SCF's are 36-character UUIDs.
pub const MAX_REQUEST_ID_BYTES: usize = 64;

/// Whether `id` may be used as a request id in logs and answers: 1 to [`MAX_REQUEST_ID_BYTES`]
/// characters from `A-Z a-z 0-9 - _ . :`. No space, quote, `=` or control character, so the id
/// can never forge a field or a line in text or JSON logs.
pub fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl<F> Web<'_, F> {
    async fn answer<T>(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible>
    where
        F: AsyncFn(Event, Context) -> Result<T, FnError>,
        T: Serialize,
    {
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
                .unwrap_or(DEFAULT_TIME_LIMIT);
            let memory_limit_in_mb =
                header(req.headers(), "x-scf-memory").and_then(|v| v.parse::<u32>().ok());
            let response = match read_event(req, &request_id).await {
                Ok(event) => {
                    info!(
                        kind = "web",
                        method = %event.method,
                        time_limit_ms = time_limit.as_millis() as u64,
                        "invocation start"
                    );
                    let ctx = Context {
                        request_id: request_id.clone(),
                        memory_limit_in_mb,
                        time_limit,
                        deadline: received + time_limit,
                        instance: self.instance.clone(),
                        identity: Identity::default(),
                    };
                    self.call(event, ctx).await
                }
                Err(e) => {
                    warn!(error = %e.error, status = e.status, "request refused");
                    IntegratedResponse::from_error(&e)
                }
            };
            info!(
                status = response.status_code,
                elapsed_ms = received.elapsed().as_millis() as u64,
                "invocation done"
            );
            Ok(to_http(response))
        }
        .instrument(span)
        .await
    }

    async fn call<T>(&self, event: HttpEvent, ctx: Context) -> IntegratedResponse
    where
        F: AsyncFn(Event, Context) -> Result<T, FnError>,
        T: Serialize,
    {
        let answer = match crate::runtime::call_handler(self.handler, Event::Http(event), ctx).await
        {
            Ok(Ok(value)) => IntegratedResponse::json(200, &value)
                .map_err(|e| FnError::internal(format!("the result could not be serialised: {e}"))),
            Ok(Err(e)) => Err(e),
            Err(_panicked) => Err(FnError::internal("the handler panicked")),
        };
        match answer {
            Ok(r) if r.body.len() > MAX_PAYLOAD_BYTES => {
                error!(bytes = r.body.len(), "the result is over SCF's 6 MB limit");
                IntegratedResponse::from_error(&FnError::new(
                    "RESULT_TOO_LARGE",
                    500,
                    format!("the result is over SCF's limit of {MAX_PAYLOAD_BYTES} bytes"),
                ))
            }
            Ok(r) => r,
            Err(e) => IntegratedResponse::from_error(&e),
        }
    }
}

/// The request as an HTTP event, the body capped at 6 MB.
async fn read_event(req: Request<Incoming>, request_id: &str) -> Result<HttpEvent, FnError> {
    let too_large = || {
        FnError::new(
            "PAYLOAD_TOO_LARGE",
            413,
            format!("the body is over {MAX_PAYLOAD_BYTES} bytes"),
        )
    };
    let declared = header(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => {
            return Err(FnError::bad_request(format!(
                "the request body could not be read: {e}"
            )));
        }
    };
    let mut headers = std::collections::BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v: &mut String| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let query = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<std::collections::BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let (body, is_base64_encoded) = if bytes.is_empty() {
        (None, false)
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => (Some(text), false),
            Err(_) => (
                Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
                true,
            ),
        }
    };
    Ok(HttpEvent {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_owned(),
        headers,
        query,
        body,
        is_base64_encoded,
        request_context: json!({"requestId": request_id, "source": "web-function"}),
    })
}

/// An integrated response as an HTTP response.
fn to_http(r: IntegratedResponse) -> Response<Full<Bytes>> {
    let body = if r.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(r.body.as_bytes())
            .unwrap_or_else(|_| r.body.into_bytes())
    } else {
        r.body.into_bytes()
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        StatusCode::from_u16(r.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::try_from(k),
            hyper::header::HeaderValue::try_from(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}
