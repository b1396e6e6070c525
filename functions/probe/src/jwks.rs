//! Whether the env's key set (JWKS) answers from inside the function.
//!
//! Why: scf-runtime verifies CloudBase access tokens against `TCB_JWKS_URL`, by default
//! `https://{env}.api.tcloudbasegateway.com/auth/v1/certs`, an endpoint no public document
//! describes. If it does not answer from inside SCF, the deployment should use
//! `TCB_TOKEN_VERIFY=introspect`. The probe GETs it once and reports the status and the number
//! of keys, or the kind of error; never the URL (it holds the env id) nor the keys.
//!
//! The client is the probe's own, with scf-runtime's outbound settings
//! (`scf_runtime::https_client_builder`: Mozilla's roots compiled in, no redirect followed, no
//! `Referer`), a 2 s connect timeout, at most
//! [`MAX_ANSWER_BYTES`] read. The fetch runs only when the caller asks (`jwks`), so local runs,
//! the hardening tests and `make soak` never leave the machine; and at most once every
//! [`REUSE_FOR`] per instance, so a caller cannot make the probe hammer the gateway.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The most bytes read from the key set (a real one with two keys is about 1 KB).
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// The longest the fetch may take, whatever the invocation's time left.
pub const MAX_FETCH: Duration = Duration::from_secs(2);
/// Time kept back from the deadline for answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(300);
/// A result younger than this is reported again instead of fetching.
pub const REUSE_FOR: Duration = Duration::from_secs(10);

/// Where the key set is: `(url, where it came from)`. `TCB_JWKS_URL` when set, else the default
/// from the env id (`TCB_ENV`, else `SCF_NAMESPACE`, as scf-runtime reads them).
///
/// # Errors
/// A sentence for the report: no env id, or one that cannot be a host name label.
pub fn locate(get: impl Fn(&str) -> Option<String>) -> Result<(String, String), String> {
    let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    if let Some(url) = get("TCB_JWKS_URL") {
        return Ok((url, "TCB_JWKS_URL".into()));
    }
    let (env, from) = match (get("TCB_ENV"), get("SCF_NAMESPACE")) {
        (Some(e), _) => (e, "TCB_ENV"),
        (None, Some(e)) => (e, "SCF_NAMESPACE"),
        (None, None) => return Err("no env id: neither TCB_ENV nor SCF_NAMESPACE is set".into()),
    };
    if env.len() > 63 || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("the env id in {from} is not a host name label"));
    }
    Ok((
        format!("https://{env}.api.tcloudbasegateway.com/auth/v1/certs"),
        format!("default, env id from {from}"),
    ))
}

fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            scf_runtime::https_client_builder()
                .connect_timeout(MAX_FETCH)
                .build()
                .map_err(|_| "the HTTP client cannot be built".to_owned())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// GET the key set within `min(MAX_FETCH, remaining - DEADLINE_MARGIN)`: `{"source", "status",
/// "keys"}` for an answer (`keys`: the length of its `keys` array, or why there is none), or
/// `{"source", "error"}` with the kind of failure (`timeout`, `cannot connect`, `request failed`,
/// `no time left`, ...). A result younger than [`REUSE_FOR`] is returned again with
/// `"reused": true`.
pub async fn check(remaining: Duration) -> Value {
    static LAST: Mutex<Option<(Instant, Value)>> = Mutex::new(None);
    if let Ok(last) = LAST.lock()
        && let Some((at, v)) = last.as_ref()
        && at.elapsed() < REUSE_FOR
    {
        let mut v = v.clone();
        v["reused"] = json!(true);
        return v;
    }
    let v = fetch(remaining).await;
    if let Ok(mut last) = LAST.lock() {
        *last = Some((Instant::now(), v.clone()));
    }
    v
}

async fn fetch(remaining: Duration) -> Value {
    let (url, source) = match locate(|k| std::env::var(k).ok()) {
        Ok(found) => found,
        Err(why) => return json!({"error": why}),
    };
    let timeout = remaining.saturating_sub(DEADLINE_MARGIN).min(MAX_FETCH);
    if timeout < Duration::from_millis(100) {
        return json!({"source": source, "error": "no time left in this invocation"});
    }
    let call = async {
        let client = client()?;
        // reqwest's errors can hold the URL (and so the env id): report the kind only.
        let resp = client.get(&url).send().await.map_err(|e| {
            if e.is_connect() {
                "cannot connect".to_owned()
            } else if e.is_builder() {
                "not a usable URL".to_owned()
            } else {
                "request failed".to_owned()
            }
        })?;
        let status = resp.status().as_u16();
        let body = match scf_runtime::read_capped(resp, MAX_ANSWER_BYTES).await {
            Ok(body) => body,
            Err(e @ scf_runtime::CappedReadError::TooBig { .. }) => {
                return Ok((status, json!(e.to_string())));
            }
            Err(e) => return Err(e.to_string()),
        };
        let keys = match serde_json::from_slice::<Value>(&body) {
            Ok(v) => match v.get("keys").and_then(Value::as_array) {
                Some(keys) => json!(keys.len()),
                None => json!("the answer has no keys array"),
            },
            Err(_) => json!("the answer is not JSON"),
        };
        Ok::<_, String>((status, keys))
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok((status, keys))) => json!({"source": source, "status": status, "keys": keys}),
        Ok(Err(kind)) => json!({"source": source, "error": kind}),
        Err(_) => {
            json!({"source": source, "error": format!("timeout ({} ms)", timeout.as_millis())})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn where_the_key_set_is() {
        let (url, from) = locate(env(&[("SCF_NAMESPACE", "ns-1"), ("TCB_ENV", "")])).unwrap();
        assert_eq!(url, "https://ns-1.api.tcloudbasegateway.com/auth/v1/certs");
        assert_eq!(from, "default, env id from SCF_NAMESPACE");
        let (_, from) = locate(env(&[("TCB_ENV", "e-2"), ("SCF_NAMESPACE", "ns")])).unwrap();
        assert_eq!(from, "default, env id from TCB_ENV");
        let (url, from) = locate(env(&[("TCB_JWKS_URL", "http://127.0.0.1:9/c")])).unwrap();
        assert_eq!(
            (url.as_str(), from.as_str()),
            ("http://127.0.0.1:9/c", "TCB_JWKS_URL")
        );
        assert!(locate(env(&[])).unwrap_err().contains("no env id"));
        let e = locate(env(&[("TCB_ENV", "a.evil.com/x?")])).unwrap_err();
        assert!(e.contains("TCB_ENV") && !e.contains("evil"), "{e}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn no_time_left_means_no_fetch() {
        // fetch reads the real environment: without an env id the error says so, with one the
        // time check answers first. Either way nothing is fetched.
        let v = fetch(Duration::from_millis(350)).await;
        let e = v["error"].as_str().unwrap();
        assert!(e.contains("no time left") || e.contains("no env id"), "{v}");
    }
}
