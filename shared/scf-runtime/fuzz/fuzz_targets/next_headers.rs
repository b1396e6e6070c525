//! The `/runtime/invocation/next` answer: `InvocationHeaders::parse`, then what the runtime does
//! with the rest (context header, event body, identity).
//!
//! Input: an HTTP-style header block, `name: value` lines, then an empty line, then the event
//! body. Headers go into an `http::HeaderMap` (what hyper hands the runtime; invalid names or
//! values are dropped as hyper would refuse them) and are looked up as the runtime does:
//! case-insensitively, non-visible-ASCII values read as absent.
#![no_main]

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use scf_runtime::Event;
use scf_runtime::fuzzing::InvocationHeaders;
use scf_runtime::fuzzing::{Identity, IdentitySource, context_from_headers};

#[path = "common.rs"]
mod common;

fn split(data: &[u8]) -> (HeaderMap, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &b""[..]),
    };
    let mut map = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    (map, body)
}

fuzz_target!(|data: &[u8]| {
    let (map, body) = split(data);
    // As runtime.rs reads them.
    let header = |name: &str| map.get(name).and_then(|v| v.to_str().ok());

    let request_id = header("request_id")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let parsed = InvocationHeaders::parse(header);
    let h = match parsed {
        Err(d) => {
            assert_eq!(d.request_id, request_id.unwrap_or_default());
            match (request_id, header("time_limit_in_ms")) {
                (None, _) | (Some(_), None) => assert_eq!(d.error_code, "MISSING_HEADER"),
                (Some(_), Some(t)) => {
                    assert!(!matches!(t.trim().parse::<u64>(), Ok(ms) if ms > 0));
                    assert_eq!(d.error_code, "BAD_HEADER");
                }
            }
            // Diagnostics never echo a header value.
            assert!(
                [
                    "the /next answer has no request_id header",
                    "the /next answer has no time_limit_in_ms header",
                    "time_limit_in_ms is not a positive integer",
                ]
                .contains(&d.error_message.as_str()),
                "{:?}",
                d.error_message
            );
            let json = serde_json::to_value(&d).unwrap();
            assert_eq!(json["requestId"], d.request_id.as_str());
            return;
        }
        Ok(h) => h,
    };

    assert_eq!(Some(h.request_id.as_str()), request_id);
    let ms = header("time_limit_in_ms")
        .unwrap()
        .trim()
        .parse::<u64>()
        .unwrap();
    assert!(ms > 0);
    assert_eq!(h.time_limit, Duration::from_millis(ms));
    // The runtime's deadline, `received + time_limit`, must not overflow.
    assert!(Instant::now().checked_add(h.time_limit).is_some());
    assert_eq!(
        h.memory_limit_in_mb,
        header("memory_limit_in_mb").and_then(|v| v.trim().parse::<u32>().ok())
    );
    assert_eq!(h.environ.as_ref().map(|s| s.expose()), header("environ"));
    assert_eq!(
        h.environment.as_ref().map(|s| s.expose()),
        header("environment")
    );
    // Debug shows the context headers as [redacted], never their values.
    let shown = |s: &Option<scf_runtime::Secret>| {
        if s.is_some() {
            "Some([redacted])"
        } else {
            "None"
        }
    };
    assert_eq!(
        format!("{h:?}"),
        format!(
            "InvocationHeaders {{ request_id: {:?}, memory_limit_in_mb: {:?}, time_limit: {:?}, environ: {}, environment: {} }}",
            h.request_id,
            h.memory_limit_in_mb,
            h.time_limit,
            shown(&h.environ),
            shown(&h.environment)
        )
    );

    // The rest of the runtime's invocation setup.
    let ctx_vars = context_from_headers(
        h.environ.as_ref().map(|s| s.expose()),
        h.environment.as_ref().map(|s| s.expose()),
    )
    .ok()
    .flatten()
    .map(|h| h.vars);
    let Ok(decoded) = Event::decode(body) else {
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        return;
    };
    let (event, user_info) = (decoded.event, decoded.user_info);
    let identity = Identity::from_channels(ctx_vars.as_ref(), user_info.as_ref());
    let ctx_openid = ctx_vars
        .as_ref()
        .and_then(|v| v.get("WX_OPENID"))
        .filter(|o| !o.is_empty());
    if event.is_http() {
        // An HTTP event's body, headers or userInfo never vouch for a caller.
        assert!(user_info.is_none());
        assert_ne!(identity.source_channel, IdentitySource::UserInfo);
        assert_eq!(identity.openid.as_ref(), ctx_openid);
    } else if let Some(o) = ctx_openid {
        assert_eq!(identity.openid.as_ref(), Some(o));
        assert_eq!(identity.source_channel, IdentitySource::ContextHeader);
    }
    if let Event::Http(h) = &event {
        common::check_readers(h);
    }
});
