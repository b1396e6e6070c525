//! Checks shared by several targets (included with `#[path]`; each target uses a subset).
#![allow(dead_code)]

use base64::Engine as _;
use serde_json::Value;
use scf_runtime::{HttpEvent, IntegratedResponse, MAX_PAYLOAD_BYTES};

/// An error of reading an HTTP body, checked by its code and shape, not its wording (a list of
/// known messages rotted the day a message changed): the status names the code; the message is
/// one printable line, bounded; the integrated response carries the same code and message.
/// (That no message echoes the input is the hardening tests' sentinel check: a byte comparison
/// here is fooled by the fuzzer, which learns the messages' own words and feeds them back.)
fn check_error(e: &scf_runtime::FnError, _body: &str) {
    let code = match e.status {
        400 => "BAD_REQUEST",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        s => panic!("unexpected status {s}"),
    };
    assert_eq!(e.error, code);
    let m = e.message.as_str();
    assert!(!m.is_empty() && m.len() <= 300, "message length {}", m.len());
    assert!(!m.chars().any(char::is_control), "a control character in the message");
    // What the runtime answers an HTTP caller with.
    let r = IntegratedResponse::from_error(e);
    assert_eq!(r.status_code, e.status);
    assert!(!r.is_base64_encoded);
    let body: Value = serde_json::from_str(&r.body).expect("error body is JSON");
    assert_eq!(body["error"], code);
    assert_eq!(body["message"], e.message.as_str());
}

/// `Debug` shows names, the method, the path and the body's length: with every header and query
/// value blanked, the body overwritten (same length) and no request context, it is the same.
pub fn check_http_debug(h: &HttpEvent) {
    let mut blank = h.clone();
    blank.headers.values_mut().for_each(String::clear);
    blank.query.values_mut().for_each(String::clear);
    blank.body = h.body.as_ref().map(|b| "#".repeat(b.len()));
    blank.request_context = Value::Null;
    assert_eq!(
        format!("{h:?}"),
        format!("{blank:?}"),
        "HttpEvent Debug shows a value or the body"
    );
}

/// `body_bytes` and `json_body` against an independent reading of their documentation.
pub fn check_http(h: &HttpEvent) {
    check_http_debug(h);
    let raw = h.body.as_deref().unwrap_or_default();
    let bytes = h.body_bytes();
    match &bytes {
        Ok(b) => {
            assert!(b.len() <= MAX_PAYLOAD_BYTES);
            if h.is_base64_encoded {
                // STANDARD decoding is canonical: re-encoding gives the (trimmed) text back.
                assert_eq!(
                    base64::engine::general_purpose::STANDARD.encode(b),
                    raw.trim()
                );
            } else {
                assert_eq!(b.as_slice(), raw.as_bytes());
            }
        }
        Err(e) => {
            check_error(e, raw);
            match e.status {
                400 => assert!(h.is_base64_encoded, "plain bodies are never bad base64"),
                413 => assert!(raw.len() > MAX_PAYLOAD_BYTES || h.is_base64_encoded),
                s => panic!("body_bytes gave {s}"),
            }
        }
    }
    let ct_ok = h.headers.get("content-type").is_none_or(|ct| {
        let mime = ct.split(';').next().unwrap().trim().to_ascii_lowercase();
        mime.is_empty() || mime == "application/json" || mime.ends_with("+json")
    });
    let json = h.json_body::<Value>();
    if let Err(e) = &json {
        check_error(e, raw);
    }
    // body_data reads whatever json_body reads the same way (and more: forms, JSON under any
    // label); its errors have the same shapes.
    let data = h.body_data::<Value>();
    match (&json, &data) {
        (Ok(v), d) => assert_eq!(d.as_ref().ok(), Some(v)),
        (_, Err(e)) => check_error(e, raw),
        (Err(_), Ok(_)) => {}
    }
    if !ct_ok {
        assert_eq!(json.expect_err("415 expected").status, 415);
        return;
    }
    match bytes {
        Err(be) => assert_eq!(json.expect_err("body_bytes failed"), be),
        Ok(b) => match (serde_json::from_slice::<Value>(&b), json) {
            (Ok(expected), Ok(got)) => assert_eq!(expected, got),
            (Err(_), Err(e)) => assert_eq!(e.status, 400),
            (Ok(_), Err(e)) => panic!("valid JSON body rejected: {e:?}"),
            (Err(_), Ok(v)) => panic!("invalid JSON body accepted: {v:?}"),
        },
    }
}
