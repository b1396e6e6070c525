//! The transport: a client for the SCF runtime API, with retries.
//!
//! Why a file of its own: the protocol's four calls and its failure rules are one concept, and
//! the event loop (`event_loop.rs`) should read as the loop it is, not as HTTP plumbing.
//!
//! Protocol (SCF Custom Runtime doc, `docs/platform.md` "Runtime API"): base URL
//! `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT`; `POST /runtime/init/ready` once, then
//! `GET /runtime/invocation/next` (a long poll, so no client timeout), then the result to
//! `POST /runtime/invocation/response` or `POST /runtime/invocation/error`. The runtime API is
//! plain HTTP/1.1 on loopback: hyper's client, without reqwest's TLS setup.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Method;
use hyper::http;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing::warn;

use crate::error::error_chain;

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
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// Worth retrying: connection error, timeout, 5xx, 429.
    #[error("{0}")]
    Transient(String),
    /// The runtime API said no (4xx): do not retry.
    #[error("rejected with HTTP {0}: {1}")]
    Rejected(u16, String),
}

/// A 2xx answer: `/next` gives the invocation's headers and its event.
pub(crate) struct Answer {
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

/// The client.
pub(crate) struct RuntimeApi {
    http: Client<HttpConnector, Full<Bytes>>,
    pub(crate) base: String,
    pub(crate) retry: RetryPolicy,
}

/// Why event mode cannot start: a variable SCF sets for a bootstrap is missing. Each message
/// says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoRuntimeApi {
    /// `SCF_RUNTIME_API` is unset or empty.
    #[error(
        "SCF_RUNTIME_API is not set: this binary is an SCF bootstrap (run it with scripts/invoke), or pass --web to serve HTTP on 0.0.0.0:${{PORT:-9000}}"
    )]
    Host,
    /// `SCF_RUNTIME_API_PORT` is unset or empty.
    #[error("SCF_RUNTIME_API_PORT is not set")]
    Port,
}

/// Where the runtime API is: `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT`.
///
/// # Errors
/// [`NoRuntimeApi`], naming the missing variable.
pub(crate) fn base_from_env() -> Result<String, NoRuntimeApi> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let host = get("SCF_RUNTIME_API").ok_or(NoRuntimeApi::Host)?;
    let port = get("SCF_RUNTIME_API_PORT").ok_or(NoRuntimeApi::Port)?;
    Ok(format!("http://{host}:{port}"))
}

impl RuntimeApi {
    pub(crate) fn new(base: String, retry: RetryPolicy) -> Self {
        // One invocation at a time: one connection is all the loop ever uses.
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
    ) -> Result<Answer, ApiError> {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(ct) = content_type {
            req = req.header(http::header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| ApiError::Transient(error_chain(&e)))?;
        // No client timeout: /next long-polls until SCF has an event.
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| ApiError::Transient(error_chain(&e)))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| ApiError::Transient(format!("reading the answer: {}", error_chain(&e))))?
            .to_bytes();
        let status = parts.status;
        if status.is_success() {
            return Ok(Answer {
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

    /// `POST /runtime/init/ready`.
    pub(crate) async fn ready(&self) -> Result<(), ApiError> {
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

    /// `GET /runtime/invocation/next`: the next invocation's headers and event.
    pub(crate) async fn next(&self) -> Result<Answer, ApiError> {
        self.with_retry("next", || {
            self.send(Method::GET, "/runtime/invocation/next", None, Bytes::new())
        })
        .await
    }

    /// `POST` a JSON result to `path` (`/runtime/invocation/response` or `/error`).
    pub(crate) async fn post(&self, path: &str, body: Vec<u8>) -> Result<(), ApiError> {
        let body = Bytes::from(body);
        self.with_retry(path, || {
            self.send(Method::POST, path, Some("application/json"), body.clone())
        })
        .await
        .map(drop)
    }
}
