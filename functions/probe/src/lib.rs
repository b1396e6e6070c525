//! probe: on a first deploy, reports what the platform really gives a custom-runtime function,
//! as **names and shapes, never values**, to settle the open questions of `docs/platform.md`
//! (how to run it and read the answer: `docs/probe.md`).
//!
//! The answer (callFunction: a JSON object; HTTP: the same as a `200` JSON body):
//! - `mode`: `"event"` (SCF runtime API) or `"web"` (`--web`, a CloudBase HTTP function);
//! - `next`: the `/runtime/invocation/next` header names (event mode), or why there are none;
//! - `event`: `kind` (`call` / `http`), `topLevelKeys`, and `userInfoKeys` (callFunction) or
//!   `headerNames`, `queryNames`, `body` (its size), `requestContext` shapes (HTTP);
//! - `contextHeader`: the `environ` / `environment` key names;
//! - `identity`: which platform channel vouched for the caller, ids as `"present, N characters"`;
//! - `caller`: what the `Caller` extractor makes of this call end to end (the platform channels, then
//!   an access token checked against the env's key set): the channel and id lengths, or the error
//!   and its `reason` (`wrong_issuer`, `wrong_env`, `unknown_key`, ... say which setting is off);
//! - `cloudbaseContext`: per copy of `X-Cloudbase-Context`, its keys' shapes (nested: `meta`,
//!   `wechatContext`) and its `accessToken` as a JWT shape (`alg`, `kid` present or not, claim
//!   shapes); `authorization`: the same for an `Authorization: Bearer` token; `x-wx-openid` as a
//!   length;
//! - `marker`: whether the marker the caller sent (header `x-probe-marker`, or field / query
//!   `marker`) survived inside `X-Cloudbase-Context` or `x-wx-openid`: the test of whether the
//!   gateway strips a client's forged copies;
//! - `envNames`, `folders` (cwd, exe folder, which are writable), `caBundles`;
//! - `jwks`: whether the env's key set answers from inside (only when asked: `jwks`);
//! - `limits`: `timeLimitMs`, `memoryLimitInMb`; `logs`: the lines written to stdout and stderr.
//!
//! Shapes follow one rule (`shapes.rs`): ids become lengths, everything else a type; no value
//! leaves the function, in the answer or in a log.
//!
//! Errors: `400 BAD_REQUEST` for a callFunction event that is not a JSON object (callFunction
//! `data` always is one).

mod host;
pub mod jwks;
pub mod shapes;

use scf_runtime::{
    Caller, ChannelNames, Context, Event, FnError, FromContext, HttpEvent, Identity, WEB_FLAG,
};
use serde_json::{Map, Value, json};

use shapes::{cloudbase_context, jwt_shape, object_shape, present};

/// The line written to stdout on every invocation (look for it in the CloudBase log console).
pub const STDOUT_LINE: &str = "PROBE-STDOUT-LINE: stdout is collected";
/// The line written to stderr on every invocation: if the log console shows it, stderr is
/// collected too.
pub const STDERR_LINE: &str = "PROBE-STDERR-LINE: stderr is collected";
/// The header (or, lower-case, the field / query parameter `marker`) a caller puts its marker in.
pub const MARKER_HEADER: &str = "x-probe-marker";

/// The handler.
///
/// # Errors
/// `400 BAD_REQUEST` for a callFunction event that is not a JSON object.
pub async fn handle(event: Event, ctx: Context) -> Result<Value, FnError> {
    let web = std::env::args().skip(1).any(|a| a == WEB_FLAG);
    let report = report(&event, &ctx, web)?;
    // Written directly (not through tracing) so each line is the same, easy to search for.
    println!("{STDOUT_LINE}");
    eprintln!("{STDERR_LINE}");
    let jwks = if asks_for_jwks(&event) {
        jwks::check(ctx.remaining()).await
    } else {
        json!("not checked: send {\"jwks\": true} (callFunction data or JSON body) or ?jwks=1")
    };
    let mut report = report;
    report["jwks"] = jwks;
    // May fetch the key set (or ask introspect) when a token came: within the deadline.
    report["caller"] = match Caller::from_context(&ctx).await {
        Ok(caller) => {
            let id = &caller.0;
            let mut shown = identity(id);
            // A verified user token without an openid: does /auth/v1/user/me name the
            // customUserId (the openid, for getLoginTicket's tickets)?
            if id.source_channel == scf_runtime::IdentitySource::AccessToken
                && id.openid.is_none()
                && !caller.is_anonymous()
            {
                shown["customUserId"] = match caller.with_openid(&ctx).await {
                    Ok(r) => r
                        .custom_user_id
                        .as_deref()
                        .map_or(json!("absent: no custom provider"), |c| json!(present(c))),
                    Err(e) => json!({"error": e.error}),
                };
            }
            shown
        }
        Err(e) => json!({"error": e.error, "reason": e.extra.get("reason")}),
    };
    Ok(report)
}

/// Everything but the key-set check, from the event and the context (no I/O but the folder
/// checks).
///
/// # Errors
/// `400 BAD_REQUEST` for a callFunction event that is not a JSON object.
pub fn report(event: &Event, ctx: &Context, web: bool) -> Result<Value, FnError> {
    let channels = ChannelNames::of(ctx);
    let channels = channels.as_ref();
    let mut r = json!({
        "probe": 1,
        "mode": if web { "web" } else { "event" },
        "next": match channels {
            Some(c) => json!({"headerNames": c.next_headers}),
            None => json!("not applicable: no /next (web mode)"),
        },
        "contextHeader": match channels {
            Some(c) => json!({"keys": c.context_keys}),
            None => json!("not applicable: no /next (web mode)"),
        },
        "identity": identity(&ctx.identity),
        "envNames": host::env_names(),
        "folders": host::folders(),
        "caBundles": host::ca_bundles(),
        "limits": {
            "timeLimitMs": ctx.time_limit.as_millis() as u64,
            "memoryLimitInMb": ctx.memory_limit_in_mb,
        },
        "logs": {"stdout": STDOUT_LINE, "stderr": STDERR_LINE},
    });
    let top_keys = channels.map(|c| c.event_keys.clone());
    match event {
        Event::Call(Value::Object(data)) => {
            r["event"] = json!({
                "kind": "call",
                "topLevelKeys": top_keys.unwrap_or_else(|| data.keys().cloned().collect()),
                "userInfoKeys": channels.map(|c| c.user_info_keys.clone()),
            });
            r["marker"] = json!("not applicable: a callFunction event has no HTTP headers");
        }
        Event::Call(_) => {
            return Err(FnError::bad_request(
                "the probe reads a JSON object event: {} or {\"jwks\": true}",
            ));
        }
        Event::Http(h) => {
            r["event"] = http_event(h, top_keys);
            let marker = marker_of(h);
            let (context, in_context) = match h.header("x-cloudbase-context") {
                Some(v) => {
                    let (shape, found) =
                        cloudbase_context(v, marker.as_ref().ok().map(String::as_str));
                    (shape, found)
                }
                None => (json!("absent"), false),
            };
            r["cloudbaseContext"] = context;
            r["authorization"] = match h.header("authorization") {
                None => json!("absent"),
                Some(v) => match v.split_once(' ') {
                    Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                        json!({"scheme": "Bearer", "jwt": jwt_shape(token.trim())})
                    }
                    _ => json!("present, not a Bearer token"),
                },
            };
            let wx_openid = h.header("x-wx-openid");
            r["x-wx-openid"] = wx_openid.map_or(json!("absent"), |v| json!(present(v)));
            r["marker"] = match &marker {
                Err(why) => json!(why),
                Ok(m) => json!({
                    "inCloudbaseContext": in_context,
                    "inXWxOpenid": wx_openid.is_some_and(|v| v.contains(m.as_str())),
                    "inOtherHeaders": h.headers().iter()
                        .filter(|(k, v)| {
                            !matches!(k.as_str(), MARKER_HEADER | "x-wx-openid" | "x-cloudbase-context")
                                && String::from_utf8_lossy(v.as_bytes()).contains(m.as_str())
                        })
                        .map(|(k, _)| k.as_str())
                        .collect::<std::collections::BTreeSet<_>>(),
                }),
            };
        }
    }
    Ok(r)
}

fn identity(id: &Identity) -> Value {
    let show = |v: &Option<String>| v.as_deref().map_or(json!("absent"), |s| json!(present(s)));
    json!({
        "channel": id.source_channel,
        "openid": show(&id.openid),
        "appid": show(&id.appid),
        "unionid": show(&id.unionid),
        "uid": show(&id.uid),
        "env": show(&id.env),
        "isAnonymous": id.is_anonymous,
        // Which key set served the token's kid (or introspect): never a URL.
        "tokenCheck": id.token_check,
    })
}

fn http_event(h: &HttpEvent, top_keys: Option<Vec<String>>) -> Value {
    let request_context = match &h.request_context {
        Value::Object(m) => Value::Object(object_shape(m, 1)),
        Value::Null => json!("absent"),
        _ => json!("not an object"),
    };
    json!({
        "kind": "http",
        // Web mode builds the event itself: its keys say nothing about the platform.
        "topLevelKeys": top_keys.map_or(json!("not applicable: web mode builds the event"), |k| json!(k)),
        "headerNames": h.headers().keys().map(|k| k.as_str()).collect::<std::collections::BTreeSet<_>>(),
        "queryNames": h.query_pairs().map(|(k, _)| k).collect::<std::collections::BTreeSet<_>>(),
        // The body as the runtime decoded it (base64 undone): its length only.
        "body": match h.body().len() {
            0 => json!("absent"),
            n => json!(format!("{n} bytes")),
        },
        "requestContext": request_context,
    })
}

/// A marker must be 8-128 characters of `A-Z a-z 0-9 _ - .`: long enough not to match by
/// chance, and plain enough to survive any encoding unchanged.
fn valid_marker(m: &str) -> bool {
    (8..=128).contains(&m.len())
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The caller's marker: the `x-probe-marker` header, else the `marker` query parameter, else a
/// `marker` string in a JSON body. `Err` is the sentence for the report.
fn marker_of(h: &HttpEvent) -> Result<String, String> {
    let from_body = || {
        serde_json::from_slice::<Map<String, Value>>(h.body())
            .ok()
            .and_then(|m| m.get("marker").and_then(Value::as_str).map(str::to_owned))
    };
    let m = h
        .header(MARKER_HEADER)
        .map(str::to_owned)
        .or_else(|| h.query("marker"))
        .or_else(from_body)
        .ok_or_else(|| {
            "no marker sent: send x-probe-marker: <8-128 letters, digits, _ - .> and put the same text in a forged X-Cloudbase-Context and x-wx-openid (docs/probe.md)".to_owned()
        })?;
    if valid_marker(&m) {
        Ok(m)
    } else {
        Err("marker refused: it must be 8-128 letters, digits, _ - or .".into())
    }
}

fn asks_for_jwks(event: &Event) -> bool {
    let yes = |v: Option<&Value>| {
        matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str) == Some("1")
    };
    match event {
        Event::Call(data) => yes(data.get("jwks")),
        Event::Http(h) => {
            h.query("jwks").is_some_and(|v| v == "1" || v == "true")
                || h.header("x-probe-jwks").is_some_and(|v| v == "1")
                || serde_json::from_slice::<Map<String, Value>>(h.body())
                    .is_ok_and(|m| yes(m.get("jwks")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_runtime::ChannelNames;

    fn http(headers: Value, query: Value, body: Option<&str>) -> Event {
        let mut e = json!({
            "httpMethod": "POST", "path": "/probe", "headers": headers,
            "queryStringParameters": query, "requestContext": {"envId": "envSECRET", "requestId": "r"},
        });
        if let Some(b) = body {
            e["body"] = json!(b);
        }
        Event::classify(e).0
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_call_event_in_event_mode() {
        let id = Identity {
            openid: Some("oSECRET".into()),
            source_channel: scf_runtime::IdentitySource::UserInfo,
            ..Identity::default()
        };
        let mut ctx = Context::for_test(id);
        ctx.extensions.insert(ChannelNames {
            next_headers: vec!["environ".into(), "request_id".into()],
            context_keys: vec!["WX_OPENID".into()],
            user_info_keys: vec!["appId".into(), "openId".into()],
            event_keys: vec!["a".into(), "userInfo".into()],
        });
        let r = report(&Event::Call(json!({"a": "SECRET"})), &ctx, false).unwrap();
        assert_eq!(r["mode"], "event");
        assert_eq!(r["next"]["headerNames"], json!(["environ", "request_id"]));
        assert_eq!(r["contextHeader"]["keys"], json!(["WX_OPENID"]));
        assert_eq!(r["event"]["kind"], "call");
        assert_eq!(r["event"]["topLevelKeys"], json!(["a", "userInfo"]));
        assert_eq!(r["event"]["userInfoKeys"], json!(["appId", "openId"]));
        assert_eq!(r["identity"]["channel"], "userInfo");
        assert_eq!(r["identity"]["openid"], "present, 7 characters");
        assert_eq!(r["limits"]["timeLimitMs"], 3000);
        assert!(!r.to_string().contains("SECRET"), "{r}");
        // The whole handler: no key-set fetch unless asked.
        let full = handle(Event::Call(json!({})), ctx).await.unwrap();
        assert!(full["jwks"].as_str().unwrap().starts_with("not checked"));
        let e = report(
            &Event::Call(json!([1])),
            &Context::for_test(Identity::default()),
            false,
        )
        .unwrap_err();
        assert_eq!((e.error.as_ref(), e.status), ("BAD_REQUEST", 400));
    }

    #[test]
    fn an_http_event_in_web_mode_with_a_marker() {
        let marker = "M-0123456789";
        let ev = http(
            json!({"X-Probe-Marker": marker, "x-wx-openid": format!("o-{marker}"), "x-other": marker,
                   "Authorization": "Basic SECRET"}),
            json!({"q": "SECRET"}),
            Some(r#"{"x":"SECRET"}"#),
        );
        let r = report(&ev, &Context::for_test(Identity::default()), true).unwrap();
        assert_eq!(r["mode"], "web");
        assert!(r["next"].as_str().unwrap().starts_with("not applicable"));
        assert_eq!(r["event"]["kind"], "http");
        assert_eq!(r["event"]["queryNames"], json!(["q"]));
        assert_eq!(
            r["event"]["requestContext"]["envId"],
            "present, 9 characters"
        );
        assert_eq!(r["cloudbaseContext"], "absent");
        assert_eq!(r["authorization"], "present, not a Bearer token");
        assert_eq!(r["x-wx-openid"], "present, 14 characters");
        assert_eq!(r["marker"]["inXWxOpenid"], true);
        assert_eq!(r["marker"]["inCloudbaseContext"], false);
        assert_eq!(r["marker"]["inOtherHeaders"], json!(["x-other"]));
        assert!(!r.to_string().contains("SECRET"), "{r}");
        assert!(!r.to_string().contains(marker), "{r}");
    }

    #[test]
    fn markers_from_query_or_body_and_bad_ones() {
        let q = http(json!({}), json!({"marker": "Q-marker-1"}), None);
        let Event::Http(h) = &q else { panic!() };
        assert_eq!(marker_of(h).unwrap(), "Q-marker-1");
        let b = http(
            json!({}),
            json!({}),
            Some(r#"{"marker":"B-marker-1","jwks":true}"#),
        );
        let Event::Http(h) = &b else { panic!() };
        assert_eq!(marker_of(h).unwrap(), "B-marker-1");
        assert!(asks_for_jwks(&b));
        for bad in ["short", "has space in it", &"x".repeat(129)] {
            let e = http(json!({"x-probe-marker": bad}), json!({}), None);
            let Event::Http(h) = &e else { panic!() };
            assert!(
                marker_of(h).unwrap_err().starts_with("marker refused"),
                "{bad}"
            );
        }
        let none = http(json!({}), json!({}), None);
        let Event::Http(h) = &none else { panic!() };
        assert!(marker_of(h).unwrap_err().starts_with("no marker sent"));
        assert!(!asks_for_jwks(&none));
        assert!(asks_for_jwks(&Event::Call(json!({"jwks": true}))));
        assert!(asks_for_jwks(&http(json!({}), json!({"jwks": "1"}), None)));
    }
}
