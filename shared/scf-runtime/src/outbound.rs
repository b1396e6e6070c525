//! Outbound HTTPS, set up one way for the runtime (the access-token key set, introspect) and for
//! functions (WeChat's APIs, the probe).
//!
//! Why one place: each caller used to build its own reqwest client with the same four choices and
//! read answers with the same size cap, and a fix to one would not reach the others. The choices:
//! - **Mozilla's roots compiled in** (`webpki-root-certs`): no dependence on the SCF image's CA
//!   bundle (its path on CentOS 7 is unconfirmed, `docs/platform.md`), and building a client takes
//!   ~0.4 ms instead of ~5 ms;
//! - **no redirect followed**: a redirect could carry a token, an AppSecret or a code elsewhere;
//! - **no `Referer`**;
//! - **a capped read** ([`read_capped`]): a hostile or broken upstream cannot make a function
//!   hold more than the caller's cap in memory.
//!
//! Timeouts are the caller's: each has its own deadline.

/// A reqwest client builder with the settings above (rustls; Mozilla's roots only; no redirects;
/// no `Referer`). Add timeouts and pool settings, then `build()`.
pub fn https_client_builder() -> reqwest::ClientBuilder {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
}

/// Why [`read_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum CappedReadError {
    /// The declared or actual length is over the cap (in bytes); reading stopped there.
    #[error("the answer is over {max} bytes")]
    TooBig {
        /// The cap, bytes.
        max: usize,
    },
    /// The connection failed while the body was read (the reqwest error may name the URL: strip
    /// it with `without_url` before showing it).
    #[error("the answer broke off")]
    Broken(#[source] reqwest::Error),
}

/// The body of `resp`, at most `max` bytes: a `Content-Length` over `max` is refused before
/// reading, and reading stops as soon as the body passes `max`.
///
/// # Errors
/// [`CappedReadError::TooBig`] past `max`; [`CappedReadError::Broken`] when the body cannot be read.
pub async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, CappedReadError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(CappedReadError::TooBig { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(CappedReadError::Broken)? {
        if body.len() + chunk.len() > max {
            return Err(CappedReadError::TooBig { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
