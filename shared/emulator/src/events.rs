//! Event builders: the shapes SCF delivers (docs/platform.md, "Events"), and the rule
//! `scripts/invoke` uses to tell them apart.
//!
//! Only a `wx.cloud.callFunction` event carries the platform's `userInfo`. A timer, COS, CMQ,
//! CKafka, API-gateway or HTTP-access event never does, so the local tools must not add one: the
//! runtime treats an event that carries a top-level `userInfo` as a callFunction, and getUserInfo
//! would report an identity the cloud never gives. [`kind_of`] decides from the event's shape;
//! [`splice_user_info`] adds `userInfo` to a callFunction event without re-serialising it, so the
//! event is still delivered byte for byte (duplicate keys, big integers and spacing included).

use serde_json::{Value, json};

/// A `wx.cloud.callFunction` event: the caller's `data` with `userInfo {appId, openId}` injected
/// (when `openid` is given). A non-object `data` is delivered as is. This re-serialises `data`
/// (keys sorted, a repeated key collapsed): for events as given use [`splice_user_info`].
pub fn call_function(data: Value, openid: Option<&str>, appid: Option<&str>) -> Value {
    match (data, openid) {
        (Value::Object(mut m), Some(openid)) => {
            m.insert("userInfo".into(), user_info(openid, appid));
            Value::Object(m)
        }
        (data, _) => data,
    }
}

/// The platform's `userInfo` object: `{"appId": appid or "", "openId": openid}`.
pub fn user_info(openid: &str, appid: Option<&str>) -> Value {
    json!({"appId": appid.unwrap_or(""), "openId": openid})
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

/// What an event is, judged from its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Any other JSON object: the data of a `wx.cloud.callFunction`. The only kind that gets
    /// `userInfo`.
    CallFunction,
    /// A timer trigger: `"Type": "Timer"`, or a `TriggerName` key.
    Timer,
    /// A COS, CMQ or CKafka trigger: a `Records` key.
    Records,
    /// An API-gateway or HTTP-access event: a string `httpMethod` with a `headers` or
    /// `requestContext` object (the runtime's own HTTP rule, `scf_runtime::Event`).
    Http,
    /// JSON, but not an object (array, string, number, `null`): delivered as is.
    NotAnObject,
    /// Not JSON at all: delivered as is (the runtime answers `EVENT_NOT_JSON`).
    NotJson,
}

impl EventKind {
    /// A short description for messages, e.g. `a timer event`.
    pub fn describe(self) -> &'static str {
        match self {
            EventKind::CallFunction => "a callFunction event",
            EventKind::Timer => "a timer event (Type \"Timer\" or TriggerName)",
            EventKind::Records => "a COS/CMQ/CKafka event (Records)",
            EventKind::Http => {
                "an API-gateway/HTTP-access event (httpMethod with headers or requestContext)"
            }
            EventKind::NotAnObject => "a JSON value that is not an object",
            EventKind::NotJson => "not JSON",
        }
    }
}

/// The kind of the event `raw`, from its top-level shape, checked in this order: timer
/// (`"Type": "Timer"` or `TriggerName`), then `Records` (COS, CMQ, CKafka), then HTTP (a string
/// `httpMethod` with a `headers` or `requestContext` object), else a callFunction. `raw` is
/// parsed into a throwaway copy; it is never re-serialised.
pub fn kind_of(raw: &[u8]) -> EventKind {
    let Ok(value) = serde_json::from_slice::<Value>(raw) else {
        return EventKind::NotJson;
    };
    let Value::Object(m) = value else {
        return EventKind::NotAnObject;
    };
    if m.get("Type").and_then(Value::as_str) == Some("Timer") || m.contains_key("TriggerName") {
        EventKind::Timer
    } else if m.contains_key("Records") {
        EventKind::Records
    } else if m.get("httpMethod").is_some_and(Value::is_string)
        && (m.get("headers").is_some_and(Value::is_object)
            || m.get("requestContext").is_some_and(Value::is_object))
    {
        EventKind::Http
    } else {
        EventKind::CallFunction
    }
}

/// `raw` with `"userInfo":<user_info>` inserted right after the opening `{` of its top-level
/// object, every other byte unchanged. `None` when `raw` is not a JSON object (then deliver it as
/// is). A `userInfo` already in `raw` stays, so the result repeats the key, which the runtime
/// refuses to trust.
pub fn splice_user_info(raw: &[u8], user_info: &Value) -> Option<Vec<u8>> {
    if !matches!(serde_json::from_slice::<Value>(raw).ok()?, Value::Object(_)) {
        return None;
    }
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let open = raw.iter().position(|b| !is_ws(b))?;
    let rest = &raw[open + 1..];
    let empty = rest.iter().find(|b| !is_ws(b)) == Some(&b'}');
    let mut out = Vec::with_capacity(raw.len() + 96);
    out.extend_from_slice(&raw[..=open]);
    out.extend_from_slice(b"\"userInfo\":");
    out.extend_from_slice(user_info.to_string().as_bytes());
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_shape() {
        let k = |s: &str| kind_of(s.as_bytes());
        assert_eq!(k(r#"{"code":"a.1"}"#), EventKind::CallFunction);
        assert_eq!(k("{}"), EventKind::CallFunction);
        assert_eq!(
            k(r#"{"Type":"Timer","TriggerName":"t","Time":"2026-12-02T00:00:00Z","Message":""}"#),
            EventKind::Timer
        );
        assert_eq!(k(r#"{"TriggerName":"t"}"#), EventKind::Timer);
        assert_eq!(k(r#"{"Type":"Other"}"#), EventKind::CallFunction);
        assert_eq!(k(r#"{"Records":[{"cos":{}}]}"#), EventKind::Records);
        assert_eq!(
            k(r#"{"httpMethod":"GET","headers":{"host":"x"}}"#),
            EventKind::Http
        );
        assert_eq!(
            k(r#"{"httpMethod":"POST","requestContext":{}}"#),
            EventKind::Http
        );
        // httpMethod alone, or not a string, is callFunction data (as the runtime decides).
        assert_eq!(k(r#"{"httpMethod":"POST"}"#), EventKind::CallFunction);
        assert_eq!(
            k(r#"{"httpMethod":1,"headers":{}}"#),
            EventKind::CallFunction
        );
        assert_eq!(k("[1,2]"), EventKind::NotAnObject);
        assert_eq!(k("null"), EventKind::NotAnObject);
        assert_eq!(k("not json"), EventKind::NotJson);
        assert_eq!(k(""), EventKind::NotJson);
    }

    #[test]
    fn splice_keeps_every_other_byte() {
        let ui = user_info("oA", Some("wxB"));
        let raw = b" \n{ \"a\":1, \"a\":2, \"big\":12345678901234567890123 }\n";
        let out = splice_user_info(raw, &ui).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " \n{\"userInfo\":{\"appId\":\"wxB\",\"openId\":\"oA\"}, \"a\":1, \"a\":2, \"big\":12345678901234567890123 }\n"
        );
        let out = splice_user_info(b"{ \n}", &ui).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, json!({"userInfo": {"appId": "wxB", "openId": "oA"}}));
        for not_object in [&b"[1]"[..], b"\"s\"", b"null", b"{bad", b"", b"{}x"] {
            assert_eq!(splice_user_info(not_object, &ui), None, "{not_object:?}");
        }
    }
}
