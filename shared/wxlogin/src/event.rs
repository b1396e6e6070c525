//! Event kinds and the HTTP integrated response.
//!
//! Shapes: `scf-runtime.md` §3. A callFunction event is the caller's `data` plus the injected
//! `userInfo`; an HTTP event (CloudBase HTTP access service or API gateway) carries `httpMethod`,
//! `path`, `headers`, `queryStringParameters` / `queryString`, `body`, `isBase64Encoded` and
//! `requestContext`. The answer to an HTTP event is an integrated response
//! `{isBase64Encoded, statusCode, headers, body}`.
//!
//! **The kind is not the client's to choose.** In a callFunction event every top-level key but
//! `userInfo` is the client's `data`, so a client can make its data look like an HTTP event
//! (`httpMethod`, `headers`, `body`). The one top-level key the client cannot write is the
//! `userInfo` the platform injects, and the platform builds HTTP events itself, without one. So:
//! an event that carries a top-level `userInfo` is a callFunction event, whatever else it holds;
//! only an event without one can be an HTTP event.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::FnError;
use crate::identity::UserInfo;

/// SCF's limit on a synchronous request or response, in bytes (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// One invocation's event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `wx.cloud.callFunction` (or any non-HTTP invoke): the caller's data, with `userInfo` removed.
    Call(Value),
    /// HTTP access service / API gateway event.
    Http(HttpEvent),
}

/// An HTTP event. Everything in it is written by the HTTP client and is never a source of identity.
/// `Debug` shows header names only (values can be credentials, e.g. `x-cloudbase-credentials`)
/// and the body's length.
#[derive(Clone, PartialEq)]
pub struct HttpEvent {
    /// `httpMethod`, upper-cased.
    pub method: String,
    /// `path`.
    pub path: String,
    /// `headers`, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// `queryStringParameters`, else API gateway's `queryString`.
    pub query: BTreeMap<String, String>,
    /// `body` as delivered (base64 text when `is_base64_encoded`).
    pub body: Option<String>,
    /// `isBase64Encoded`.
    pub is_base64_encoded: bool,
    /// `requestContext`, as delivered.
    pub request_context: Value,
}

impl std::fmt::Debug for HttpEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEvent")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("query_names", &self.query.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(String::len))
            .field("is_base64_encoded", &self.is_base64_encoded)
            .finish_non_exhaustive()
    }
}

fn string_map(v: Option<&Value>, lower_keys: bool) -> BTreeMap<String, String> {
    let Some(Value::Object(m)) = v else {
        return BTreeMap::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some((
                if lower_keys {
                    k.to_ascii_lowercase()
                } else {
                    k.clone()
                },
                v,
            ))
        })
        .collect()
}

/// A top-level key whose repetition makes an event's identity untrustworthy.
const USER_INFO_KEY: &str = "userInfo";

/// Counts top-level `userInfo` keys without building values (serde_json keeps the last of
/// duplicate keys silently).
struct UserInfoKeys(usize);

impl<'de> serde::Deserialize<'de> for UserInfoKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = UserInfoKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<UserInfoKeys, A::Error> {
                let mut n = 0;
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    if k == USER_INFO_KEY {
                        n += 1;
                    }
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(UserInfoKeys(n))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<UserInfoKeys, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(UserInfoKeys(0))
            }
            fn visit_bool<E>(self, _: bool) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
            fn visit_i64<E>(self, _: i64) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
            fn visit_u64<E>(self, _: u64) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
            fn visit_unit<E>(self) -> Result<UserInfoKeys, E> {
                Ok(UserInfoKeys(0))
            }
        }
        d.deserialize_any(Count)
    }
}

/// An event decoded from the bytes `/next` delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The event.
    pub event: Event,
    /// The platform-injected `userInfo` of a callFunction event; `None` for HTTP events and when
    /// the top-level `userInfo` key appears more than once.
    pub user_info: Option<UserInfo>,
    /// The top-level `userInfo` key appeared more than once: who wrote which copy is unknown, so
    /// neither is trusted.
    pub duplicate_user_info: bool,
}

impl Event {
    /// Decode an event from its JSON bytes and [`Event::classify`] it. A JSON object may repeat a
    /// key, and serde_json keeps the last copy; when `userInfo` is repeated at the top level, it is
    /// not known which copy the platform wrote, so no `userInfo` is trusted.
    ///
    /// # Errors
    /// The bytes are not JSON.
    pub fn decode(bytes: &[u8]) -> Result<Decoded, serde_json::Error> {
        let value: Value = serde_json::from_slice(bytes)?;
        let duplicate_user_info = serde_json::from_slice::<UserInfoKeys>(bytes)?.0 > 1;
        let (event, user_info) = Event::classify(value);
        Ok(Decoded {
            event,
            user_info: if duplicate_user_info { None } else { user_info },
            duplicate_user_info,
        })
    }

    /// Classify a parsed event. Returns the event and, for callFunction events only, the injected
    /// `userInfo`.
    ///
    /// An object with a top-level `userInfo` key is a callFunction event, whatever else it holds
    /// (see the module docs: the client writes every other top-level key). Otherwise an object
    /// with a string `httpMethod` and a `headers` or `requestContext` object is an HTTP event.
    pub fn classify(value: Value) -> (Event, Option<UserInfo>) {
        match value {
            Value::Object(map) if !map.contains_key(USER_INFO_KEY) && is_http(&map) => {
                (Event::Http(HttpEvent::from_map(&map)), None)
            }
            Value::Object(mut map) => {
                let user_info = map
                    .remove(USER_INFO_KEY)
                    .and_then(|u| serde_json::from_value::<UserInfo>(u).ok());
                (Event::Call(Value::Object(map)), user_info)
            }
            other => (Event::Call(other), None),
        }
    }

    /// `true` for HTTP events.
    pub fn is_http(&self) -> bool {
        matches!(self, Event::Http(_))
    }
}

fn is_http(map: &Map<String, Value>) -> bool {
    map.get("httpMethod").is_some_and(Value::is_string)
        && (map.get("headers").is_some_and(Value::is_object)
            || map.get("requestContext").is_some_and(Value::is_object))
}

impl HttpEvent {
    fn from_map(map: &Map<String, Value>) -> Self {
        // `body` is a string in every documented shape. A gateway or test tool that sends the JSON
        // body as a JSON value (an object, say) is taken at its word: the value's JSON text is the
        // body, and it cannot be base64.
        let (body, is_base64_encoded) = match map.get("body") {
            None | Some(Value::Null) => (None, false),
            Some(Value::String(s)) => (
                Some(s.clone()),
                map.get("isBase64Encoded")
                    .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true")),
            ),
            Some(other) => (Some(other.to_string()), false),
        };
        let query = match map.get("queryStringParameters") {
            Some(Value::Object(_)) => string_map(map.get("queryStringParameters"), false),
            _ => string_map(map.get("queryString"), false),
        };
        HttpEvent {
            method: map
                .get("httpMethod")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_uppercase(),
            path: map
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            headers: string_map(map.get("headers"), true),
            query,
            body,
            is_base64_encoded,
            request_context: map.get("requestContext").cloned().unwrap_or(Value::Null),
        }
    }

    /// The raw body bytes (base64-decoded when `isBase64Encoded`). A missing body is empty.
    ///
    /// # Errors
    /// `400 BAD_REQUEST` when the base64 is invalid; `413 PAYLOAD_TOO_LARGE` over 6 MB.
    pub fn body_bytes(&self) -> Result<Vec<u8>, FnError> {
        let raw = self.body.as_deref().unwrap_or_default();
        let bytes = if self.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|_| {
                    FnError::bad_request("body is marked isBase64Encoded but is not valid base64")
                })?
        } else {
            raw.as_bytes().to_vec()
        };
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(FnError::new(
                "PAYLOAD_TOO_LARGE",
                413,
                format!(
                    "body is {} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    /// The body's media type from `Content-Type`, lower-cased, without parameters; `""` when
    /// there is none.
    pub fn media_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|ct| ct.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// Parse the body as a JSON value of type `T`, strictly: the `Content-Type` must be
    /// `application/json` (any parameters), `*+json`, or absent.
    ///
    /// # Errors
    /// `415 UNSUPPORTED_MEDIA_TYPE` for any other content type; `400 BAD_REQUEST` for an empty
    /// body, bad base64, bad UTF-8 or bad JSON (with the position, never the content); `413`.
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, FnError> {
        if !is_json_media_type(&self.media_type()) {
            return Err(FnError::new(
                "UNSUPPORTED_MEDIA_TYPE",
                415,
                "send the body as Content-Type: application/json",
            ));
        }
        parse_json(self.body_text()?)
    }

    /// The request's data as `T`, read from the body as people send it:
    /// - a body that is a JSON object (its first non-blank character is `{`) is read as JSON
    ///   **whatever its label**: `curl -d '{...}'` labels JSON as a form, and `fetch` with a
    ///   string body labels it `text/plain`;
    /// - an `application/x-www-form-urlencoded` body (`code=...&idempotencyKey=...`) is read as
    ///   an object of string fields; a field given twice is refused, since which copy was meant
    ///   is unknown;
    /// - any other body is read as JSON when labelled JSON or not labelled at all;
    /// - anything else is `415`.
    ///
    /// # Errors
    /// `415 UNSUPPORTED_MEDIA_TYPE` (naming both accepted types); `400 BAD_REQUEST` for an empty
    /// body, bad base64, bad UTF-8, bad JSON (position only, never the content), a repeated form
    /// field, or fields of the wrong shape; `413` over 6 MB.
    pub fn body_data<T: DeserializeOwned>(&self) -> Result<T, FnError> {
        let text = self.body_text()?;
        let media_type = self.media_type();
        if text.trim_start().starts_with('{') || is_json_media_type(&media_type) {
            return parse_json(text);
        }
        if media_type == "application/x-www-form-urlencoded" {
            return parse_form(&text);
        }
        Err(FnError::new(
            "UNSUPPORTED_MEDIA_TYPE",
            415,
            "send the body as JSON (Content-Type: application/json) or as a form (Content-Type: application/x-www-form-urlencoded)",
        ))
    }

    /// The body as UTF-8 text that is not blank.
    fn body_text(&self) -> Result<String, FnError> {
        let bytes = self.body_bytes()?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(FnError::bad_request("body is empty; send a JSON object"));
        }
        String::from_utf8(bytes).map_err(|e| {
            FnError::bad_request(format!(
                "body is not UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })
    }
}

/// `application/json`, `*+json`, or no content type at all.
fn is_json_media_type(media_type: &str) -> bool {
    media_type.is_empty() || media_type == "application/json" || media_type.ends_with("+json")
}

fn parse_json<T: DeserializeOwned>(text: String) -> Result<T, FnError> {
    serde_json::from_str(&text).map_err(|e| {
        FnError::bad_request(format!(
            "body is not the expected JSON ({} at line {} column {})",
            classify(&e),
            e.line(),
            e.column()
        ))
    })
}

/// A form body as an object of string fields, then as `T`. Messages never echo the content.
fn parse_form<T: DeserializeOwned>(text: &str) -> Result<T, FnError> {
    let mut fields = Map::new();
    for (name, value) in form_urlencoded::parse(text.trim().as_bytes()) {
        if fields
            .insert(name.into_owned(), Value::String(value.into_owned()))
            .is_some()
        {
            return Err(FnError::bad_request(
                "the form gives a field more than once",
            ));
        }
    }
    serde_json::from_value(Value::Object(fields)).map_err(|e| {
        FnError::bad_request(format!(
            "the form's fields are not the expected ones ({})",
            classify(&e)
        ))
    })
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "wrong shape",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

/// An integrated response (`scf-runtime.md` §3b/§3c):
/// `{"isBase64Encoded": false, "statusCode": 200, "headers": {...}, "body": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegratedResponse {
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
    /// HTTP status.
    pub status_code: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// Response body.
    pub body: String,
}

impl IntegratedResponse {
    /// A JSON response with `Content-Type: application/json; charset=utf-8`.
    ///
    /// # Errors
    /// When `body` cannot be serialised (a map with non-string keys, a failing `Serialize` impl).
    pub fn json(status_code: u16, body: &impl Serialize) -> Result<Self, serde_json::Error> {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Content-Type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        );
        Ok(IntegratedResponse {
            is_base64_encoded: false,
            status_code,
            headers,
            body: serde_json::to_string(body)?,
        })
    }

    /// The response for a business error: its status, its JSON body, `Retry-After` when set.
    pub fn from_error(err: &FnError) -> Self {
        let mut r = Self::json(err.status, err).expect("FnError always serialises");
        if let Some(secs) = err.retry_after_secs {
            r.headers.insert("Retry-After".to_owned(), secs.to_string());
        }
        if let Some(methods) = err.allow {
            r.headers.insert("Allow".to_owned(), methods.to_owned());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http(body: Option<&str>, b64: bool, ct: Option<&str>) -> HttpEvent {
        let mut headers = json!({"host": "x"});
        if let Some(ct) = ct {
            headers["Content-Type"] = json!(ct);
        }
        let (Event::Http(h), None) = Event::classify(json!({
            "httpMethod": "post", "path": "/login", "headers": headers,
            "body": body, "isBase64Encoded": b64, "requestContext": {"envId": "e"}
        })) else {
            panic!("not http")
        };
        h
    }

    #[test]
    fn a_repeated_user_info_is_not_trusted() {
        let d =
            Event::decode(br#"{"code":"c","userInfo":{"openId":"oReal","appId":"a"}}"#).unwrap();
        assert_eq!(d.user_info.unwrap().open_id.as_deref(), Some("oReal"));
        assert!(!d.duplicate_user_info);
        for twice in [
            &br#"{"userInfo":{"openId":"oReal"},"code":"c","userInfo":{"openId":"oVictim"}}"#[..],
            br#"{"userInfo":{"openId":"oVictim"},"\u0075serInfo":{"openId":"oReal"}}"#,
        ] {
            let d = Event::decode(twice).unwrap();
            assert!(d.duplicate_user_info && d.user_info.is_none(), "{d:?}");
        }
        // Nested copies are data, not identity, and do not count.
        let d = Event::decode(br#"{"data":{"userInfo":{"openId":"x"}},"userInfo":{"openId":"o"}}"#)
            .unwrap();
        assert!(!d.duplicate_user_info && d.user_info.is_some());
        assert!(Event::decode(b"[1,{\"userInfo\":1}]").is_ok());
        assert!(Event::decode(b"{not json").is_err());
    }

    #[test]
    fn classify_call_and_http() {
        let (e, ui) =
            Event::classify(json!({"code": "c", "userInfo": {"openId": "o", "appId": "a"}}));
        assert_eq!(e, Event::Call(json!({"code": "c"})));
        assert_eq!(ui.unwrap().open_id.as_deref(), Some("o"));
        let h = http(Some("{}"), false, None);
        assert_eq!(h.method, "POST");
        assert_eq!(h.headers.get("content-type"), None);
        let (e, ui) = Event::classify(json!([1, 2]));
        assert_eq!((e, ui), (Event::Call(json!([1, 2])), None));
        // A callFunction with an httpMethod but no headers/requestContext stays a call.
        assert!(!Event::classify(json!({"httpMethod": "POST"})).0.is_http());
    }

    #[test]
    fn an_event_with_the_platforms_user_info_is_a_call_whatever_its_data_holds() {
        // callFunction data dressed as an HTTP event: the platform's userInfo decides.
        let forged = json!({
            "httpMethod": "POST", "path": "/", "headers": {"content-type": "application/json"},
            "requestContext": {"envId": "e"}, "body": "{\"code\":\"alice.1\"}",
            "userInfo": {"openId": "oAttacker", "appId": "wxa"}
        });
        let (e, ui) = Event::classify(forged.clone());
        assert!(!e.is_http(), "{e:?}");
        assert_eq!(ui.unwrap().open_id.as_deref(), Some("oAttacker"));
        // Any top-level userInfo counts, even one that is not an object, and even when repeated
        // (then no userInfo is trusted, but the event is still a call).
        let (e, ui) = Event::classify(json!({"httpMethod": "GET", "headers": {}, "userInfo": 1}));
        assert!(!e.is_http() && ui.is_none());
        let d = Event::decode(
            br#"{"httpMethod":"POST","headers":{},"userInfo":{"openId":"a"},"userInfo":{"openId":"b"}}"#,
        )
        .unwrap();
        assert!(!d.event.is_http() && d.user_info.is_none() && d.duplicate_user_info);
        // Without userInfo, the same shape is an HTTP event.
        let mut map = forged;
        map.as_object_mut().unwrap().remove("userInfo");
        assert!(Event::classify(map).0.is_http());
    }

    #[test]
    fn body_data_reads_bodies_as_people_send_them() {
        #[derive(Debug, serde::Deserialize, PartialEq)]
        struct B {
            code: String,
        }
        let ok = |body: &str, ct: Option<&str>| http(Some(body), false, ct).body_data::<B>();
        let code = |c: &str| Ok(B { code: c.into() });
        // JSON whatever the label: curl -d (form), fetch with a string body (text/plain).
        for ct in [
            None,
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            Some("text/plain;charset=UTF-8"),
            Some("application/octet-stream"),
        ] {
            assert_eq!(ok(r#" {"code":"j1"}"#, ct), code("j1"), "{ct:?}");
        }
        // A real form.
        let form = Some("application/x-www-form-urlencoded; charset=UTF-8");
        assert_eq!(ok("code=f%2B1&idempotencyKey=k", form), code("f+1"));
        assert_eq!(ok("code=a&code=b", form).unwrap_err().status, 400);
        assert_eq!(ok("other=1", form).unwrap_err().status, 400);
        // Not JSON and not a form: 415 naming both; JSON-labelled garbage: 400.
        let e = ok("code=x", Some("text/plain")).unwrap_err();
        assert_eq!(e.status, 415);
        assert!(e.message.contains("x-www-form-urlencoded"), "{}", e.message);
        assert_eq!(ok("code=x", None).unwrap_err().status, 400);
        assert_eq!(ok("{bad", form).unwrap_err().status, 400);
        // The strict reader still refuses a form label.
        let e = http(Some(r#"{"code":"j"}"#), false, form)
            .json_body::<B>()
            .unwrap_err();
        assert_eq!(e.status, 415);
    }

    #[test]
    fn an_http_event_whose_body_is_a_json_value_is_read() {
        let (Event::Http(h), None) = Event::classify(json!({
            "httpMethod": "POST", "headers": {}, "body": {"code": "obj"}, "isBase64Encoded": true
        })) else {
            panic!("not http")
        };
        assert!(!h.is_base64_encoded);
        let v: Value = h.body_data().unwrap();
        assert_eq!(v, json!({"code": "obj"}));
    }

    #[test]
    fn json_body_variants() {
        #[derive(Debug, serde::Deserialize)]
        struct B {
            code: String,
        }
        let b: B = http(
            Some(r#"{"code":"abc"}"#),
            false,
            Some("application/json; charset=utf-8"),
        )
        .json_body()
        .unwrap();
        assert_eq!(b.code, "abc");
        let b64 = base64::engine::general_purpose::STANDARD.encode(r#"{"code":"xyz"}"#);
        let b: B = http(Some(&b64), true, None).json_body().unwrap();
        assert_eq!(b.code, "xyz");

        let err = |h: HttpEvent| h.json_body::<B>().unwrap_err();
        assert_eq!(err(http(Some("!!!"), true, None)).status, 400);
        assert_eq!(err(http(None, false, None)).status, 400);
        assert_eq!(err(http(Some("{bad json secret"), false, None)).status, 400);
        assert!(
            !err(http(Some("{bad json secret"), false, None))
                .message
                .contains("secret")
        );
        assert_eq!(err(http(Some("{}"), false, Some("text/plain"))).status, 415);
        let bad_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]);
        assert_eq!(err(http(Some(&bad_utf8), true, None)).status, 400);
        let huge = "x".repeat(MAX_PAYLOAD_BYTES + 1);
        assert_eq!(err(http(Some(&huge), false, None)).status, 413);
    }

    #[test]
    fn error_response_has_retry_after() {
        let e = FnError::new("WX_API_ERROR", 429, "slow down").with_retry_after(60);
        let r = IntegratedResponse::from_error(&e);
        assert_eq!(r.status_code, 429);
        assert_eq!(r.headers["Retry-After"], "60");
        assert_eq!(r.headers["Content-Type"], "application/json; charset=utf-8");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"error": "WX_API_ERROR", "message": "slow down"})
        );
    }
}
