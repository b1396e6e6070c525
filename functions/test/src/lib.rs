//! test: an auth smoke test. Answers
//! `{success: true, message: "Authentication successful", identity: {openid, appid, unionid, uid?}, timestamp}`
//! with `unionid` = `"Not available"` when absent, `openid` `null` for an access-token caller
//! whose token carries none, and `timestamp` in ISO-8601 UTC (milliseconds).
//! Without a verified identity (`scf_runtime::Context::caller`): `{success: false, error, message}`
//! with `UNAUTHENTICATED` / `INVALID_TOKEN` (401), `AUTH_UNAVAILABLE` (503) or `MISCONFIGURED` (500).

use scf_runtime::{Context, Event, FnError};
use serde::Serialize;
use wxlogin::{format_ms, now_ms};

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
/// Those of `Context::caller` (with `success: false`): `401 UNAUTHENTICATED`,
/// `401 INVALID_TOKEN`, `503 AUTH_UNAVAILABLE`, `500 MISCONFIGURED`.
pub async fn handle(_event: Event, ctx: Context) -> Result<TestResult, FnError> {
    let id = match ctx.caller().await {
        Ok(id) => id,
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
        timestamp: format_ms(now_ms()),
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
    }
}
