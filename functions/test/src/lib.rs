//! test: an auth smoke test. Answers
//! `{success: true, message: "Authentication successful", identity: {openid, appid, unionid, uid?}, timestamp}`
//! with `unionid` = `"Not available"` when absent, `openid` `null` for an access-token caller
//! whose token carries none, and `timestamp` in ISO-8601 UTC (milliseconds).
//! The caller must be a signed-in user (the `scf_runtime::User` extractor); a custom-ticket user's
//! openid comes from its customUserId (`with_openid`). Otherwise
//! `{success: false, error, message}` with `UNAUTHENTICATED` / `INVALID_TOKEN` / `ANONYMOUS` (401,
//! the last for an anonymous caller such as the publishable key), `AUTH_UNAVAILABLE` (503) or
//! `MISCONFIGURED` (500).

use scf_runtime::{Context, Event, FnError, FromContext, User};
use serde::Serialize;

/// The caller, as the smoke test reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestIdentity {
    /// Caller OPENID; `null` for an access-token caller whose token carries none.
    pub openid: Option<String>,
    /// Mini program AppID, `null` when the platform did not say.
    pub appid: Option<String>,
    /// UNIONID or `"Not available"`.
    pub unionid: String,
    /// CloudBase uid (an access token's `sub`, or `TCB_UUID`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// Always `true` here.
    pub success: bool,
    /// `"Authentication successful"`.
    pub message: &'static str,
    /// Who called.
    pub identity: TestIdentity,
    /// Now, ISO-8601 UTC, e.g. `2026-11-21T05:05:54.123Z`.
    pub timestamp: String,
}

/// The handler.
///
/// # Errors
/// The rejections of the `User` extractor and of `User::with_openid` (with `success: false`):
/// `401 UNAUTHENTICATED`, `401 INVALID_TOKEN`, `401 ANONYMOUS`, `503 AUTH_UNAVAILABLE`,
/// `500 MISCONFIGURED`.
pub async fn handle(_event: Event, ctx: Context) -> Result<TestResult, FnError> {
    let user = async { User::from_context(&ctx).await?.with_openid(&ctx).await };
    let User(id) = match user.await {
        Ok(user) => user,
        Err(e) => return Err(e.with_field("success", serde_json::Value::Bool(false))),
    };
    Ok(TestResult {
        success: true,
        message: "Authentication successful",
        identity: TestIdentity {
            openid: id.openid,
            appid: id.appid,
            unionid: id.unionid.unwrap_or_else(|| "Not available".into()),
            uid: id.uid,
        },
        timestamp: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_runtime::Identity;
    use serde_json::json;

    #[tokio::test(flavor = "current_thread")]
    async fn smoke() {
        let id = Identity {
            openid: Some("o1".into()),
            ..Identity::default()
        };
        let r = handle(Event::Call(json!({})), Context::for_test(id))
            .await
            .unwrap();
        assert_eq!(r.identity.unionid, "Not available");
        assert!(
            r.timestamp.ends_with('Z') && r.timestamp.len() == 24,
            "{}",
            r.timestamp
        );
        let e = handle(
            Event::Call(json!({})),
            Context::for_test(Identity::default()),
        )
        .await
        .unwrap_err();
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(body["success"], json!(false));
        assert_eq!(body["error"], json!("UNAUTHENTICATED"));
        // An anonymous caller is not a user.
        let anon = Identity {
            uid: Some("anon".into()),
            is_anonymous: Some(true),
            ..Identity::default()
        };
        let e = handle(Event::Call(json!({})), Context::for_test(anon))
            .await
            .unwrap_err();
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(
            (body["error"].clone(), body["success"].clone(), e.status),
            (json!("ANONYMOUS"), json!(false), 401)
        );
    }
}
