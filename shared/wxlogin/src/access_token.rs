//! The WeChat access_token, shared by every call of the instance: fetched with
//! `POST {WECHAT_API_BASE}/cgi-bin/stable_token`, cached, refreshed when WeChat rejects it.
//!
//! Facts (`docs/platform.md` "WeChat access_token and phone number"; WeChat doc
//! `getStableAccessToken`): a JSON body `{grant_type: "client_credential", appid, secret,
//! force_refresh}`; an answer `{access_token, expires_in}` (seconds, 7200 in the docs) or
//! `{errcode, errmsg}`. `stable_token` is used instead of `/cgi-bin/token` because with it every
//! instance may fetch its own token without invalidating the others'. `force_refresh: true`
//! invalidates the token for everyone and is limited to 20 a day, so it is sent only when a
//! refetch hands back the very token WeChat just rejected.
//!
//! Why a `tokio::sync::Mutex` held across the fetch: it is the single flight. Concurrent calls
//! (web mode serves requests concurrently) queue on the lock; the first one fetches, the others
//! find the token it cached. A cancelled call drops its guard, the lock is released and nothing
//! is left behind; a waiter waits no longer than its own deadline.
//!
//! A failed fetch is remembered for [`FETCH_FAILURE_BACKOFF`] (10 s, as the CloudBase key set's
//! back-off): while WeChat's `stable_token` is down or refuses the AppSecret, each request fails at
//! once with the same error instead of making its own fetch and retry (10 requests during an
//! outage made 20 fetches). A call that had no time left to try is not remembered.
//!
//! The token is a [`Secret`]: it goes in no log line, no error and no `Debug` output; it appears
//! only in the query of the API calls that need it, and an `errmsg` that echoes it is cleaned.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::{info, warn};

use scf_runtime::Secret;

use crate::error::{WxError, clean_errmsg};
use crate::transport::{MIN_ATTEMPT, Transport, not_enough_time, send};

/// Kept back from `expires_in` before the token is fetched again (5 minutes, in seconds).
pub const TOKEN_MARGIN_SECS: u64 = 5 * 60;
/// The longest lifetime believed from an answer, seconds (WeChat documents 7200).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 7200;
/// The longest access_token accepted, bytes (WeChat asks for 512 characters of storage).
pub const MAX_TOKEN_BYTES: usize = 2048;
/// API errcodes that mean "this access_token is bad": invalid (40001), invalid (40014),
/// expired (42001). They cause one refetch and one retry.
pub const BAD_TOKEN_ERRCODES: [i64; 3] = [40001, 40014, 42001];

/// After a failed `stable_token` fetch, how long the failure is answered without fetching again.
pub const FETCH_FAILURE_BACKOFF: Duration = Duration::from_secs(10);

/// The cached token and the instant (monotonic) after which it is fetched again; the last failed
/// fetch and when it failed.
#[derive(Debug, Default)]
struct TokenState {
    cached: Option<(Secret, Instant)>,
    failed: Option<(WxError, Instant)>,
}

/// The access_token of one mini program, owned here: the state and its lock, which is the single
/// flight for fetching it. The WeChat client holds one ([`crate::WeChatClient`]) and lends it its
/// transport for each call.
#[derive(Debug, Default)]
pub(crate) struct AccessTokenCache {
    state: tokio::sync::Mutex<TokenState>,
}

#[derive(Deserialize)]
struct RawToken {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// How long a token that WeChat says lives `expires_in` seconds is used: `expires_in` minus
/// [`TOKEN_MARGIN_SECS`], at most [`MAX_TOKEN_LIFETIME_SECS`] minus the margin; a lifetime
/// shorter than the margin is used for half its length.
pub fn cache_lifetime(expires_in: u64) -> Duration {
    let secs = expires_in.min(MAX_TOKEN_LIFETIME_SECS);
    if secs > TOKEN_MARGIN_SECS {
        Duration::from_secs(secs - TOKEN_MARGIN_SECS)
    } else {
        Duration::from_millis(secs * 500)
    }
}

/// Parse a `stable_token` body: the token and its `expires_in` (seconds).
///
/// # Errors
/// [`WxError::Api`] for a non-zero `errcode` (`errmsg` cleaned of `echoes`);
/// [`WxError::BadResponse`] for a body that is not JSON, has no token, a token over
/// [`MAX_TOKEN_BYTES`] or with characters outside printable ASCII, or no positive `expires_in`.
/// Messages never include the body.
pub fn parse_token_answer(body: &[u8], echoes: &[&str]) -> Result<(Secret, u64), WxError> {
    let raw: RawToken = crate::error::parse_json(body)?;
    if let Some(errcode) = raw.errcode.filter(|c| *c != 0) {
        let errmsg = clean_errmsg(&raw.errmsg.unwrap_or_default(), echoes);
        return Err(WxError::Api { errcode, errmsg });
    }
    let token = raw
        .access_token
        .filter(|t| !t.expose().is_empty())
        .ok_or_else(|| WxError::BadResponse("no access_token and no errcode".into()))?;
    if token.expose().len() > MAX_TOKEN_BYTES
        || !token.expose().bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(WxError::BadResponse(
            "the access_token is too long or holds characters outside printable ASCII".into(),
        ));
    }
    let expires_in = raw
        .expires_in
        .filter(|s| *s > 0)
        .ok_or_else(|| WxError::BadResponse("no positive expires_in".into()))?;
    Ok((token, expires_in as u64))
}

impl AccessTokenCache {
    /// The token, given that WeChat just `rejected` one (`None`: it rejected nothing). A cached
    /// token other than the rejected one is used (a concurrent call already refreshed it);
    /// otherwise one is fetched, and when the fetch hands back the rejected token itself, fetched
    /// again once with `force_refresh: true`.
    pub(crate) async fn token_for(
        &self,
        t: &Transport,
        deadline: Instant,
        rejected: Option<&Secret>,
    ) -> Result<Secret, WxError> {
        let wait = Transport::budget(deadline);
        let mut state = tokio::time::timeout(wait, self.state.lock())
            .await
            .map_err(|_| {
                WxError::Unreachable("timed out waiting for a concurrent access_token fetch".into())
            })?;
        if let Some((token, fresh_until)) = &state.cached
            && rejected != Some(token)
            && Instant::now() < *fresh_until
        {
            return Ok(token.clone());
        }
        state.cached = None;
        if let Some((e, at)) = &state.failed
            && at.elapsed() < FETCH_FAILURE_BACKOFF
        {
            info!(
                "the last stable_token fetch failed {} ms ago: not fetching again yet",
                at.elapsed().as_millis()
            );
            return Err(e.clone());
        }
        let tried = Transport::budget(deadline) >= MIN_ATTEMPT;
        let started = Instant::now();
        let fetched = async {
            let (mut token, mut expires_in) = Self::fetch_token(t, deadline, false).await?;
            if rejected == Some(&token) {
                warn!(
                    "stable_token handed back the access_token WeChat just rejected: fetching once with force_refresh"
                );
                (token, expires_in) = Self::fetch_token(t, deadline, true).await?;
            }
            Ok::<_, WxError>((token, expires_in))
        };
        let (token, expires_in) = match fetched.await {
            Ok(t) => t,
            Err(e) => {
                if tried {
                    state.failed = Some((e.clone(), Instant::now()));
                }
                return Err(e);
            }
        };
        state.failed = None;
        let lifetime = cache_lifetime(expires_in);
        info!(
            expires_in,
            cached_for_s = lifetime.as_secs(),
            "access_token fetched"
        );
        state.cached = Some((token.clone(), started + lifetime));
        Ok(token)
    }

    /// One `stable_token` fetch with its one retry (errcode `-1`, transport).
    async fn fetch_token(
        t: &Transport,
        deadline: Instant,
        force_refresh: bool,
    ) -> Result<(Secret, u64), WxError> {
        t.with_one_retry("stable_token", deadline, |budget| {
            Self::fetch_token_once(t, budget, force_refresh)
        })
        .await
    }

    async fn fetch_token_once(
        t: &Transport,
        budget: Duration,
        force_refresh: bool,
    ) -> Result<(Secret, u64), WxError> {
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": t.appid,
            "secret": t.secret.expose(),
            "force_refresh": force_refresh,
        });
        let req = t
            .http
            .post(format!("{}/cgi-bin/stable_token", t.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .timeout(budget);
        let answer = send(req, "stable_token").await?;
        parse_token_answer(&answer, &[t.secret.expose()])
    }

    /// `POST {base}{path}?access_token=TOKEN` through `t` (`crate::WeChatClient::post_with_token`
    /// documents the rules).
    pub(crate) async fn post_with_token<T, P>(
        &self,
        t: &Transport,
        path: &str,
        body: &serde_json::Value,
        echoes: &[&str],
        deadline: Instant,
        parse: P,
    ) -> Result<T, WxError>
    where
        P: Fn(&[u8], &[&str]) -> Result<T, WxError>,
    {
        let token = self.token_for(t, deadline, None).await?;
        let call = |token: Secret, budget: Duration| {
            let body = body.to_string();
            let parse = &parse;
            async move {
                let req = t
                    .http
                    .post(format!("{}{path}", t.base))
                    .query(&[("access_token", token.expose())])
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .timeout(budget);
                let answer = send(req, path).await?;
                let mut all = vec![t.secret.expose(), token.expose()];
                all.extend_from_slice(echoes);
                parse(&answer, &all)
            }
        };
        let first = t
            .with_one_retry(path, deadline, |budget| call(token.clone(), budget))
            .await;
        match first {
            Err(WxError::Api { errcode, .. }) if BAD_TOKEN_ERRCODES.contains(&errcode) => {
                warn!(
                    errcode,
                    "{path}: WeChat rejected the access_token; refetching it and retrying once"
                );
                let fresh = self.token_for(t, deadline, Some(&token)).await?;
                let budget = Transport::budget(deadline);
                if budget < MIN_ATTEMPT {
                    return Err(not_enough_time(budget));
                }
                call(fresh, budget).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_seconds_minus_the_margin() {
        assert_eq!(cache_lifetime(7200), Duration::from_secs(6900));
        assert_eq!(cache_lifetime(86_400), Duration::from_secs(6900));
        assert_eq!(cache_lifetime(301), Duration::from_secs(1));
        assert_eq!(cache_lifetime(300), Duration::from_secs(150));
        assert_eq!(cache_lifetime(1), Duration::from_millis(500));
    }

    #[test]
    fn parses_token_answers() {
        let (t, e) =
            parse_token_answer(br#"{"access_token":"TOK","expires_in":7200}"#, &[]).unwrap();
        assert_eq!((t.expose(), e), ("TOK", 7200));
        assert!(!format!("{t:?}").contains("TOK"));
        let err = parse_token_answer(
            br#"{"errcode":40125,"errmsg":"invalid appsecret SECRETX"}"#,
            &["SECRETX"],
        )
        .unwrap_err();
        assert_eq!(
            err,
            WxError::Api {
                errcode: 40125,
                errmsg: "invalid appsecret [redacted]".into()
            }
        );
        for bad in [
            &br#"{"expires_in":7200}"#[..],
            br#"{"access_token":"","expires_in":7200}"#,
            br#"{"access_token":"TOK"}"#,
            br#"{"access_token":"TOK","expires_in":0}"#,
            br#"{"access_token":"T OK","expires_in":7200}"#,
            b"<html>",
            br#"{"access_token":"TOK","expi"#,
        ] {
            let err = parse_token_answer(bad, &[]).unwrap_err();
            assert!(matches!(err, WxError::BadResponse(_)), "{err:?}");
            assert!(!err.to_string().contains("TOK"), "{err}");
        }
        let long = format!(
            r#"{{"access_token":"{}","expires_in":7200}}"#,
            "a".repeat(MAX_TOKEN_BYTES + 1)
        );
        assert!(parse_token_answer(long.as_bytes(), &[]).is_err());
    }
}
