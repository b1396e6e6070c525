//! One invocation, the same steps in event mode and in web mode: log its start, call the handler
//! with panic capture, log a business error, and encode the answer for the event's kind (a
//! result object, or an `http::Response`). SCF's 6 MB limit is one function ([`within_limit`]),
//! applied by each mode to what it delivers.
//!
//! Why one place: the two modes used to do these steps each in their own way (and import each
//! other to share half of them), so a web-mode panic was logged differently and a limit could be
//! fixed in one mode and not the other. Now `event_loop.rs` and `web/` each build an [`Event`]
//! and a [`Context`], call [`invoke`] (web mode [`invoke_http`]), and deliver what it returns;
//! neither knows the other.

use bytes::Bytes;
use tracing::{error, info, warn};

use crate::auth::{Authenticator, Offered};
use crate::caller::CallerState;
use crate::context::Context;
use crate::error::FnError;
use crate::event::Event;
use crate::http_event::HttpEvent;
use crate::panic;
use crate::payload::MAX_PAYLOAD_BYTES;
use crate::response::{IntoReply, error_response, reply_response};

/// A handler's answer, encoded for the kind of event it answers.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A callFunction answer: the JSON of the value, or of the business error (a result object).
    Call(Vec<u8>),
    /// An HTTP answer: event mode encodes it as an integrated response, web mode writes it.
    Http(http::Response<Bytes>),
}

/// The invocation failed as a whole (not a business error): event mode posts it to
/// `/runtime/invocation/error` as a [`crate::Diagnostic`] with [`Failure::code`] and the
/// message, web mode answers `500`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Failure {
    /// `HANDLER_PANIC`: the handler panicked (the panic's message; it stays in the log).
    #[error("handler panicked: {0}")]
    HandlerPanic(String),
    /// `RESULT_TOO_LARGE`: the answer is over [`MAX_PAYLOAD_BYTES`].
    #[error("the result is {0} bytes; SCF's limit is {MAX_PAYLOAD_BYTES}")]
    ResultTooLarge(usize),
    /// `SERIALIZE_FAILED`: the answer could not be encoded as JSON.
    #[error("the result could not be serialised: {0}")]
    SerializeFailed(String),
    /// `EVENT_NOT_JSON` (event mode): the `/next` body is not JSON.
    #[error("the event is not JSON ({len} bytes; line {line} column {column})")]
    EventNotJson {
        /// The body's length, bytes.
        len: usize,
        /// Where serde_json stopped.
        line: usize,
        /// Where serde_json stopped.
        column: usize,
    },
}

impl Failure {
    /// The diagnostic's `errorCode`.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::HandlerPanic(_) => "HANDLER_PANIC",
            Failure::ResultTooLarge(_) => "RESULT_TOO_LARGE",
            Failure::SerializeFailed(_) => "SERIALIZE_FAILED",
            Failure::EventNotJson { .. } => "EVENT_NOT_JSON",
        }
    }
}

/// Run `handler` for one event (event mode: a callFunction or an HTTP event). `auth` is the
/// process's token verifier: the context gets what the event presents (a token, checked only if
/// the handler extracts the caller).
///
/// The answer is not held to SCF's 6 MB here: each mode checks what it delivers, once
/// ([`within_limit`]): event mode the bytes it posts, web mode the body it writes.
pub(crate) async fn invoke<F, T>(
    handler: &F,
    event: Event,
    ctx: Context,
    auth: &std::sync::Arc<Authenticator>,
) -> Result<Answer, Failure>
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    if event.is_http() {
        return run(handler, event, ctx, auth)
            .await
            .and_then(http_answer)
            .map(Answer::Http);
    }
    let serialize_failed = |e: serde_json::Error| Failure::SerializeFailed(e.to_string());
    let body = match run(handler, event, ctx, auth).await? {
        Ok(v) => serde_json::to_vec(&v.into_reply().body),
        Err(e) => serde_json::to_vec(&e),
    };
    body.map(Answer::Call).map_err(serialize_failed)
}

/// Run `handler` for one HTTP request (web mode): always an HTTP answer.
pub(crate) async fn invoke_http<F, T>(
    handler: &F,
    event: HttpEvent,
    ctx: Context,
    auth: &std::sync::Arc<Authenticator>,
) -> Result<http::Response<Bytes>, Failure>
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    run(handler, Event::Http(event), ctx, auth)
        .await
        .and_then(http_answer)
}

/// The steps both kinds share: the caller's state into the context, the start log, the handler
/// with panic capture, a business error logged.
async fn run<F, T>(
    handler: &F,
    event: Event,
    mut ctx: Context,
    auth: &std::sync::Arc<Authenticator>,
) -> Result<Result<T, FnError>, Failure>
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
{
    let offered = Offered::from_event(&event);
    let token_headers = !offered.is_empty();
    ctx.extensions
        .insert(CallerState::new(auth.clone(), offered));
    info!(
        kind = if event.is_http() { "http" } else { "call" },
        identity = ?ctx.identity.source_channel,
        token_headers,
        time_limit_ms = ctx.time_limit.as_millis() as u64,
        "invocation start"
    );
    let result = panic::catch(handler(event, ctx))
        .await
        .map_err(|p| Failure::HandlerPanic(p.0))?;
    if let Err(e) = &result {
        warn!(error = %e.error, errcode = ?e.errcode, status = e.status, "handler returned an error");
    }
    Ok(result)
}

/// A handler's result as an HTTP response.
fn http_answer<T: IntoReply>(result: Result<T, FnError>) -> Result<http::Response<Bytes>, Failure> {
    match result {
        Ok(v) => {
            reply_response(v.into_reply()).map_err(|e| Failure::SerializeFailed(e.to_string()))
        }
        Err(e) => Ok(error_response(&e)),
    }
}

/// SCF's limit on a result: `len` bytes over [`MAX_PAYLOAD_BYTES`] fail the invocation.
pub(crate) fn within_limit(len: usize) -> Result<(), Failure> {
    if len <= MAX_PAYLOAD_BYTES {
        return Ok(());
    }
    let f = Failure::ResultTooLarge(len);
    error!("{f}");
    Err(f)
}
