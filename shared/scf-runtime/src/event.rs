//! Event kinds: what `/next` delivered (or web mode built), and which kind it is.
//!
//! Shapes (`docs/platform.md` "Events"): a callFunction event is the caller's `data` plus the injected
//! `userInfo`; an HTTP event (CloudBase HTTP access service or API gateway) carries `httpMethod`,
//! `path`, `headers`, `queryStringParameters` / `queryString`, `body`, `isBase64Encoded` and
//! `requestContext`. Reading the input is `input.rs`; the answer is `response.rs`.
//!
//! **The kind is not the client's to choose.** In a callFunction event every top-level key but
//! `userInfo` is the client's `data`, so a client can make its data look like an HTTP event
//! (`httpMethod`, `headers`, `body`). The one top-level key the client cannot write is the
//! `userInfo` the platform injects, and the platform builds HTTP events itself, without one. So:
//! an event that carries a top-level `userInfo` is a callFunction event, whatever else it holds;
//! only an event without one can be an HTTP event.

use serde_json::{Map, Value};

use serde::de::DeserializeOwned;

use crate::error::FnError;
use crate::http_event::HttpEvent;
use crate::identity::UserInfo;
use crate::input;

/// One invocation's event.
// One `Event` per invocation, moved into the handler once: a boxed variant would save nothing
// and make every match and construction clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `wx.cloud.callFunction` (or any non-HTTP invoke): the caller's data, with `userInfo` removed.
    Call(Value),
    /// An HTTP request: web mode's, or an HTTP access service / API gateway event
    /// (`http_event.rs`).
    Http(HttpEvent),
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
    /// The caller's input as `T`: the callFunction data, or the HTTP body (see the module docs for
    /// the rules). Mirrors what lambda_runtime's `LambdaEvent<T>` gives a handler, for SCF's two
    /// event kinds.
    ///
    /// # Errors
    /// `400 MISSING_<FIELD>`, `400 BAD_REQUEST`; for HTTP also as [`HttpEvent::body_data`]
    /// (`413`, `415`).
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, FnError> {
        let value = match self {
            Event::Call(v) => v.clone(),
            Event::Http(h) => h.body_data::<Value>()?,
        };
        input::from_value(value)
    }

    /// For an HTTP event, `405 METHOD_NOT_ALLOWED` (with `Allow`) unless its method is one of
    /// `allowed` (comma-separated, e.g. `"POST"`); a callFunction has no method and passes.
    ///
    /// # Errors
    /// `405 METHOD_NOT_ALLOWED`.
    pub fn require_method(&self, allowed: &'static str) -> Result<(), FnError> {
        match self {
            Event::Http(h) if !allowed.split(',').any(|m| m.trim() == h.method()) => {
                Err(FnError::method_not_allowed(h.method(), allowed))
            }
            _ => Ok(()),
        }
    }
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
                (Event::Http(HttpEvent::from_gateway(&map)), None)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// An HTTP access event with this body, base64 flag and content type (also for `input.rs`).
    pub(crate) fn http(body: Option<&str>, b64: bool, ct: Option<&str>) -> HttpEvent {
        let mut headers = json!({"host": "x"});
        if let Some(ct) = ct {
            headers["content-type"] = json!(ct);
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
        assert_eq!(h.method(), "POST");
        assert_eq!(h.header("content-type"), None);
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
}
