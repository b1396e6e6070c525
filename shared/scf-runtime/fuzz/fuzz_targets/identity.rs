//! `environ` / `environment` parsing, `context_from_headers`, `cloudbase_context`, and the
//! identity built from them.
//!
//! Input: text. The first line is the `environ` header, the rest (if there is a newline) the
//! `environment` header; the whole text is also parsed both ways. The process environment is
//! synthetic: a name of length divisible by 3 is set to `p:<name>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_runtime::Context;
use scf_runtime::Secret;
use scf_runtime::fuzzing::{
    ContextHeader, ContextVars, IDENTITY_KEYS, Identity, IdentitySource, UserInfo,
    cloudbase_context, context_from_headers, parse_environ, parse_environment,
};
use serde_json::Value;

#[path = "shape.rs"]
mod shape;

fn process_env(k: &str) -> Option<String> {
    (k.len() % 3 == 0).then(|| format!("p:{k}"))
}

/// `parse_environ` by another route: last duplicate wins == first seen from the end.
fn environ_oracle(s: &str) -> ContextVars {
    let mut vars = ContextVars::new();
    for piece in s.rsplit(';') {
        if let Some(eq) = piece.find('=') {
            vars.entry(piece[..eq].to_owned())
                .or_insert_with(|| piece[eq + 1..].to_owned());
        }
    }
    vars
}

fn check_environ(s: &str) -> ContextVars {
    let vars = parse_environ(s);
    assert_eq!(vars, environ_oracle(s));
    for (k, v) in &vars {
        assert!(!k.contains(';') && !k.contains('=') && !v.contains(';'));
    }
    // Serialising back and re-parsing is the identity.
    let joined: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(parse_environ(&joined.join(";")), vars);
    vars
}

fn check_environment(s: &str) -> Option<ContextVars> {
    let parsed = parse_environment(s);
    let value = serde_json::from_str::<Value>(s);
    match (&parsed, value) {
        (Ok(vars), Ok(Value::Null)) => assert!(vars.is_empty()),
        (Ok(vars), Ok(Value::Object(m))) => {
            assert_eq!(vars.len(), m.values().filter(|v| !v.is_null()).count());
            for (k, v) in &m {
                let got = vars.get(k);
                match v {
                    Value::Null => assert_eq!(got, None),
                    Value::String(s) => assert_eq!(got, Some(s)),
                    Value::Array(items) if items.iter().all(Value::is_string) => {
                        let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                        assert_eq!(got, Some(&parts.join(",")));
                    }
                    other => assert_eq!(got, Some(&other.to_string())),
                }
            }
        }
        (Err(e), Ok(v)) => {
            assert!(!v.is_null() && !v.is_object(), "valid object rejected");
            assert_eq!(e.0, "not an object");
        }
        (Err(e), Err(_)) => {
            // Not JSON (where), or JSON our reader cannot take as entries (a nesting deeper than
            // serde_json's limit is a data error to it): a position or a kind, never the input.
            shape::assert_shape(
                "environment",
                &e.to_string(),
                &[
                    "environment is not a JSON object: line # column #",
                    "environment is not a JSON object: not an object",
                ],
            );
        }
        (Ok(_), v) => panic!("accepted a non-object environment: {v:?}"),
    }
    parsed.ok()
}

/// Properties of the merge, not a second copy of it: an oracle that repeats the loop it checks
/// would repeat its mistakes too.
fn check_merge(vars: &ContextVars) {
    let merged = cloudbase_context(vars, process_env);
    // The context goes on top: every context var is there, as given.
    for (k, v) in vars {
        assert_eq!(merged.get(k), Some(v));
    }
    // With nothing in the process environment the merge is the context itself: the rule the
    // recorded Node fixtures show (testdata/node_sdk_context.json, getCloudbaseContext with every
    // WX_/TCB_/SCF_ key removed from process.env).
    assert_eq!(&cloudbase_context(vars, |_| None), vars);
    // Anything else came from the process environment, and only because something named it:
    // the context's own key lists, or a rule that holds for any context (the fixed keys and the
    // process's own lists), which an empty context shows.
    let from_empty = cloudbase_context(&ContextVars::new(), process_env);
    let named_by_context = |k: &str| {
        ["TCB_CONTEXT_KEYS", "WX_CONTEXT_KEYS"]
            .iter()
            .filter_map(|l| vars.get(*l))
            .any(|list| list.split(',').any(|x| x == k))
    };
    for (k, v) in &merged {
        if !vars.contains_key(k) {
            assert_eq!(process_env(k).as_ref(), Some(v), "{k:?} from nowhere");
            assert!(
                named_by_context(k) || from_empty.contains_key(k),
                "{k:?} copied from the process though nothing names it"
            );
        }
    }
    // Merging again changes nothing: what the merge copied is what it would copy.
    assert_eq!(cloudbase_context(&merged, process_env), merged);
}

fn check_identity(vars: &ContextVars) {
    let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).map(String::as_str);
    let id = Identity::from_channels(Some(vars), None);
    assert_eq!(id.openid.as_deref(), get("WX_OPENID"));
    assert_eq!(id.appid.as_deref(), get("WX_APPID"));
    assert_eq!(id.uid.as_deref(), get("TCB_UUID"));
    assert_eq!(
        id.is_anonymous,
        vars.get("TCB_ISANONYMOUS_USER").map(|v| v == "true")
    );
    assert_eq!(
        id.source_channel == IdentitySource::ContextHeader,
        id.openid.is_some() || id.uid.is_some()
    );
    assert_eq!(
        id.source_channel == IdentitySource::None,
        !(id.openid.is_some() || id.uid.is_some())
    );

    // The context header wins over userInfo, field by field.
    let ui = UserInfo {
        app_id: Some("wx-event".into()),
        open_id: Some("o-event".into()),
    };
    let both = Identity::from_channels(Some(vars), Some(&ui));
    assert_eq!(
        both.openid.as_deref(),
        Some(get("WX_OPENID").unwrap_or("o-event"))
    );
    assert_eq!(
        both.appid.as_deref(),
        Some(get("WX_APPID").unwrap_or("wx-event"))
    );
    assert!(both.is_verified());

    // getWXContext view: only its seven fields, straight from the context (never WX_API_TOKEN).
    let view = serde_json::to_value(Context::for_test(id).wx_context()).unwrap();
    let fields = [
        ("OPENID", "WX_OPENID"),
        ("APPID", "WX_APPID"),
        ("UNIONID", "WX_UNIONID"),
        ("CLIENTIP", "WX_CLIENTIP"),
        ("CLIENTIPV6", "WX_CLIENTIPV6"),
        ("ENV", "TCB_ENV"),
        ("SOURCE", "TCB_SOURCE"),
    ];
    let obj = view.as_object().unwrap();
    assert!(obj.keys().all(|k| fields.iter().any(|(f, _)| f == k)));
    for (field, key) in fields {
        assert_eq!(obj.get(field).and_then(Value::as_str), get(key), "{field}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (environ, environment) = match text.split_once('\n') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };

    // Header values are Secrets: Debug / Display never show them.
    let s = Secret::new(text);
    assert_eq!(format!("{s:?}|{s}"), "[redacted]|[redacted]");
    assert_eq!(s.expose(), text);

    check_environ(text);
    check_environment(text);
    let environ_vars = check_environ(environ);
    let environment_vars = environment.map(check_environment);

    for (a, b) in [
        (Some(environ), environment),
        (None, environment),
        (Some(environ), None),
    ] {
        let got = context_from_headers(a, b);
        // The header's vars are the parser's, less the identity keys it reports as repeated
        // (neither copy trusted); every key it drops is a repeated identity key.
        let check = |got: &ContextHeader, parsed: &ContextVars| {
            for key in &got.repeated {
                assert!(IDENTITY_KEYS.contains(key) && !got.vars.contains_key(*key));
            }
            let mut expected = parsed.clone();
            expected.retain(|k, _| !got.repeated.contains(&k.as_str()));
            assert_eq!(got.vars, expected);
        };
        match (b.filter(|s| !s.is_empty()), a) {
            (Some(json), _) => match (got, parse_environment(json)) {
                (Ok(Some(h)), Ok(parsed)) => check(&h, &parsed),
                (got, parsed) => assert!(got.is_err() && parsed.is_err()),
            },
            (None, Some(environ)) => {
                let h = got.unwrap().unwrap();
                check(&h, &environ_vars);
                // An independent count of repeated identity keys in `environ`.
                let keys: Vec<&str> = environ
                    .split(';')
                    .filter_map(|p| p.split_once('=').map(|(k, _)| k))
                    .collect();
                let repeated: Vec<&str> = IDENTITY_KEYS
                    .iter()
                    .copied()
                    .filter(|k| keys.iter().filter(|x| *x == k).count() > 1)
                    .collect();
                assert_eq!(h.repeated, repeated);
            }
            (None, None) => assert_eq!(got, Ok(None)),
        }
    }
    assert_eq!(context_from_headers(None, None), Ok(None));

    for vars in [Some(environ_vars), environment_vars.flatten()]
        .iter()
        .flatten()
    {
        check_merge(vars);
        check_identity(vars);
    }
});
