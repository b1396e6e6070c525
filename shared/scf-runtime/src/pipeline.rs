//! One invocation, the same steps in event mode and in web mode: log its start, call the handler
//! with panic capture, log a business error, encode the answer for the event's kind, and hold
//! it to SCF's 6 MB limit.
//!
//! Why one place: the two modes used to do these steps each in their own way (and import each
//! other to share half of them), so a web-mode panic was logged differently and a limit could be
//! fixed in one mode and not the other. Now `event_loop.rs` and `web/` each build an [`Event`]
//! and a [`Context`], call [`invoke`], and deliver what it returns; neither knows the other.

use tracing::{error, info, warn};

use crate::auth::{Authenticator, Offered};
use crate::caller::CallerState;
use crate::context::Context;
use crate::error::FnError;
use crate::event::{Event, MAX_PAYLOAD_BYTES};
use crate::panic;
use crate::response::{IntegratedResponse, IntoReply};

/// A handler's answer, encoded for the kind of event it answers.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A callFunction answer: the JSON of the value, or of the business error (a result object).
    Call(Vec<u8>),
    /// An HTTP answer: an integrated response.
    Http(IntegratedResponse),
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

/// Run `handler` for one event. `auth` is the process's token verifier: the context gets what
/// the event presents (a token, checked only if the handler extracts the caller).
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
    let is_http = event.is_http();
    let mut ctx = ctx;
    let offered = Offered::from_event(&event);
    let token_headers = !offered.is_empty();
    ctx.extensions
        .insert(CallerState::new(auth.clone(), offered));
    info!(
        kind = if is_http { "http" } else { "call" },
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
    let serialize_failed = |e: serde_json::Error| Failure::SerializeFailed(e.to_string());
    let answer = match (is_http, result) {
        (false, Ok(v)) => {
            Answer::Call(serde_json::to_vec(&v.into_reply().body).map_err(serialize_failed)?)
        }
        (false, Err(e)) => Answer::Call(serde_json::to_vec(&e).map_err(serialize_failed)?),
        (true, Ok(v)) => {
            Answer::Http(IntegratedResponse::from_reply(v.into_reply()).map_err(serialize_failed)?)
        }
        (true, Err(e)) => Answer::Http(IntegratedResponse::from_error(&e)),
    };
    let len = match &answer {
        Answer::Call(b) => b.len(),
        Answer::Http(r) => r.body.len(),
    };
    within_limit(len)?;
    Ok(answer)
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
