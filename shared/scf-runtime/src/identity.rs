//! Caller identity and CloudBase context variables.
//!
//! Identity is taken **only** from channels the platform controls:
//! 1. `event.userInfo {openId, appId}`, which `wx.cloud.callFunction` injects into a callFunction
//!    event (never read from an HTTP event: its fields are written by the HTTP client);
//! 2. an `environ` (`KEY=VALUE;...`) or `environment` (JSON object string) header on
//!    `/runtime/invocation/next`, if the platform sends one (UNCONFIRMED for CustomRuntime:
//!    `docs/platform.md` "Identity channels").
//!
//! Identity keys (`WX_OPENID`, `TCB_UUID`, ...) are never taken from the process environment: in a
//! custom runtime it is fixed at start and shared by every caller.
//!
//! Parsing mirrors `@cloudbase/node-sdk` `parseContext` / `getCloudbaseContext` (3.18.3,
//! `src/utils/tcbcontext.ts`), tested against fixtures recorded from that SDK in
//! `testdata/node_sdk_context.json`, with one deliberate difference: values stay strings and key
//! lists are split where they are used, so a value containing commas never breaks
//! `WX_CONTEXT_KEYS` / `TCB_CONTEXT_KEYS` (node-sdk turns such values into arrays and then fails,
//! silently, to split the key lists).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-invocation context variables (`WX_OPENID`, `TCB_ENV`, ...), values as strings.
pub type ContextVars = BTreeMap<String, String>;

/// The context keys [`Identity::from_channels`] reads. When one of them comes more than once in
/// a context header, which copy the platform wrote is unknown, so neither is trusted (as with a
/// repeated top-level `userInfo`).
pub const IDENTITY_KEYS: &[&str] = &[
    "WX_OPENID",
    "WX_APPID",
    "WX_UNIONID",
    "WX_CLIENTIP",
    "WX_CLIENTIPV6",
    "TCB_SOURCE",
    "TCB_ENV",
    "TCB_UUID",
    "TCB_CUSTOM_USER_ID",
    "TCB_ISANONYMOUS_USER",
];

/// The `KEY=VALUE` pieces of an `environ` string, in order, repeats included.
fn environ_entries(environ: &str) -> impl Iterator<Item = (&str, &str)> {
    environ.split(';').filter_map(|piece| piece.split_once('='))
}

/// Parse an old-architecture `environ` string: `KEY=VALUE;KEY=VALUE`.
///
/// Like node-sdk: pieces are split on `;`, a piece without `=` is dropped, the key/value split is
/// at the first `=`, an empty value is kept, the last duplicate wins. There is no escaping, so a
/// `;` inside a value cannot be represented (node-sdk has the same limit). Values may be any
/// UTF-8. ([`context_from_headers`] then drops repeated identity keys.)
pub fn parse_environ(environ: &str) -> ContextVars {
    environ_entries(environ)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Why an `environment` string could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentError(pub String);

impl std::fmt::Display for EnvironmentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "environment is not a JSON object: {}", self.0)
    }
}

/// Parse a new-architecture `environment` string: a JSON object.
///
/// Values that are not strings are kept as their text form: numbers and booleans as JSON text,
/// arrays of strings joined with `,`, other arrays and objects as compact JSON; `null` values
/// are dropped. `"null"` gives an empty map (as node-sdk's `getCloudbaseContext` does).
///
/// # Errors
/// [`EnvironmentError`] when the string is not JSON or not an object. The message gives the
/// position only, never the content.
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_environment(environment: &str) -> Result<ContextVars, EnvironmentError> {
    Ok(environment_vars(&environment_entries(environment)?))
}

/// The variables of an `environment` object's members: the **last** copy of a key wins, and a
/// last copy that is `null` leaves the key out (an earlier value does not come back).
fn environment_vars(entries: &[(String, serde_json::Value)]) -> ContextVars {
    let mut vars = ContextVars::new();
    for (k, v) in entries {
        match value_to_string(v.clone()) {
            Some(v) => vars.insert(k.clone(), v),
            None => vars.remove(k),
        };
    }
    vars
}

/// The members of an `environment` object, in order, repeats included (serde_json's own map
/// would keep the last copy silently); `null` has none.
fn environment_entries(
    environment: &str,
) -> Result<Vec<(String, serde_json::Value)>, EnvironmentError> {
    struct Entries(Vec<(String, serde_json::Value)>);
    impl<'de> serde::Deserialize<'de> for Entries {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Entries;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object or null")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Entries, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(entry) = m.next_entry()? {
                        entries.push(entry);
                    }
                    Ok(Entries(entries))
                }
                fn visit_unit<E>(self) -> Result<Entries, E> {
                    Ok(Entries(Vec::new()))
                }
            }
            d.deserialize_any(Visitor)
        }
    }
    serde_json::from_str::<Entries>(environment)
        .map(|e| e.0)
        .map_err(|e| {
            if e.is_data() {
                EnvironmentError("not an object".into())
            } else {
                EnvironmentError(format!("line {} column {}", e.line(), e.column()))
            }
        })
}

fn value_to_string(v: serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(items) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// A context header (`environ` or `environment`), parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextHeader {
    /// The variables, without the [`IDENTITY_KEYS`] that came more than once.
    pub vars: ContextVars,
    /// The [`IDENTITY_KEYS`] that came more than once, in [`IDENTITY_KEYS`] order: neither copy is
    /// trusted, so they are not in `vars`. Names only; log these, never values.
    pub repeated: Vec<&'static str>,
}

impl ContextHeader {
    /// Build from the header's keys in order (repeats included) and its last-wins variables.
    fn new<'k>(keys: impl Iterator<Item = &'k str>, mut vars: ContextVars) -> Self {
        let mut counts = [0usize; IDENTITY_KEYS.len()];
        for key in keys {
            if let Some(i) = IDENTITY_KEYS.iter().position(|k| *k == key) {
                counts[i] += 1;
            }
        }
        let repeated: Vec<&'static str> = IDENTITY_KEYS
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| *k)
            .collect();
        for key in &repeated {
            vars.remove(*key);
        }
        ContextHeader { vars, repeated }
    }
}

/// The context from the `/next` headers, as node-sdk `parseContext` picks it: a non-empty
/// `environment` wins outright; otherwise `environ`; neither gives `None`. Unlike node-sdk, an
/// identity key given more than once is dropped (see [`ContextHeader::repeated`]).
///
/// # Errors
/// A malformed `environment` is returned as [`EnvironmentError`]; the caller logs it and
/// continues without context identity.
pub fn context_from_headers(
    environ: Option<&str>,
    environment: Option<&str>,
) -> Result<Option<ContextHeader>, EnvironmentError> {
    match (environment.filter(|s| !s.is_empty()), environ) {
        (Some(json), _) => {
            let entries = environment_entries(json)?;
            let keys = entries.iter().map(|(k, _)| k.as_str());
            Ok(Some(ContextHeader::new(keys, environment_vars(&entries))))
        }
        (None, Some(environ)) => Ok(Some(ContextHeader::new(
            environ_entries(environ).map(|(k, _)| k),
            parse_environ(environ),
        ))),
        (None, None) => Ok(None),
    }
}

/// Process-environment keys node-sdk `getCloudbaseContext` always copies.
#[cfg(any(test, feature = "fuzzing"))]
const BASE_PROCESS_KEYS: &[&str] = &[
    "TRIGGER_SRC",
    "_SCF_TCB_LOG",
    "SCF_NAMESPACE",
    "TENCENTCLOUD_RUNENV",
    "TENCENTCLOUD_SECRETID",
    "TENCENTCLOUD_SECRETKEY",
    "TENCENTCLOUD_SESSIONTOKEN",
    "WX_CONTEXT_KEYS",
    "WX_TRIGGER_API_TOKEN_V0",
    "WX_CLIENTIP",
    "WX_CLIENTIPV6",
    "TCB_CONTEXT_KEYS",
    "TCB_CONTEXT_CNFG",
    "LOGINTYPE",
];

// Not called by any function: kept, built for tests and the fuzz targets only, as the checked
// model of node-sdk's context merge (which keys a function could read), for the day one needs it.
#[cfg(any(test, feature = "fuzzing"))]
/// The merged CloudBase context, as node-sdk `getCloudbaseContext(context)` builds it:
/// the fixed process keys, then every key named in `TCB_CONTEXT_KEYS` / `WX_CONTEXT_KEYS`
/// (context value, else process value), then all context vars on top. Empty values are dropped
/// where node-sdk drops `undefined`.
///
/// `process_env` looks a name up in the process environment (pass `|k| std::env::var(k).ok()`).
/// Unlike node-sdk the key lists are always split from strings (see the module docs).
/// This map can hold credentials (`TENCENTCLOUD_SECRETKEY`, `WX_API_TOKEN`): never log it.
pub fn cloudbase_context(
    context: &ContextVars,
    process_env: impl Fn(&str) -> Option<String>,
) -> ContextVars {
    let mut merged = ContextVars::new();
    for key in BASE_PROCESS_KEYS {
        if let Some(v) = process_env(key) {
            merged.insert((*key).to_owned(), v);
        }
    }
    for list_key in ["TCB_CONTEXT_KEYS", "WX_CONTEXT_KEYS"] {
        let list = context
            .get(list_key)
            .cloned()
            .or_else(|| process_env(list_key));
        for key in list
            .iter()
            .flat_map(|l| l.split(','))
            .filter(|k| !k.is_empty())
        {
            let value = context
                .get(key)
                .filter(|v| !v.is_empty())
                .cloned()
                .or_else(|| process_env(key));
            if let Some(v) = value {
                merged.insert(key.to_owned(), v);
            }
        }
    }
    merged.extend(context.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

/// `userInfo` as `wx.cloud.callFunction` injects it into the event: `{appId, openId}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Mini program AppID.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Caller's OPENID.
    #[serde(default)]
    pub open_id: Option<String>,
}

/// Which platform channel provided the identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentitySource {
    /// No platform channel carried an identity (HTTP event, or nothing injected).
    #[default]
    None,
    /// `event.userInfo` of a callFunction event.
    UserInfo,
    /// The `environ` / `environment` header on `/next`.
    ContextHeader,
    /// A CloudBase access token whose signature and claims were verified (`auth/`).
    AccessToken,
    /// `wechatContext` of `X-Cloudbase-Context`, trusted only with `TCB_TRUST_WECHAT_CONTEXT=true`.
    WechatContext,
}

/// How an access token's signature was vouched for ([`Identity::token_check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenCheck {
    /// A key of `TCB_JWKS_URL`'s key set (by default the gateway's `/auth/v1/certs`).
    KeySet,
    /// A key of the token's own issuer host's `/auth/v1/certs`.
    IssuerKeySet,
    /// CloudBase's introspect answer.
    Introspect,
}

/// The caller's identity, as far as a trusted channel vouches for it. Every field is `None` when
/// the channel did not provide it. From an access token (`source_channel` =
/// [`IdentitySource::AccessToken`]) only `uid` (`sub`), `openid` / `unionid` (`meta.wxOpenId` /
/// `meta.wxUnionId`, when the token carries them and is not an anonymous caller's), `env`,
/// `is_anonymous` and `token_check` are set; `custom_user_id` (and `openid` from it) only after
/// [`crate::User::with_openid`].
///
/// Mirrors node-sdk `auth().getUserInfo()` (`openId, appId, uid, customUserId, isAnonymous`) plus
/// the wx-server-sdk `getWXContext()` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `WX_OPENID` / `userInfo.openId`.
    pub openid: Option<String>,
    /// `WX_APPID` / `userInfo.appId`.
    pub appid: Option<String>,
    /// `WX_UNIONID` (context header only; `userInfo` never carries it).
    pub unionid: Option<String>,
    /// `WX_CLIENTIP`.
    pub client_ip: Option<String>,
    /// `WX_CLIENTIPV6`.
    pub client_ipv6: Option<String>,
    /// `TCB_SOURCE`, e.g. `wx_client`, `wx_devtools`.
    pub source: Option<String>,
    /// `TCB_ENV` from the context header.
    pub env: Option<String>,
    /// CloudBase uid, `TCB_UUID`.
    pub uid: Option<String>,
    /// `TCB_CUSTOM_USER_ID`.
    pub custom_user_id: Option<String>,
    /// `TCB_ISANONYMOUS_USER == "true"`; `None` when the platform did not say.
    pub is_anonymous: Option<bool>,
    /// Where the identity came from.
    pub source_channel: IdentitySource,
    /// For an access token: how its signature was vouched for.
    pub token_check: Option<TokenCheck>,
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.filter(|s| !s.is_empty()).cloned()
}

impl Identity {
    /// Build the identity from the platform channels. `context` is the parsed
    /// `environ`/`environment` header, `user_info` the `userInfo` of a callFunction event. The
    /// context header wins over `userInfo` field by field.
    pub fn from_channels(context: Option<&ContextVars>, user_info: Option<&UserInfo>) -> Self {
        let mut id = Identity::default();
        if let Some(ctx) = context {
            id.openid = non_empty(ctx.get("WX_OPENID"));
            id.appid = non_empty(ctx.get("WX_APPID"));
            id.unionid = non_empty(ctx.get("WX_UNIONID"));
            id.client_ip = non_empty(ctx.get("WX_CLIENTIP"));
            id.client_ipv6 = non_empty(ctx.get("WX_CLIENTIPV6"));
            id.source = non_empty(ctx.get("TCB_SOURCE"));
            id.env = non_empty(ctx.get("TCB_ENV"));
            id.uid = non_empty(ctx.get("TCB_UUID"));
            id.custom_user_id = non_empty(ctx.get("TCB_CUSTOM_USER_ID"));
            id.is_anonymous = ctx.get("TCB_ISANONYMOUS_USER").map(|v| v == "true");
            if id.openid.is_some() || id.uid.is_some() {
                id.source_channel = IdentitySource::ContextHeader;
            }
        }
        if let Some(ui) = user_info {
            if id.openid.is_none() {
                id.openid = non_empty(ui.open_id.as_ref());
                if id.openid.is_some() {
                    id.source_channel = IdentitySource::UserInfo;
                }
            }
            if id.appid.is_none() {
                id.appid = non_empty(ui.app_id.as_ref());
            }
        }
        id
    }

    /// True when a trusted channel vouched for the caller: an OPENID, or a CloudBase uid.
    pub fn is_verified(&self) -> bool {
        self.openid.is_some() || self.uid.is_some()
    }
}

/// The caller's view shaped like wx-server-sdk `cloud.getWXContext()`:
/// `{OPENID, APPID, UNIONID, CLIENTIP, CLIENTIPV6, ENV, SOURCE}`, absent keys omitted.
///
/// It never carries `WX_API_TOKEN` or any other token. Unlike wx-server-sdk, numeric-looking
/// values stay strings (wx-server-sdk `parseInt`s them and loses leading zeros).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct WxContext {
    /// Caller OPENID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Mini program AppID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// UNIONID, when WeChat's unionid conditions are met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Client IPv4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clientip: Option<String>,
    /// Client IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clientipv6: Option<String>,
    /// CloudBase env id: `TCB_ENV` of the context, else the instance's `TCB_ENV` / `SCF_NAMESPACE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// `TCB_SOURCE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key repeated in `environment` takes its last copy, and a last copy that is `null`
    /// leaves it out: the earlier value used to come back (`make fuzz` found it, `identity`
    /// target, 300 s).
    #[test]
    fn a_null_last_copy_removes_the_key() {
        let vars = parse_environment(r#"{"L": ["a", 0], "M": "1", "L": null, "M": "2"}"#).unwrap();
        assert_eq!(vars.get("L"), None);
        assert_eq!(vars.get("M").map(String::as_str), Some("2"));
        let h = context_from_headers(None, Some(r#"{"TCB_X": "a", "TCB_X": null}"#))
            .unwrap()
            .unwrap();
        assert_eq!(h.vars.get("TCB_X"), None);
    }
    use serde_json::Value;

    fn fixtures() -> Value {
        serde_json::from_str(include_str!("../testdata/node_sdk_context.json")).unwrap()
    }

    /// node-sdk value -> our string form (arrays from comma-splitting are joined back).
    fn node_to_string(v: &Value) -> Option<String> {
        value_to_string(v.clone())
    }

    fn node_map(v: &Value) -> ContextVars {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| node_to_string(v).map(|s| (k.clone(), s)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn ours(case: &Value) -> Result<Option<ContextVars>, EnvironmentError> {
        let ctx = &case["context"];
        context_from_headers(ctx["environ"].as_str(), ctx["environment"].as_str())
            .map(|h| h.map(|h| h.vars))
    }

    #[test]
    fn parse_matches_node_sdk_parse_context() {
        let f = fixtures();
        let mut checked = 0;
        for case in f["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let expected = &case["parseContext"];
            match ours(case) {
                Ok(Some(vars)) => {
                    assert!(
                        expected.get("throws").is_none(),
                        "{name}: node threw, we parsed"
                    );
                    assert_eq!(vars, node_map(expected), "{name}");
                    checked += 1;
                }
                Ok(None) => {
                    assert!(
                        expected.get("throws").is_some(),
                        "{name}: we found no context"
                    );
                }
                Err(_) => assert!(expected.get("throws").is_some(), "{name}: we rejected"),
            }
        }
        assert!(checked >= 9, "only {checked} fixture cases compared");
    }

    #[test]
    fn cloudbase_context_matches_node_sdk() {
        let f = fixtures();
        let mut checked = 0;
        for case in f["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let expected = &case["getCloudbaseContext"];
            if expected.get("throws").is_some() {
                continue;
            }
            let vars = ours(case).unwrap().unwrap_or_default();
            let merged = cloudbase_context(&vars, |_| None);
            assert_eq!(merged, node_map(expected), "{name}");
            checked += 1;
        }
        assert!(checked >= 9);
    }

    #[test]
    fn wx_context_fields_match_wx_server_sdk() {
        let f = fixtures();
        let keys = [
            ("OPENID", "WX_OPENID"),
            ("APPID", "WX_APPID"),
            ("UNIONID", "WX_UNIONID"),
            ("CLIENTIP", "WX_CLIENTIP"),
            ("CLIENTIPV6", "WX_CLIENTIPV6"),
            ("SOURCE", "TCB_SOURCE"),
        ];
        let mut checked = 0;
        for case in f["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let Ok(Some(vars)) = ours(case) else { continue };
            let id = Identity::from_channels(Some(&vars), None);
            let view = serde_json::to_value(WxContext {
                openid: id.openid.clone(),
                appid: id.appid.clone(),
                unionid: id.unionid.clone(),
                clientip: id.client_ip.clone(),
                clientipv6: id.client_ipv6.clone(),
                env: None,
                source: id.source.clone(),
            })
            .unwrap();
            let node = &case["getWXContext"];
            for (field, ctx_key) in keys {
                // wx-server-sdk only reports keys listed in WX_CONTEXT_KEYS (plus SOURCE).
                let listed = field == "SOURCE"
                    || vars
                        .get("WX_CONTEXT_KEYS")
                        .is_some_and(|l| l.split(',').any(|k| k == ctx_key));
                if !listed || node[field].is_number() {
                    continue;
                }
                assert_eq!(
                    view.get(field).and_then(Value::as_str),
                    node.get(field)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty()),
                    "{name}: {field}"
                );
                checked += 1;
            }
            assert!(node.get("API_TOKEN").is_none() && view.get("API_TOKEN").is_none());
        }
        assert!(checked >= 10, "only {checked} fields compared");
    }

    #[test]
    fn comma_values_do_not_break_key_lists() {
        // node-sdk drops the process-env fallback here (WX_CONTEXT_KEYS became an array).
        let vars = parse_environ("WX_OPENID=o1;WX_CONTEXT_KEYS=WX_OPENID,WX_UNIONID;B=x,y");
        let merged = cloudbase_context(&vars, |k| (k == "WX_UNIONID").then(|| "u1".to_owned()));
        assert_eq!(merged.get("WX_UNIONID").map(String::as_str), Some("u1"));
        assert_eq!(merged.get("B").map(String::as_str), Some("x,y"));
    }

    #[test]
    fn identity_prefers_context_header_over_user_info() {
        let vars = parse_environ("WX_OPENID=ctx-open;TCB_ISANONYMOUS_USER=false;TCB_UUID=u-1");
        let ui = UserInfo {
            app_id: Some("wxa".into()),
            open_id: Some("event-open".into()),
        };
        let id = Identity::from_channels(Some(&vars), Some(&ui));
        assert_eq!(id.openid.as_deref(), Some("ctx-open"));
        assert_eq!(id.appid.as_deref(), Some("wxa"));
        assert_eq!(id.is_anonymous, Some(false));
        assert_eq!(id.source_channel, IdentitySource::ContextHeader);

        let id = Identity::from_channels(None, Some(&ui));
        assert_eq!(id.openid.as_deref(), Some("event-open"));
        assert_eq!(id.source_channel, IdentitySource::UserInfo);

        let id = Identity::from_channels(None, None);
        assert!(!id.is_verified());
        let empty = UserInfo {
            app_id: Some(String::new()),
            open_id: Some(String::new()),
        };
        assert!(!Identity::from_channels(None, Some(&empty)).is_verified());
    }

    #[test]
    fn a_repeated_identity_key_is_not_trusted() {
        let h = context_from_headers(
            Some("WX_OPENID=oVictim;WX_APPID=wx1;A=1;WX_OPENID=oReal;A=2;TCB_UUID=u;TCB_UUID=u"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.repeated, ["WX_OPENID", "TCB_UUID"]);
        assert_eq!(h.vars.get("WX_OPENID"), None);
        assert_eq!(h.vars.get("TCB_UUID"), None);
        assert_eq!(h.vars.get("WX_APPID").map(String::as_str), Some("wx1"));
        // Not an identity key: the last copy wins, as in node-sdk.
        assert_eq!(h.vars.get("A").map(String::as_str), Some("2"));
        assert!(!Identity::from_channels(Some(&h.vars), None).is_verified());

        let h = context_from_headers(
            None,
            Some(r#"{"WX_OPENID":"oVictim","WX_UNIONID":"u1","WX_OPENID":"oReal"}"#),
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.repeated, ["WX_OPENID"]);
        assert_eq!(h.vars.get("WX_OPENID"), None);
        assert_eq!(h.vars.get("WX_UNIONID").map(String::as_str), Some("u1"));
        // Nested copies are values, not keys of the header.
        let h = context_from_headers(None, Some(r#"{"X":{"WX_OPENID":1},"WX_OPENID":"o"}"#))
            .unwrap()
            .unwrap();
        assert!(h.repeated.is_empty());
        assert_eq!(h.vars.get("WX_OPENID").map(String::as_str), Some("o"));
    }

    #[test]
    fn utf8_values_are_kept() {
        let h = context_from_headers(Some("WX_OPENID=o1;WX_UNIONID=u1;NICK=张三"), None)
            .unwrap()
            .unwrap();
        let id = Identity::from_channels(Some(&h.vars), None);
        assert_eq!(id.unionid.as_deref(), Some("u1"));
        assert_eq!(h.vars.get("NICK").map(String::as_str), Some("张三"));
    }

    #[test]
    fn environment_errors_do_not_echo_content() {
        let err = parse_environment("{\"WX_API_TOKEN\": secret-token").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(parse_environment("[1]").is_err());
        assert_eq!(parse_environment("null").unwrap(), ContextVars::new());
    }
}
