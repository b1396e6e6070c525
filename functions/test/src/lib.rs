//! test: an auth smoke test. Answers
//! `{success: true, message: "Authentication successful", identity: {openid, appid, unionid}, timestamp}`
//! with `unionid` = `"Not available"` when absent and `timestamp` in ISO-8601 UTC (milliseconds).
//! Without a verified identity: `{success: false, error: "UNAUTHENTICATED", message}`, HTTP 401.

use scf_runtime::{Context, Event, FnError};
use serde::Serialize;
use wxlogin::{format_ms, now_ms};

/// The caller, as the smoke test reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestIdentity {
    /// Caller OPENID.
    pub openid: String,
    /// Mini program AppID, `null` when the platform did not say.
    pub appid: Option<String>,
    /// UNIONID or `"Not available"`.
    pub unionid: String,
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
/// `401 UNAUTHENTICATED` (with `success: false`) when no platform channel vouched for an OPENID.
pub async fn handle(_event: Event, ctx: Context) -> Result<TestResult, FnError> {
    let id = ctx.identity;
    let Some(openid) = id.openid else {
        return Err(
            FnError::unauthenticated().with_field("success", serde_json::Value::Bool(false))
        );
    };
    Ok(TestResult {
        success: true,
        message: "Authentication successful",
        identity: TestIdentity {
            openid,
            appid: id.appid,
            unionid: id.unionid.unwrap_or_else(|| "Not available".into()),
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
