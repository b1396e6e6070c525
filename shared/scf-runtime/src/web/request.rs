//! One request: its request id, time limit and memory from the `X-Scf-*` headers (the last
//! copy), its body read within the budget (`body.rs`), then the pipeline, and the answer written
//! as the `http::Response` it built.

use std::convert::Infallible;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use tracing::{Instrument as _, info, info_span, warn};

use super::body::{self, Budget};
use super::conn::{Slot, Tracked};
use super::headers::{header, is_safe_request_id};
use crate::auth::Authenticator;
use crate::context::{Context, InstanceInfo};
use crate::error::FnError;
use crate::event::Event;
use crate::http_event::HttpEvent;
use crate::identity::Identity;
use crate::pipeline::{self, Failure};
use crate::response::{IntoReply, error_response};

/// The time limit when a request has no `X-Scf-Timeout`: SCF's default function timeout.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3);
/// The longest time limit taken from `X-Scf-Timeout`: SCF's largest function timeout (900 s,
/// `docs/platform.md` "HTTP functions"). Without a platform in front, a client could otherwise ask for years.
pub const MAX_TIME_LIMIT: Duration = Duration::from_secs(900);

/// What every request needs.
pub(super) struct Web<'a, F> {
    pub(super) handler: &'a F,
    pub(super) instance: Arc<InstanceInfo>,
    pub(super) auth: Arc<Authenticator>,
    pub(super) counter: &'a AtomicU64,
    pub(super) budget: &'a Budget,
}

impl<F> Web<'_, F> {
    pub(super) async fn answer<T>(
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
            let mut response = match body::read_event(req, &request_id, body_deadline, self.budget)
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
            if close {
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            Ok(response.map(|b| Tracked::new(Full::new(b), slot)))
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
