//! The runtime-API server: SCF's side of the protocol a bootstrap speaks (docs/platform.md,
//! "Runtime API"), on `127.0.0.1` and a free port.
//!
//! Why it is its own file: the protocol rules (what is served, what is refused, what a second
//! result gets) and the fault injection that bends them are one concern, apart from how a process
//! is started and timed ([`super::runner`]). Its state is one `std::sync::Mutex` held for a few
//! field updates at a time and never across an `.await`, so a blocking lock is the simple choice;
//! a `Notify` wakes the `/next` requests that wait for an event.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, oneshot};

use super::config::{EmulatorConfig, RESULT_LIMIT, SEEN_BODY_LIMIT, SEEN_LIMIT};
use super::outcome::{Outcome, SeenRequest};

struct Invocation {
    request_id: String,
    event: Vec<u8>,
    headers: Vec<(String, String)>,
    reply: Option<oneshot::Sender<Outcome>>,
}

#[derive(Default)]
struct Inner {
    ready: bool,
    queue: VecDeque<Invocation>,
    current: Option<Invocation>,
    rejected: Vec<String>,
    next_id: u64,
    /// Fault injection: answer this many `/next` requests with HTTP 500 first.
    fail_next: u32,
    /// How many injected failures were served.
    failed_next: u32,
    /// Fault injection: answer this many results (`/response` or `/error`) with this status.
    reject_results: Option<(u32, StatusCode)>,
    /// How many results were rejected on purpose.
    rejected_results: u32,
    /// The last [`SEEN_LIMIT`] requests.
    seen: VecDeque<SeenRequest>,
}

/// Record a request in [`Inner::seen`], keeping the last [`SEEN_LIMIT`].
fn record(s: &Shared, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) {
    let text = |name: header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let seen = SeenRequest {
        method: method.into(),
        path: path.into(),
        content_type: text(header::CONTENT_TYPE),
        content_length: text(header::CONTENT_LENGTH),
        transfer_encoding: text(header::TRANSFER_ENCODING),
        body: body[..body.len().min(SEEN_BODY_LIMIT)].to_vec(),
    };
    let mut inner = s.inner.lock().unwrap();
    if inner.seen.len() == SEEN_LIMIT {
        inner.seen.pop_front();
    }
    inner.seen.push_back(seen);
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
    config: EmulatorConfig,
}

/// The runtime-API server. Dropping it stops the server.
pub struct Emulator {
    server: crate::LocalServer,
    shared: Arc<Shared>,
}

async fn ready(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/init/ready", &headers, &body);
    // An empty body is fine when the client said so (`Content-Length: 0`, or a chunked body that
    // happens to be empty): public Go, Python and Node SCF clients do that and work. Refused: a POST
    // that says nothing about its body at all, the one case reported as rejected by SCF.
    let framed = headers.contains_key(header::CONTENT_LENGTH)
        || headers.contains_key(header::TRANSFER_ENCODING);
    if body.is_empty() && !framed {
        s.inner
            .lock()
            .unwrap()
            .rejected
            .push("/runtime/init/ready with no body and no Content-Length".into());
        return (
            StatusCode::BAD_REQUEST,
            "ready needs a body or a Content-Length (send Content-Length: 0, or a body such as \" \")",
        )
            .into_response();
    }
    s.inner.lock().unwrap().ready = true;
    s.changed.notify_waiters();
    (StatusCode::OK, "ok").into_response()
}

async fn next(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "GET", "/runtime/invocation/next", &headers, &body);
    {
        let mut inner = s.inner.lock().unwrap();
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            inner.failed_next += 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected fault").into_response();
        }
    }
    loop {
        let notified = s.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut inner = s.inner.lock().unwrap();
            if inner.current.is_none()
                && let Some(inv) = inner.queue.pop_front()
            {
                inner.current = Some(inv);
            }
            if let Some(inv) = &inner.current {
                let mut resp = (StatusCode::OK, inv.event.clone()).into_response();
                let h = resp.headers_mut();
                let cfg = &s.config;
                // Values as bytes, not only visible ASCII: a platform header may carry UTF-8.
                let mut put = |k: &str, v: &str| {
                    if let (Ok(k), Ok(v)) = (
                        HeaderName::try_from(k.to_ascii_lowercase()),
                        HeaderValue::from_bytes(v.as_bytes()),
                    ) {
                        h.insert(k, v);
                    }
                };
                put("request_id", &inv.request_id);
                put("memory_limit_in_mb", &cfg.memory_limit_in_mb.to_string());
                put("time_limit_in_ms", &cfg.time_limit.as_millis().to_string());
                for (k, v) in &inv.headers {
                    put(k, v);
                }
                return resp;
            }
        }
        notified.await;
    }
}

fn finish(s: &Shared, body: Bytes, as_error: bool) -> Response {
    let mut inner = s.inner.lock().unwrap();
    if inner.current.is_some()
        && let Some((n, status)) = inner.reject_results.as_mut()
        && *n > 0
    {
        *n -= 1;
        let status = *status;
        inner.rejected_results += 1;
        if status.is_server_error() {
            // A transient fault: the invocation stays in flight, so a retried result lands.
            return (status, "injected fault").into_response();
        }
        // A refusal: the invocation ends as failed, like SCF refusing a result.
        let reply = inner.current.take().and_then(|mut inv| inv.reply.take());
        drop(inner);
        s.changed.notify_waiters();
        if let Some(reply) = reply {
            let msg = format!(
                r#"{{"errorCode":"RESULT_REJECTED","errorMessage":"the emulator rejected the result with HTTP {}"}}"#,
                status.as_u16()
            );
            let _ = reply.send(Outcome::Error(msg.into_bytes()));
        }
        return (status, "injected rejection").into_response();
    }
    let Some(mut inv) = inner.current.take() else {
        inner
            .rejected
            .push("a result with no invocation in flight (or a second result)".into());
        return (
            StatusCode::BAD_REQUEST,
            "no invocation in flight; a result is final",
        )
            .into_response();
    };
    let reply = inv.reply.take();
    drop(inner);
    s.changed.notify_waiters();
    let (status, outcome) = if body.len() > RESULT_LIMIT {
        let msg = format!(
            r#"{{"errorCode":"RESULT_TOO_LARGE","errorMessage":"the emulator refused a {}-byte result (limit {RESULT_LIMIT})"}}"#,
            body.len()
        );
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::Error(msg.into_bytes()),
        )
    } else if as_error {
        (StatusCode::OK, Outcome::Error(body.to_vec()))
    } else {
        (StatusCode::OK, Outcome::Response(body.to_vec()))
    };
    if let Some(reply) = reply {
        let _ = reply.send(outcome);
    }
    (status, "ok").into_response()
}

async fn response(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/invocation/response", &headers, &body);
    finish(&s, body, false)
}

async fn error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/invocation/error", &headers, &body);
    finish(&s, body, true)
}

impl Emulator {
    /// Start on `127.0.0.1`, a free port.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            inner: Mutex::default(),
            changed: Notify::new(),
            config,
        });
        let app = axum::Router::new()
            .route("/runtime/init/ready", post(ready))
            .route("/runtime/invocation/next", get(next))
            .route("/runtime/invocation/response", post(response))
            .route("/runtime/invocation/error", post(error))
            .layer(DefaultBodyLimit::max(4 * RESULT_LIMIT))
            .with_state(shared.clone());
        let server = crate::LocalServer::start(app).await?;
        Ok(Emulator { server, shared })
    }

    /// The port, for `SCF_RUNTIME_API_PORT`.
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// Has the bootstrap called `/runtime/init/ready`?
    pub fn is_ready(&self) -> bool {
        self.shared.inner.lock().unwrap().ready
    }

    /// The last [`SEEN_LIMIT`] requests received, oldest first, as they arrived (headers that
    /// say how the body is framed and typed, and the body's first [`SEEN_BODY_LIMIT`] bytes).
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.shared
            .inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .cloned()
            .collect()
    }

    /// Requests the emulator rejected (a ready with no body and no length, a second result, ...),
    /// for tests.
    pub fn rejected(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().rejected.clone()
    }

    /// Queue an event with extra `/next` headers; the receiver gets the outcome.
    pub fn enqueue(
        &self,
        event: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> (String, oneshot::Receiver<Outcome>) {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.shared.inner.lock().unwrap();
        inner.next_id += 1;
        let request_id = format!("local-{:04}-{:08x}", inner.next_id, rand::random::<u32>());
        inner.queue.push_back(Invocation {
            request_id: request_id.clone(),
            event,
            headers,
            reply: Some(tx),
        });
        drop(inner);
        self.shared.changed.notify_waiters();
        (request_id, rx)
    }

    /// Fault injection: answer the next `n` `/next` requests with HTTP 500.
    pub fn fail_next_requests(&self, n: u32) {
        self.shared.inner.lock().unwrap().fail_next = n;
    }

    /// Fault injection: answer the next `n` results (`/response` or `/error`) with `status`.
    /// A 5xx is transient: the invocation stays in flight and a retried result is accepted. Any
    /// other status is a refusal: the invocation ends as an [`Outcome::Error`] with
    /// `errorCode` `RESULT_REJECTED`.
    pub fn reject_results(&self, n: u32, status: u16) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        self.shared.inner.lock().unwrap().reject_results = Some((n, status));
    }

    /// How many results were rejected by [`Emulator::reject_results`].
    pub fn rejected_results_served(&self) -> u32 {
        self.shared.inner.lock().unwrap().rejected_results
    }

    /// How many injected `/next` failures have been served.
    pub fn injected_failures_served(&self) -> u32 {
        self.shared.inner.lock().unwrap().failed_next
    }

    /// Drop the in-flight invocation (after a timeout or crash).
    pub(super) fn abandon(&self) {
        self.shared.inner.lock().unwrap().current = None;
    }
}
