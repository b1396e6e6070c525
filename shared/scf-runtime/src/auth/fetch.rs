//! One bounded HTTPS GET, for the key set and the introspect call.
//!
//! Why its own client: the runtime must not depend on a function's WeChat client, and the
//! client is built on first use, not at start, so functions that never see a token keep their
//! ~1 ms cold start. It has the settings of `outbound.rs` (Mozilla's roots compiled in, no
//! redirect, which could send the token elsewhere, no `Referer`) and reads at most
//! [`MAX_ANSWER_BYTES`]. Every call has a deadline from the invocation's time left.

use std::sync::OnceLock;
use std::time::Duration;

use crate::outbound::CappedReadError;

/// The most bytes read from a key-set or introspect answer. A real key set with two keys is
/// about 1 KB.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Why a fetch failed. Never holds a token or a URL's query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    /// No answer in time, or no connection.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// An answer that is not a usable one (size, shape).
    #[error("bad answer: {0}")]
    BadAnswer(String),
    /// An HTTP status other than 200.
    #[error("bad answer: HTTP {0}")]
    Status(u16),
}

fn client() -> Result<&'static reqwest::Client, FetchError> {
    // The build error is kept as a FetchError (reqwest's own error is not Clone).
    static CLIENT: OnceLock<Result<reqwest::Client, FetchError>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            crate::outbound::https_client_builder()
                .connect_timeout(Duration::from_secs(2))
                .pool_idle_timeout(Duration::from_secs(50))
                .build()
                .map_err(|e| {
                    FetchError::Unreachable(format!("the HTTP client cannot be built: {e}"))
                })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `GET url` (with `Authorization: Bearer <bearer>` when given), within `timeout`. Returns the
/// body of a `200`.
///
/// # Errors
/// [`FetchError::Unreachable`] for a timeout or a connection error; [`FetchError::Status`] for
/// another status; [`FetchError::BadAnswer`] for a body over [`MAX_ANSWER_BYTES`].
pub(crate) async fn get(
    url: &str,
    bearer: Option<&str>,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let call = async {
        let mut req = client()?.get(url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        // reqwest's errors can include the URL; ours are kind-only.
        let resp = req.send().await.map_err(|e| {
            FetchError::Unreachable(
                if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                }
                .into(),
            )
        })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status(status));
        }
        crate::outbound::read_capped(resp, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                CappedReadError::TooBig { .. } => FetchError::BadAnswer(e.to_string()),
                CappedReadError::Broken(_) => FetchError::Unreachable(e.to_string()),
            })
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Unreachable(format!(
            "no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}
