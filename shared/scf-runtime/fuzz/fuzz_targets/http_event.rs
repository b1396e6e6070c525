//! HTTP event decoding: `Event::classify` of an HTTP event into an `http::Request<Bytes>` (method,
//! path, query, every header copy, the body decoded once), then `body_bytes` / `json_body`
//! (base64, UTF-8, Content-Type, the 6 MB cap).
//!
//! Input: a small HTTP-like text, so seeds are readable and mutations stay meaningful:
//!
//! ```text
//! POST /login?a=1&b=2 FLAG...
//! content-type: application/json
//! accept: [application/json, */*]
//!
//! {"code":"abc"}
//! ```
//!
//! First line: method, path (a `?query` becomes `queryStringParameters`), then flags:
//! `b64` (`isBase64Encoded: true`), `b64:false`, `b64:TEXT` (the string `TEXT`), `encode` (the
//! harness base64-encodes the body bytes, so any bytes, UTF-8 or not, arrive as valid base64),
//! `huge:N` (a body of 6 MB + N bytes, N in -2..=2), `gw` (API gateway `queryString`), `rc` (no
//! `headers` object, only `requestContext`), `nobody` / `numbody` (no body / a non-string body).
//! Header values `[a, b]` are arrays, `null` is null, `#N` a number. Without an empty line there is
//! no body.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use scf_runtime::{Event, MAX_PAYLOAD_BYTES};
use serde_json::{Map, Value, json};

#[path = "common.rs"]
mod common;

fn header_json(v: &str) -> Value {
    if v == "null" {
        Value::Null
    } else if let Some(n) = v.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
        json!(n)
    } else if let Some(list) = v.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        json!(list.split(',').map(str::trim).collect::<Vec<_>>())
    } else {
        json!(v)
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], Some(&data[i + 2..])),
        None => (data, None),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default();
    let target = first.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: Vec<(&str, &str)> = query
        .split('&')
        .filter(|q| !q.is_empty())
        .map(|q| q.split_once('=').unwrap_or((q, "")))
        .collect();

    let mut b64: Option<Value> = None;
    let (mut encode, mut huge, mut gw, mut rc, mut nobody, mut numbody) =
        (false, None, false, false, false, false);
    for flag in first {
        match flag {
            "b64" => b64 = Some(json!(true)),
            "b64:false" => b64 = Some(json!(false)),
            "encode" => encode = true,
            "gw" => gw = true,
            "rc" => rc = true,
            "nobody" => nobody = true,
            "numbody" => numbody = true,
            f => {
                if let Some(t) = f.strip_prefix("b64:") {
                    b64 = Some(json!(t));
                } else if let Some(n) = f.strip_prefix("huge:").and_then(|n| n.parse::<i64>().ok())
                {
                    huge = Some(n.clamp(-2, 2));
                }
            }
        }
    }

    let mut headers = Map::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_owned(), header_json(v.trim()));
        }
    }

    let body_bytes: Option<Vec<u8>> = match huge {
        Some(n) => Some(vec![b'{'; (MAX_PAYLOAD_BYTES as i64 + n) as usize]),
        None => body.map(<[u8]>::to_vec),
    };
    let body_text: Option<String> = body_bytes.as_ref().map(|b| {
        if encode {
            base64::engine::general_purpose::STANDARD.encode(b)
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    });

    let mut event = Map::new();
    event.insert("httpMethod".into(), json!(method));
    event.insert("path".into(), json!(path));
    event.insert(
        "headers".into(),
        if rc {
            json!("not an object")
        } else {
            Value::Object(headers.clone())
        },
    );
    event.insert(
        "requestContext".into(),
        json!({"requestId": "r-1", "envId": "env-1", "appId": 0, "uin": 0}),
    );
    let query_json: Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    event.insert(
        if gw {
            "queryString"
        } else {
            "queryStringParameters"
        }
        .into(),
        Value::Object(query_json),
    );
    if numbody {
        event.insert("body".into(), json!(5));
    } else if let Some(t) = body_text.as_ref().filter(|_| !nobody) {
        event.insert("body".into(), json!(t));
    }
    if let Some(b) = &b64 {
        event.insert("isBase64Encoded".into(), b.clone());
    }
    // With a top-level userInfo the same object is a callFunction (the platform injects
    // userInfo into callFunction events only; the client writes everything else).
    let mut with_user_info = event.clone();
    with_user_info.insert(
        "userInfo".into(),
        json!({"openId": "platform", "appId": "wx"}),
    );
    assert!(!Event::classify(Value::Object(with_user_info)).0.is_http());

    let (Event::Http(h), None) = Event::classify(Value::Object(event.clone())) else {
        panic!("an object with httpMethod and requestContext is an HTTP event")
    };

    // The conversion and the body readers, against the documented rules.
    common::check_http(&h, &event);
    if rc {
        assert!(h.headers().is_empty());
    }

    // And against what the harness knows it sent.
    let flag = b64
        .as_ref()
        .is_some_and(|v| v == &json!(true) || v == &json!("true"));
    if let (Some(sent), Some(text), false, false) =
        (body_bytes.as_ref(), body_text.as_ref(), nobody, numbody)
    {
        // Flagged: the bytes the harness encoded (text it did not encode is skipped: bad
        // base64, unless it happens to be valid). Not flagged: the text as it was put in.
        let expected: Option<&[u8]> = match (flag, encode) {
            (true, true) => Some(sent),
            (true, false) => None,
            (false, _) => Some(text.as_bytes()),
        };
        // Assert on lengths and statuses: a failure must not print 6 MB of bytes.
        match (h.body_bytes(), expected) {
            (_, None) => {}
            (Err(e), Some(b)) => assert!(
                e.status == 413 && b.len() > MAX_PAYLOAD_BYTES,
                "{} for {} bytes",
                e.status,
                b.len()
            ),
            (Ok(got), Some(b)) => assert!(got == b, "{} bytes, expected {}", got.len(), b.len()),
        }
    }
    if nobody && !numbody {
        assert_eq!(h.body_bytes(), Ok(&b""[..]));
    }
});
