//! Checks shared by several targets (included with `#[path]`; each target uses a subset).
#![allow(dead_code)]

use base64::Engine as _;
use scf_runtime::{HttpEvent, IntegratedResponse, MAX_PAYLOAD_BYTES};
use serde_json::{Map, Value};

/// An error of reading an HTTP body, checked by its code and shape, not its wording (a list of
/// known messages rotted the day a message changed): the status names the code; the message is
/// one printable line, bounded; the integrated response carries the same code and message.
/// (That no message echoes the input is the hardening tests' sentinel check: a byte comparison
/// here is fooled by the fuzzer, which learns the messages' own words and feeds them back.)
fn check_error(e: &scf_runtime::FnError) {
    let code = match e.status {
        400 => "BAD_REQUEST",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        s => panic!("unexpected status {s}"),
    };
    assert_eq!(e.error, code);
    let m = e.message.as_str();
    assert!(
        !m.is_empty() && m.len() <= 300,
        "message length {}",
        m.len()
    );
    assert!(
        !m.chars().any(char::is_control),
        "a control character in the message"
    );
    // What the runtime answers an HTTP caller with.
    let r = IntegratedResponse::from_error(e);
    assert_eq!(r.status_code, e.status);
    assert!(!r.is_base64_encoded);
    let body: Value = serde_json::from_str(&r.body).expect("error body is JSON");
    assert_eq!(body["error"], code);
    assert_eq!(body["message"], e.message.as_str());
}

/// `Debug` shows the method, the path, header and query names and the body's length, nothing
/// else.
pub fn check_http_debug(h: &HttpEvent) {
    let names: Vec<_> = h.headers().keys().collect();
    let query: Vec<_> = h.query_pairs().map(|(k, _)| k).collect();
    let expected = format!(
        "HttpEvent {{ method: {:?}, path: {:?}, header_names: {names:?}, query_names: {query:?}, body_len: {}, .. }}",
        h.method(),
        h.path(),
        h.body().len()
    );
    assert_eq!(
        format!("{h:?}"),
        expected,
        "HttpEvent Debug shows a value or the body"
    );
}

/// An HTTP token (RFC 9110 `tchar`), as a method or a header name must be.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A JSON value as header or query text, by the documented rule: a string as is, `null`
/// absent, anything else its JSON text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The conversion of the gateway's JSON event `map` into `h`, against the documented rules
/// (`http_event.rs`'s module docs), then the body readers.
pub fn check_http(h: &HttpEvent, map: &Map<String, Value>) {
    check_http_debug(h);
    // The method upper-cased; a method that is not a token is INVALID.
    let method = map
        .get("httpMethod")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert_eq!(
        h.method(),
        if is_token(&method) {
            method.as_str()
        } else {
            "INVALID"
        }
    );
    // The path: always a visible-ASCII absolute path; a plain one as sent.
    let path = map.get("path").and_then(Value::as_str).unwrap_or_default();
    assert!(h.path().starts_with('/'), "{:?}", h.path());
    assert!(h.path().bytes().all(|b| b.is_ascii_graphic()));
    if path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
    {
        let want = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        assert_eq!(h.path(), want);
    }
    // The query: queryStringParameters when an object, else queryString; every non-null one.
    let query = match map.get("queryStringParameters") {
        Some(Value::Object(q)) => Some(q),
        _ => map.get("queryString").and_then(Value::as_object),
    };
    let expected: Vec<(String, String)> = query
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| text(v).map(|v| (k.clone(), v)))
        .collect();
    assert_eq!(h.query_pairs().count(), expected.len());
    for (k, v) in &expected {
        assert_eq!(h.query(k).as_deref(), Some(v.as_str()), "query {k:?}");
    }
    // Headers: names lower-cased, an array one copy per item, in order; a name or value HTTP
    // cannot carry left out; `header` is the last copy, trimmed.
    // (multiValueHeaders, which takes precedence for the names it lists, has its unit test.)
    let headers = map
        .get("headers")
        .and_then(Value::as_object)
        .filter(|_| !map.contains_key("multiValueHeaders"));
    let mut lowered: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
    for (k, v) in headers.into_iter().flatten() {
        lowered.entry(k.to_ascii_lowercase()).or_default().push(v);
    }
    if headers.is_some() {
        for name in h.headers().keys() {
            assert!(
                lowered.contains_key(name.as_str()),
                "header {name} was not sent"
            );
        }
    }
    for (name, values) in &lowered {
        let [value] = values.as_slice() else {
            continue; // several names lower-case to this one
        };
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let copies: Vec<String> = if is_token(name) {
            items
                .into_iter()
                .filter_map(text)
                .filter(|t| t.bytes().all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t'))
                .collect()
        } else {
            Vec::new()
        };
        let got: Vec<&[u8]> = h
            .headers()
            .get_all(name.as_str())
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        assert_eq!(
            got,
            copies.iter().map(String::as_bytes).collect::<Vec<_>>(),
            "header {name:?}"
        );
        let last = copies.last().map(|c| c.trim()).filter(|c| !c.is_empty());
        assert_eq!(h.header(name), last, "header {name:?}");
    }
    // The body: base64-decoded once when isBase64Encoded (a string body only); over 6 MB 413.
    let encoded = map
        .get("isBase64Encoded")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let expected: Result<Vec<u8>, u16> = match map.get("body") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if encoded => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| 400),
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(other) => Ok(other.to_string().into_bytes()),
    };
    let expected = expected.and_then(|b| {
        if b.len() > MAX_PAYLOAD_BYTES {
            Err(413)
        } else {
            Ok(b)
        }
    });
    let bytes = h.body_bytes();
    match (&bytes, &expected) {
        // Lengths in the message: a failure must not print 6 MB of bytes.
        (Ok(b), Ok(want)) => assert!(*b == want.as_slice(), "{} bytes, expected {}", b.len(), want.len()),
        (Err(e), Err(status)) => {
            check_error(e);
            assert_eq!(e.status, *status);
        }
        (got, want) => panic!(
            "body_bytes: got {:?}, expected {want:?}",
            got.as_ref().map(|b| b.len())
        ),
    }
    check_readers(h);
}

/// `json_body` and `body_data` against an independent reading of their documentation.
pub fn check_readers(h: &HttpEvent) {
    let ct_ok = h.header("content-type").is_none_or(|ct| {
        let mime = ct.split(';').next().unwrap().trim().to_ascii_lowercase();
        mime.is_empty() || mime == "application/json" || mime.ends_with("+json")
    });
    let json = h.json_body::<Value>();
    if let Err(e) = &json {
        check_error(e);
    }
    // body_data reads whatever json_body reads the same way (and more: forms, JSON under any
    // label); its errors have the same shapes.
    let data = h.body_data::<Value>();
    match (&json, &data) {
        (Ok(v), d) => assert_eq!(d.as_ref().ok(), Some(v)),
        (_, Err(e)) => check_error(e),
        (Err(_), Ok(_)) => {}
    }
    if !ct_ok {
        assert_eq!(json.expect_err("415 expected").status, 415);
        return;
    }
    match h.body_bytes() {
        Err(be) => assert_eq!(json.expect_err("body_bytes failed"), be),
        Ok(b) => match (serde_json::from_slice::<Value>(b), json) {
            (Ok(expected), Ok(got)) => assert_eq!(expected, got),
            (Err(_), Err(e)) => assert_eq!(e.status, 400),
            (Ok(_), Err(e)) => panic!("valid JSON body rejected: {e:?}"),
            (Err(_), Ok(v)) => panic!("invalid JSON body accepted: {v:?}"),
        },
    }
}
