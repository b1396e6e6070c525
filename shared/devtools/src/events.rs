//! Event builders: the shapes SCF delivers (`scf-runtime.md` §3).

use serde_json::{Value, json};

/// A `wx.cloud.callFunction` event: the caller's `data` with `userInfo {appId, openId}` injected
/// (when `openid` is given). A non-object `data` is delivered as is.
pub fn call_function(data: Value, openid: Option<&str>, appid: Option<&str>) -> Value {
    match (data, openid) {
        (Value::Object(mut m), Some(openid)) => {
            m.insert(
                "userInfo".into(),
                json!({"appId": appid.unwrap_or(""), "openId": openid}),
            );
            Value::Object(m)
        }
        (data, _) => data,
    }
}

/// An HTTP access service event for `method path` with `body` (sent as JSON text, not base64).
pub fn http_access(method: &str, path: &str, body: Option<&str>, env_id: &str) -> Value {
    json!({
        "path": path,
        "httpMethod": method,
        "headers": {
            "host": format!("{env_id}.service.tcloudbase.com"),
            "content-type": "application/json",
            "user-agent": "scripts/invoke",
        },
        "multiValueHeaders": {},
        "queryStringParameters": {},
        "requestContext": {"requestId": "local-http-request", "envId": env_id, "appId": 0, "uin": 0},
        "body": body,
        "isBase64Encoded": false,
    })
}
