//! Names and shapes of what a request carried, never its values.
//!
//! Why a file of its own: every part of the probe's report goes through these few rules, so the
//! rule "no value leaves the probe" is written once and tested once:
//! - a JSON value becomes its type (`"string"`, `"number, 10 digits"`, `"object"` with its keys'
//!   shapes, ...);
//! - a string under a known **id** key (openid, unionid, appid, uid, env id, request id, ...)
//!   becomes `"present, N characters"`: how long an id is tells its kind, and an id is not a
//!   secret, but its value is still nobody's business in a log console;
//! - a JWT becomes its header's `alg`, whether it has a `kid`, and its claims' shapes;
//! - an `X-Cloudbase-Context` header becomes the shape of each copy it decodes to.

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// The deepest object nesting shown; deeper objects are `"object"`.
const MAX_DEPTH: usize = 4;
/// The most keys shown per object; the rest are counted in `"…": "N more keys"`.
const MAX_KEYS: usize = 64;

/// Key names (lower-cased, without `_` and `-`) whose string values are ids: shown as
/// `"present, N characters"`. From the shapes in `docs/platform.md`: `userInfo {openId, appId}`,
/// the context header's `WX_*` / `TCB_*` keys, `requestContext {requestId, envId, appId, uin}`,
/// `X-Cloudbase-Context` (`uid`, `wechatContext {openId, appId, unionId}`) and a JWT's `sub`.
const ID_KEYS: &[&str] = &[
    "openid",
    "unionid",
    "appid",
    "uid",
    "userid",
    "customuserid",
    "sub",
    "env",
    "envid",
    "namespace",
    "requestid",
    "uin",
    "wxopenid",
    "wxappid",
    "wxunionid",
    "wxfromopenid",
    "wxfromappid",
    "wxfromunionid",
    "tcbuuid",
    "tcbenv",
    "tcbcustomuserid",
    "xwxopenid",
    "xwxappid",
    "xwxunionid",
];

/// Whether `key` names an id (case, `_` and `-` ignored).
pub fn is_id_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    ID_KEYS.contains(&k.as_str())
}

/// `"present, N characters"` (N counts characters, not bytes).
pub fn present(s: &str) -> String {
    format!("present, {} characters", s.chars().count())
}

/// The shape of `value` found under `key`. Objects become an object of their keys' shapes (at
/// most [`MAX_KEYS`] keys, [`MAX_DEPTH`] levels); numbers say how many digits their integer part
/// has (a 10-digit time is in seconds, a 13-digit one in milliseconds); strings under an id key
/// become [`present`]. No value is ever copied.
pub fn shape(key: &str, value: &Value) -> Value {
    shape_at(key, value, 0)
}

fn shape_at(key: &str, value: &Value, depth: usize) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(n) => {
            let digits = n
                .as_u64()
                .map(|u| u.to_string().len())
                .or_else(|| n.as_i64().map(|i| i.unsigned_abs().to_string().len()));
            match digits {
                Some(d) => json!(format!("number, {d} digits")),
                None => json!("number"),
            }
        }
        Value::String(s) if is_id_key(key) => json!(present(s)),
        Value::String(s) if s.is_empty() => json!("string, empty"),
        Value::String(_) => json!("string"),
        Value::Array(items) => json!(format!("array of {}", items.len())),
        Value::Object(m) if depth < MAX_DEPTH => Value::Object(object_shape(m, depth + 1)),
        Value::Object(m) => json!(format!("object with {} keys", m.len())),
    }
}

/// The shape of every key of `m` (see [`shape`]).
pub fn object_shape(m: &Map<String, Value>, depth: usize) -> Map<String, Value> {
    let mut out: Map<String, Value> = m
        .iter()
        .take(MAX_KEYS)
        .map(|(k, v)| (k.clone(), shape_at(k, v, depth)))
        .collect();
    if m.len() > MAX_KEYS {
        out.insert(
            "…".into(),
            json!(format!("{} more keys", m.len() - MAX_KEYS)),
        );
    }
    out
}

/// The longest token looked at, bytes (scf-runtime's own limit for access tokens).
const MAX_TOKEN_BYTES: usize = scf_runtime::MAX_TOKEN_BYTES;

/// A JWT's shape: `{"alg", "kid", "headerKeys", "claims", "issuerForm", "wxOpenId", "wxUnionId",
/// "providerType"}` where `alg` is the header's algorithm name (only when it is a short
/// alphanumeric name such as `RS256`; else `"unusual"`), `kid` is `"present"` or `"absent"`
/// (never its value), `claims` the claims' shapes ([`shape`]: a `sub` shows as `"present, N
/// characters"`, `exp` as `"number, 10 digits"`), `issuerForm` the form of `iss`
/// (`scf_runtime::issuer_form`: `gateway`, `intl-gateway`, `tcb-api:<region>`, `other`, or
/// `absent`), `wxOpenId` / `wxUnionId` whether `meta` carries a non-empty one (booleans), and
/// `providerType` from a fixed list ([`provider_type`]). A token that is not three base64url
/// segments with JSON objects in the first two gives `{"error": why}`.
pub fn jwt_shape(token: &str) -> Value {
    if token.len() > MAX_TOKEN_BYTES {
        return json!({"error": format!("over {MAX_TOKEN_BYTES} bytes")});
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        return json!({"error": format!("{} segments, not 3", parts.len())});
    }
    let segment = |i: usize, what: &str| -> Result<Map<String, Value>, Value> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|_| json!({"error": format!("the {what} is not base64url")}))?;
        match serde_json::from_slice(&raw) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(json!({"error": format!("the {what} is not a JSON object")})),
        }
    };
    let header = match segment(0, "header") {
        Ok(h) => h,
        Err(e) => return e,
    };
    let claims = match segment(1, "payload") {
        Ok(c) => c,
        Err(e) => return e,
    };
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some(a) if a.len() <= 16 && a.chars().all(|c| c.is_ascii_alphanumeric()) => json!(a),
        Some(_) => json!("unusual"),
        None => json!("absent"),
    };
    let meta_has = |k: &str| {
        claims
            .get("meta")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    json!({
        "alg": alg,
        "kid": if header.contains_key("kid") { "present" } else { "absent" },
        "headerKeys": header.keys().collect::<Vec<_>>(),
        "claims": object_shape(&claims, 1),
        "issuerForm": match claims.get("iss") {
            None => json!("absent"),
            Some(Value::String(iss)) => json!(scf_runtime::issuer_form(iss)),
            Some(_) => json!("not a string"),
        },
        "wxOpenId": meta_has("wxOpenId"),
        "wxUnionId": meta_has("wxUnionId"),
        "providerType": provider_type(claims.get("provider_type")),
    })
}

/// `provider_type` as the probe may show it: `custom`, `username`, `phone`, `email`,
/// `anonymous`, a `wechat…` name (up to 32 of `a-z 0-9 _ -`), `absent`; anything else `other`.
pub fn provider_type(v: Option<&Value>) -> &str {
    match v {
        None => "absent",
        Some(Value::String(p)) => match p.as_str() {
            "custom" | "username" | "phone" | "email" | "anonymous" => p,
            w if w.starts_with("wechat")
                && w.len() <= 32
                && w.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                }) =>
            {
                w
            }
            _ => "other",
        },
        Some(_) => "other",
    }
}

/// What one `X-Cloudbase-Context` header held: `{"copies": [...]}` with one entry per
/// comma-separated copy (web mode joins repeated headers with `,`, which base64 never holds).
/// Each copy is `{"keys": shapes}` (with `accessToken` also as `accessTokenJwt`: [`jwt_shape`])
/// or `{"error": the step that failed}`. `marker` is searched in each decoded copy's JSON text:
/// the result says whether any copy carried it.
pub fn cloudbase_context(header: &str, marker: Option<&str>) -> (Value, bool) {
    let mut found = false;
    let copies: Vec<Value> = header
        .split(',')
        .take(8)
        .map(|copy| match scf_runtime::decode_cloudbase_context(copy) {
            Ok(map) => {
                if let Some(m) = marker {
                    found |= Value::Object(map.clone()).to_string().contains(m);
                }
                let mut out = json!({"keys": object_shape(&map, 1)});
                if let Some(token) = map.get("accessToken").and_then(Value::as_str) {
                    out["accessTokenJwt"] = jwt_shape(token);
                }
                out
            }
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    (json!({"copies": copies}), found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64url(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn ids_are_lengths_and_nothing_is_a_value() {
        let v = json!({
            "openId": "oSECRETvalue", "WX_UNIONID": "uSECRET", "accessToken": "tSECRET",
            "exp": 1_763_700_000, "iat": 1_763_700_000_000u64, "ok": true, "list": ["SECRET"],
            "wechatContext": {"appId": "wxSECRET", "deep": {"a": {"b": {"c": {"d": "SECRET"}}}}},
            "empty": "",
        });
        let s = shape("", &v);
        assert_eq!(s["openId"], "present, 12 characters");
        assert_eq!(s["WX_UNIONID"], "present, 7 characters");
        assert_eq!(s["accessToken"], "string");
        assert_eq!(s["exp"], "number, 10 digits");
        assert_eq!(s["iat"], "number, 13 digits");
        assert_eq!(s["list"], "array of 1");
        assert_eq!(s["empty"], "string, empty");
        assert_eq!(s["wechatContext"]["appId"], "present, 8 characters");
        assert!(!s.to_string().contains("SECRET"), "{s}");
    }

    #[test]
    fn jwt_shapes_and_errors() {
        let h = json!({"alg": "RS256", "kid": "kSECRET", "typ": "JWT"});
        let c = json!({"sub": "uSECRET", "exp": 1_763_700_000, "scope": "user"});
        let t = format!("{}.{}.sig", b64url(&h), b64url(&c));
        let s = jwt_shape(&t);
        assert_eq!(s["alg"], "RS256");
        assert_eq!(s["kid"], "present");
        assert_eq!(s["claims"]["sub"], "present, 7 characters");
        assert_eq!(s["claims"]["exp"], "number, 10 digits");
        assert!(!s.to_string().contains("SECRET"), "{s}");
        assert_eq!(
            (
                s["issuerForm"].clone(),
                s["wxOpenId"].clone(),
                s["providerType"].clone()
            ),
            (json!("absent"), json!(false), json!("absent"))
        );
        // A real user token's shape: tcb-api issuer, empty meta ids, custom provider.
        let c = json!({
            "iss": "https://eSECRET.ap-shanghai.tcb-api.tencentcloudapi.com", "sub": "1234",
            "meta": {"wxOpenId": "", "wxUnionId": "uSECRET"}, "provider_type": "custom"
        });
        let s = jwt_shape(&format!(
            "{}.{}.sig",
            b64url(&json!({"alg": "RS256", "kid": "k"})),
            b64url(&c)
        ));
        assert_eq!(s["issuerForm"], "tcb-api:ap-shanghai");
        assert_eq!(
            (s["wxOpenId"].clone(), s["wxUnionId"].clone()),
            (json!(false), json!(true))
        );
        assert_eq!(s["providerType"], "custom");
        assert!(!s.to_string().contains("SECRET"), "{s}");
        for (p, want) in [
            (json!("wechat_mini"), "wechat_mini"),
            (json!("wechatSECRET"), "other"),
            (json!("SECRET"), "other"),
            (json!(5), "other"),
        ] {
            assert_eq!(provider_type(Some(&p)), want, "{p}");
        }
        let odd = format!(
            "{}.{}.x",
            b64url(&json!({"alg": "SECRET RS256"})),
            b64url(&c)
        );
        assert_eq!(jwt_shape(&odd)["alg"], "unusual");
        assert_eq!(jwt_shape("a.b")["error"], "2 segments, not 3");
        assert_eq!(
            jwt_shape("!!.e30.x")["error"],
            "the header is not base64url"
        );
        let not_obj = format!("{}.{}.x", b64url(&h), b64url(&json!([1])));
        assert_eq!(
            jwt_shape(&not_obj)["error"],
            "the payload is not a JSON object"
        );
        assert!(jwt_shape(&"a".repeat(9000))["error"].is_string());
    }

    #[test]
    fn context_copies_and_the_marker() {
        use std::io::Write as _;
        let ctx = json!({"uid": "uSECRET", "note": "MARKER-123456"}).to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(ctx.as_bytes()).unwrap();
        let header = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        let (v, found) = cloudbase_context(&header, Some("MARKER-123456"));
        assert!(found);
        assert_eq!(v["copies"][0]["keys"]["uid"], "present, 7 characters");
        let (v, found) = cloudbase_context(&format!("{header},!!"), Some("OTHER-MARKER"));
        assert!(!found);
        assert_eq!(v["copies"].as_array().unwrap().len(), 2);
        assert!(v["copies"][1]["error"].is_string());
        assert!(!v.to_string().contains("SECRET"), "{v}");
    }
}
