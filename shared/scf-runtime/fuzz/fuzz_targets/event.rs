//! `/next` body bytes -> `Event::decode` (JSON, `classify`, repeated top-level `userInfo`), then
//! what follows: the identity a callFunction event's `userInfo` gives, and an HTTP event's body
//! decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_runtime::Event;
use scf_runtime::fuzzing::Decoded;
use scf_runtime::fuzzing::UserInfo;
use scf_runtime::{Identity, IdentitySource};
use serde_json::Value;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // As the runtime reads a /next body. Any JSON decodes; anything else is an error.
    let decoded = Event::decode(data);
    let value = serde_json::from_slice::<Value>(data);
    assert_eq!(
        decoded.is_ok(),
        value.is_ok(),
        "decode disagrees with serde_json"
    );
    let (Ok(decoded), Ok(value)) = (decoded, value) else {
        return;
    };
    let (event, classified_user_info) = Event::classify(value.clone());
    assert_eq!(
        Event::classify(value.clone()),
        (event.clone(), classified_user_info.clone()),
        "classify is deterministic"
    );
    let Decoded {
        event: decoded_event,
        user_info,
        duplicate_user_info,
    } = decoded;
    assert_eq!(decoded_event, event);
    if duplicate_user_info {
        // Only a top-level object can repeat its userInfo key; then no userInfo is trusted.
        assert!(
            value
                .as_object()
                .is_some_and(|m| m.contains_key("userInfo"))
        );
        assert!(user_info.is_none());
        assert!(!data.is_empty());
    } else {
        assert_eq!(user_info, classified_user_info);
    }
    let _ = format!("{event:?} {user_info:?}");
    match &event {
        Event::Http(h) => {
            let map = value.as_object().expect("only an object is an HTTP event");
            let method = map.get("httpMethod").and_then(Value::as_str);
            assert!(method.is_some());
            assert!(
                map.get("headers").is_some_and(Value::is_object)
                    || map.get("requestContext").is_some_and(Value::is_object)
            );
            // An event with a top-level userInfo is a callFunction, whatever else it holds.
            assert!(!map.contains_key("userInfo"));
            assert!(user_info.is_none());
            let id = Identity::from_channels(None, user_info.as_ref());
            assert!(!id.is_verified());
            common::check_http(h, map);
        }
        Event::Call(v) => {
            match &value {
                Value::Object(m) => {
                    let mut expected = m.clone();
                    let ui = expected.remove("userInfo");
                    assert_eq!(v, &Value::Object(expected), "only userInfo is removed");
                    assert_eq!(
                        classified_user_info.is_some(),
                        ui.is_some_and(|u| serde_json::from_value::<UserInfo>(u).is_ok())
                    );
                }
                other => {
                    assert_eq!(v, other);
                    assert!(classified_user_info.is_none());
                }
            }
            let id = Identity::from_channels(None, user_info.as_ref());
            let open_id = user_info
                .as_ref()
                .and_then(|u| u.open_id.as_deref())
                .filter(|o| !o.is_empty());
            assert_eq!(id.openid.as_deref(), open_id);
            assert_eq!(
                id.source_channel,
                if open_id.is_some() {
                    IdentitySource::UserInfo
                } else {
                    IdentitySource::None
                }
            );
            assert_eq!(
                id.appid.as_deref(),
                user_info
                    .as_ref()
                    .and_then(|u| u.app_id.as_deref())
                    .filter(|a| !a.is_empty())
            );
        }
    }
});
