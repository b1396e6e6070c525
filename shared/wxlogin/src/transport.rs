//! How every WeChat call is made: one HTTP client (Mozilla's roots compiled in, no redirect, no
//! `Referer`), a time budget from the invocation's deadline, one retry rule, a capped read, errors
//! without the URL.
//!
//! Its own file because jscode2session (`wechat.rs`) and the access_token (`access_token.rs`) both
//! call through it; the WeChat client holds one and lends it to its access-token cache.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use scf_runtime::Secret;

use crate::error::{ClientError, WxError};

/// Connect timeout, also capped by the time left in the invocation.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Time kept back from the invocation deadline for minting the ticket and posting the result.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(250);
/// An attempt (first or retry) is only started with at least this much time left.
pub const MIN_ATTEMPT: Duration = Duration::from_millis(200);
/// Largest answer body read, bytes. A real jscode2session answer is under 1 KB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The HTTP client and the mini program's credentials every WeChat call needs.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) appid: String,
    pub(crate) secret: Secret,
}

impl Transport {
    /// The transport for `appid` / `secret` against `api_base`.
    ///
    /// # Errors
    /// [`ClientError`] when the HTTP client cannot be built (TLS set-up).
    pub(crate) fn new(appid: String, secret: Secret, api_base: &str) -> Result<Self, ClientError> {
        // Mozilla's roots compiled in, no redirect, no Referer: scf_runtime's outbound settings.
        let http = scf_runtime::https_client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| ClientError(describe_http_error(e)))?;
        Ok(Transport {
            http,
            base: api_base.trim_end_matches('/').to_owned(),
            appid,
            secret,
        })
    }

    /// The time an attempt may take: what is left before `deadline`, minus [`DEADLINE_MARGIN`].
    pub(crate) fn budget(deadline: Instant) -> Duration {
        deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(DEADLINE_MARGIN)
    }

    /// The first attempt when at least [`MIN_ATTEMPT`] is left; one retry of a retryable error
    /// (errcode `-1`, transport) when [`MIN_ATTEMPT`] is still left. Every WeChat call goes
    /// through here, so all of them share one retry rule. `what` names the API in logs.
    pub(crate) async fn with_one_retry<T, F, Fut>(
        &self,
        what: &str,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T, WxError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, WxError>>,
    {
        let first = Self::budget(deadline);
        if first < MIN_ATTEMPT {
            return Err(not_enough_time(first));
        }
        match attempt(first).await {
            Err(e) if e.retryable() => {
                let second = Self::budget(deadline);
                if second < MIN_ATTEMPT {
                    warn!("{what} failed and no time is left to retry: {e}");
                    return Err(e);
                }
                warn!("{what} failed, retrying once: {e}");
                attempt(second).await
            }
            other => other,
        }
    }
}

/// The error for an invocation with less than [`MIN_ATTEMPT`] left.
pub(crate) fn not_enough_time(left: Duration) -> WxError {
    WxError::Unreachable(format!(
        "not enough time left in the invocation ({} ms) for a WeChat call",
        left.as_millis()
    ))
}

/// Send one request under the client's rules and return the body: a 3xx is
/// [`WxError::BadResponse`] (never followed), the body is capped at [`MAX_ANSWER_BYTES`], a 5xx
/// or a transport error is [`WxError::Unreachable`], any other non-2xx is
/// [`WxError::BadResponse`]. Errors never carry the URL (it may hold a secret or a token).
pub(crate) async fn send(req: reqwest::RequestBuilder, what: &str) -> Result<Vec<u8>, WxError> {
    let started = Instant::now();
    let resp = req
        .send()
        .await
        .map_err(|e| WxError::Unreachable(describe_http_error(e)))?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(WxError::BadResponse(format!(
            "HTTP {status}: a redirect, not followed"
        )));
    }
    let body = read_capped(resp).await?;
    debug!(
        status = status.as_u16(),
        bytes = body.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "{what} answered"
    );
    if status.is_server_error() {
        return Err(WxError::Unreachable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(WxError::BadResponse(format!("HTTP {status}")));
    }
    Ok(body)
}

/// Format a reqwest error with its whole source chain, **without the request URL** (a WeChat URL
/// carries the AppSecret in its query). Timeouts read "timed out".
pub(crate) fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let chain = scf_runtime::error_chain(&e);
    if e.is_timeout() {
        // reqwest's own words for a timeout name the URL's kind of failure; ours are plainer.
        let sources = chain.strip_prefix(&e.to_string()).unwrap_or_default();
        return format!("timed out{sources}");
    }
    chain
}

/// The answer's body, at most [`MAX_ANSWER_BYTES`]: a declared or actual length past the cap is
/// [`WxError::BadResponse`], and reading stops there.
async fn read_capped(resp: reqwest::Response) -> Result<Vec<u8>, WxError> {
    scf_runtime::read_capped(resp, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| match e {
            scf_runtime::CappedReadError::TooBig { .. } => WxError::BadResponse(format!(
                "the answer is over {MAX_ANSWER_BYTES} bytes; a real one is under 1 KB"
            )),
            scf_runtime::CappedReadError::Broken(e) => WxError::Unreachable(describe_http_error(e)),
        })
}
