//! Typed input: what a handler reads from its event, in one line, the same way for callFunction
//! data and for HTTP bodies.
//!
//! Why a layer: every function used to parse its own input (getLoginTicket spent 43 lines on one
//! field), each with its own error wording. Here the rules are written once:
//! - the input is the callFunction data, or the HTTP body read as people send it
//!   ([`crate::HttpEvent::body_data`]: a JSON object whatever its label, a form, or labelled
//!   JSON), and
//!   it must be a JSON object (serde would read a struct from an array, field by position);
//! - a top-level field that is `null` or a blank string counts as absent;
//! - an absent required field is `400 MISSING_<FIELD>` (the field in SCREAMING_SNAKE_CASE, so
//!   `code` gives `MISSING_CODE`);
//! - anything else that does not fit is `400 BAD_REQUEST` naming the field. Messages never echo a
//!   value: serde's own messages quote the value they refused, so only their "expected ..." part
//!   is kept.
//!
//! Validation beyond the type belongs in the field's type (a newtype with
//! `#[serde(try_from = "String")]`); its error message is passed on after the field's name.
//!
//! The rules are free functions over plain values (a JSON value; a body and its media type), so
//! that [`crate::Event::input`] and the body readers of [`crate::HttpEvent`] live with their
//! types and call them here.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::FnError;
use crate::error_code::ErrorCode;
use crate::value_de::{InputError, ValueDe};

/// Deserialize the input by the rules of the module docs ([`crate::Event::input`]).
pub(crate) fn from_value<T: DeserializeOwned>(mut value: Value) -> Result<T, FnError> {
    // Only an object: serde would otherwise read a struct from an array, field by position.
    let Value::Object(map) = &mut value else {
        return Err(FnError::bad_request(
            "the input must be a JSON object of named fields",
        ));
    };
    map.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())));
    serde_path_to_error::deserialize(ValueDe(value)).map_err(|e| {
        let path = e.path().to_string();
        input_error(&path, e.into_inner())
    })
}

/// The error for serde's error `e` at `path` (`.` for the root), chosen by its kind
/// (`value_de.rs`), never by its wording.
fn input_error(path: &str, e: InputError) -> FnError {
    if let InputError::Missing(field) = e {
        return FnError::new(
            ErrorCode::missing_field(field),
            400,
            format!("`{field}` is missing: send it as a field of the JSON object"),
        );
    }
    // The Display of every other kind says what was expected, never the value sent.
    let detail = e.to_string();
    if path == "." {
        FnError::bad_request(format!("the input must be a JSON object: {detail}"))
    } else {
        FnError::bad_request(format!("`{path}`: {detail}"))
    }
}

/// A body read strictly as JSON ([`crate::HttpEvent::json_body`]): `media_type` must be
/// `application/json`, `*+json`, or empty, and is checked before the body is read (`body`).
pub(crate) fn json_body<'b, T: DeserializeOwned>(
    media_type: &str,
    body: impl FnOnce() -> Result<&'b [u8], FnError>,
) -> Result<T, FnError> {
    if !is_json_media_type(media_type) {
        return Err(FnError::new(
            ErrorCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            "send the body as Content-Type: application/json",
        ));
    }
    parse_json(body_text(body()?)?)
}

/// A body read as people send it ([`crate::HttpEvent::body_data`]).
pub(crate) fn body_data<T: DeserializeOwned>(body: &[u8], media_type: &str) -> Result<T, FnError> {
    let text = body_text(body)?;
    if text.trim_start().starts_with('{') || is_json_media_type(media_type) {
        return parse_json(text);
    }
    if media_type == "application/x-www-form-urlencoded" {
        return parse_form(text);
    }
    Err(FnError::new(
        ErrorCode::UNSUPPORTED_MEDIA_TYPE,
        415,
        "send the body as JSON (Content-Type: application/json) or as a form (Content-Type: application/x-www-form-urlencoded)",
    ))
}

/// The body as UTF-8 text that is not blank (no copy).
fn body_text(bytes: &[u8]) -> Result<&str, FnError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FnError::bad_request("body is empty; send a JSON object"));
    }
    std::str::from_utf8(bytes)
        .map_err(|e| FnError::bad_request(format!("body is not UTF-8 (byte {})", e.valid_up_to())))
}

/// `application/json`, `*+json`, or no content type at all.
fn is_json_media_type(media_type: &str) -> bool {
    media_type.is_empty() || media_type == "application/json" || media_type.ends_with("+json")
}

fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, FnError> {
    serde_json::from_str(text).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::event::tests::http;
    use crate::http_event::HttpEvent;
    use crate::payload::MAX_PAYLOAD_BYTES;
    use base64::Engine as _;
    use serde_json::json;

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

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Login {
        code: String,
        #[serde(rename = "idempotencyKey", default)]
        idempotency_key: Option<String>,
        #[serde(default)]
        count: u32,
    }

    #[test]
    fn typed_input_the_same_for_calls_and_http() {
        let want = Login {
            code: "c1".into(),
            idempotency_key: Some("k".into()),
            count: 0,
        };
        let call = Event::Call(json!({"code": "c1", "idempotencyKey": "k", "other": 1}));
        assert_eq!(call.input::<Login>().unwrap(), want);
        let form = Event::Http(http(
            Some("code=c1&idempotencyKey=k"),
            false,
            Some("application/x-www-form-urlencoded"),
        ));
        assert_eq!(form.input::<Login>().unwrap(), want);
        let json = Event::Http(http(
            Some(r#"{"code":"c1","idempotencyKey":"k"}"#),
            false,
            None,
        ));
        assert_eq!(json.input::<Login>().unwrap(), want);
    }

    #[test]
    fn input_errors_are_uniform_and_never_echo_values() {
        let err = |v: Value| {
            let e = Event::Call(v).input::<Login>().unwrap_err();
            (e.error.as_str().to_owned(), e.status, e.message)
        };
        for absent in [json!({}), json!({"code": null}), json!({"code": "  "})] {
            assert_eq!(err(absent).0, "MISSING_CODE");
        }
        let (code, status, message) = err(json!({"code": "s3cret", "count": "s3cret"}));
        assert_eq!((code.as_str(), status), ("BAD_REQUEST", 400));
        assert!(message.starts_with("`count`: expected u32"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
        let (code, _, message) = err(json!({"code": {"nested": "s3cret"}}));
        assert_eq!(code, "BAD_REQUEST");
        assert!(
            message.contains("`code`") && !message.contains("s3cret"),
            "{message}"
        );
        for not_object in [json!(null), json!([1]), json!("s3cret")] {
            let (code, _, message) = err(not_object);
            assert_eq!(code, "BAD_REQUEST");
            assert!(
                message.starts_with("the input must be a JSON object"),
                "{message}"
            );
            assert!(!message.contains("s3cret"));
        }
    }

    #[test]
    fn methods() {
        let post = Event::Http(http(None, false, None));
        assert!(post.require_method("POST").is_ok());
        assert!(post.require_method("GET, POST").is_ok());
        let e = post.require_method("GET").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET")));
        assert!(Event::Call(json!({})).require_method("POST").is_ok());
    }

    /// The kind decides, not the wording: a field type's own message that reads like serde's
    /// "missing field" is a `BAD_REQUEST` naming the field, not `MISSING_*`. It was
    /// `MISSING_SUBFIELD` while the kind was parsed back out of serde_json's message.
    #[test]
    fn a_message_that_reads_like_a_missing_field_is_not_one() {
        #[derive(Debug, serde::Deserialize)]
        struct In {
            #[allow(dead_code)]
            code: Code,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(try_from = "String")]
        struct Code;
        impl TryFrom<String> for Code {
            type Error = String;
            fn try_from(_: String) -> Result<Self, String> {
                Err("missing field `subfield` in the code".into())
            }
        }
        let e = Event::Call(json!({"code": "x"})).input::<In>().unwrap_err();
        assert_eq!((e.error.as_str(), e.status), ("BAD_REQUEST", 400));
        assert!(
            e.message.starts_with("`code`: missing field `subfield`"),
            "{}",
            e.message
        );
    }

    /// `json_body` checks the media type before it reads the body: a body of another type is
    /// 415 even when its bytes cannot be decoded (`make fuzz-smoke` found the order reversed).
    #[test]
    fn json_body_checks_the_type_first() {
        let e = http(Some("!!"), true, Some("text/plain"))
            .json_body::<Value>()
            .unwrap_err();
        assert_eq!(e.status, 415);
        let e = http(Some("!!"), true, None)
            .json_body::<Value>()
            .unwrap_err();
        assert_eq!(e.status, 400);
    }
}
