//! Where a caller's CloudBase access token comes from in an HTTP request, and the
//! `X-Cloudbase-Context` header that may carry it.
//!
//! Two places, both written by the HTTP client (so a token found here proves nothing until its
//! signature is checked, `verify.rs`):
//! - `Authorization: Bearer <token>`: what `@cloudbase/js-sdk` sends through the gateway
//!   (`docs/identity.md` "Access tokens");
//! - the `accessToken` field of `X-Cloudbase-Context`, which CloudBase's gateway adds to HTTP
//!   functions: base64, then gzip, then JSON (`@cloudbase/functions-framework`
//!   `extractExtendedContextFromHeader`). Plain base64 JSON is accepted too, as third-party readers
//!   do. Whether the gateway overwrites a copy the client sent is UNCONFIRMED, so nothing in this
//!   header is trusted on its own, and `wechatContext` only by opt-in (`TCB_TRUST_WECHAT_CONTEXT`).
//!
//! When both places carry a token and they differ, which one the platform checked is unknown:
//! the request is refused ([`Credentials::Conflict`]), not resolved by a preference.
//!
//! Every size is bounded before any decoding: a header over [`MAX_CONTEXT_HEADER_BYTES`], a gzip
//! stream that inflates past [`MAX_CONTEXT_JSON_BYTES`] (a gzip bomb), a token over
//! [`MAX_TOKEN_BYTES`]. Errors name what is wrong, never the content: the header can hold
//! temporary cloud credentials (`tmpSecret`).

use std::io::Read;

use base64::Engine;
use serde_json::{Map, Value};

use crate::event::Event;
use crate::secret::Secret;

/// The longest access token accepted, in bytes. CloudBase's are about 1 KB (a JWT with a dozen
/// claims); a longer one is refused as malformed before it is parsed.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The longest `X-Cloudbase-Context` header decoded, in bytes of base64 text.
pub const MAX_CONTEXT_HEADER_BYTES: usize = 32 * 1024;
/// The most JSON an `X-Cloudbase-Context` header may inflate to, in bytes.
pub const MAX_CONTEXT_JSON_BYTES: usize = 64 * 1024;
/// The header CloudBase's gateway adds to HTTP functions (names are compared lower-cased).
pub const CONTEXT_HEADER: &str = "x-cloudbase-context";

/// Why an `X-Cloudbase-Context` header could not be decoded. The message names the step that
/// failed, never the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("X-Cloudbase-Context {0}")]
pub struct ContextHeaderError(pub &'static str);

/// Decode an `X-Cloudbase-Context` header value: base64 (standard or URL-safe, padding optional)
/// → gzip (when the bytes start with the gzip magic `1f 8b`; otherwise taken as they are) → a
/// JSON object. Mirrors `@cloudbase/functions-framework` 1.18 `extractExtendedContextFromHeader`
/// (which yields `{}` on any error; here the error says which step failed).
///
/// The object can hold `accessToken`, `serviceAccessToken` and `tmpSecret`: never log or echo
/// its values.
///
/// # Errors
/// [`ContextHeaderError`]: over [`MAX_CONTEXT_HEADER_BYTES`], not base64, not gzip, inflating
/// past [`MAX_CONTEXT_JSON_BYTES`], not JSON, or not an object.
pub fn decode_cloudbase_context(value: &str) -> Result<Map<String, Value>, ContextHeaderError> {
    let value = value.trim();
    if value.len() > MAX_CONTEXT_HEADER_BYTES {
        return Err(ContextHeaderError("is over 32 KB"));
    }
    let text = value.trim_end_matches('=');
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .map_err(|_| ContextHeaderError("is not base64"))?;
    let json = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_CONTEXT_JSON_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| ContextHeaderError("is not valid gzip"))?;
        if out.len() > MAX_CONTEXT_JSON_BYTES {
            return Err(ContextHeaderError("inflates past 64 KB"));
        }
        out
    } else {
        raw
    };
    match serde_json::from_slice::<Value>(&json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ContextHeaderError("is not a JSON object")),
        Err(_) => Err(ContextHeaderError("is not JSON")),
    }
}

/// `wechatContext` of an `X-Cloudbase-Context` header: `{openId, appId, unionId}` as the gateway
/// writes them for `wx.cloud` callers (`@cloudbase/functions-typings` `TcbExtendedContext`).
/// Not a source of identity unless the deployment opts in (`TCB_TRUST_WECHAT_CONTEXT`).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct WechatContext {
    pub(crate) openid: Option<String>,
    pub(crate) appid: Option<String>,
    pub(crate) unionid: Option<String>,
}

impl std::fmt::Debug for WechatContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatContext")
            .field("openid", &self.openid.is_some())
            .field("appid", &self.appid.is_some())
            .field("unionid", &self.unionid.is_some())
            .finish()
    }
}

/// What an HTTP request offers as proof of who its caller is. Built from the event before the
/// handler runs; checked only when the handler asks ([`crate::Caller`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// No token: a callFunction event, or an HTTP request without one.
    #[default]
    None,
    /// One token (the two places agree, or only one has one).
    Token(Secret),
    /// Bearer and `X-Cloudbase-Context` carry different tokens.
    Conflict,
    /// A token is there but cannot be one: empty, too long, not three base64url segments.
    Malformed(&'static str),
}

/// The two headers of an HTTP event that can carry a token, copied as they came. Nothing is
/// decoded until a handler asks for its caller ([`Offered::read`]): the gateway adds
/// `X-Cloudbase-Context` to every HTTP-function request, and a function that never asks (such
/// as getLoginTicket) must not pay a base64 + gunzip + JSON decode per request for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Offered {
    authorization: Option<Secret>,
    cloudbase_context: Option<Secret>,
}

impl Offered {
    /// The headers of `event`. A callFunction event offers nothing: its identity comes from
    /// `userInfo` and the context header (`identity.rs`).
    pub(crate) fn from_event(event: &Event) -> Self {
        let Event::Http(http) = event else {
            return Offered::default();
        };
        // The last copy of each, as every header is read (`http_event.rs`).
        let copy = |name: &str| http.header(name).map(Secret::new);
        Offered {
            authorization: copy("authorization"),
            cloudbase_context: copy(CONTEXT_HEADER),
        }
    }

    /// Whether either header came (for the invocation's start log; says nothing of validity).
    pub(crate) fn is_empty(&self) -> bool {
        self.authorization.is_none() && self.cloudbase_context.is_none()
    }

    /// Decode what the headers present.
    pub(crate) fn read(&self) -> Presented {
        Presented::from_headers(
            self.authorization.as_ref().map(Secret::expose),
            self.cloudbase_context.as_ref().map(Secret::expose),
        )
    }
}

/// The credentials and the unverified `wechatContext` of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Presented {
    pub(crate) credentials: Credentials,
    pub(crate) wechat: Option<WechatContext>,
    /// Why `X-Cloudbase-Context` was ignored, when it was (logged by the caller, by step).
    pub(crate) context_error: Option<ContextHeaderError>,
}

impl Presented {
    /// Read what `event` presents: [`Offered::from_event`], then [`Offered::read`].
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_event(event: &Event) -> Self {
        Offered::from_event(event).read()
    }

    fn from_headers(authorization: Option<&str>, cloudbase_context: Option<&str>) -> Self {
        let bearer = authorization.and_then(bearer);
        let (context_token, wechat, context_error) = match cloudbase_context {
            None => (None, None, None),
            Some(v) => match decode_cloudbase_context(v) {
                Ok(map) => (
                    map.get("accessToken")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                    map.get("wechatContext").map(wechat_context),
                    None,
                ),
                Err(e) => (None, None, Some(e)),
            },
        };
        let credentials = match (bearer, context_token) {
            (None, None) => Credentials::None,
            (Some(a), Some(b)) if a != b => Credentials::Conflict,
            (Some(t), _) | (None, Some(t)) => check_shape(t),
        };
        Presented {
            credentials,
            wechat,
            context_error,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive). Another
/// scheme (`Basic`, say) is not ours to read: no token.
fn bearer(value: &str) -> Option<String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("bearer") {
        return Some(String::new());
    }
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_owned())
}

/// A token must look like a compact JWS before anything parses it: at most [`MAX_TOKEN_BYTES`],
/// three segments of base64url characters, the first two non-empty. (An empty signature is let
/// through to be refused by name: that is an `alg: none` token.)
fn check_shape(token: String) -> Credentials {
    if token.is_empty() {
        return Credentials::Malformed("the token is empty");
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Credentials::Malformed("the token is over 8 KB");
    }
    let segments: Vec<&str> = token.split('.').collect();
    let base64url = |s: &&str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if segments.len() != 3
        || segments[0].is_empty()
        || segments[1].is_empty()
        || !segments.iter().all(base64url)
    {
        return Credentials::Malformed("the token is not a JWT (three base64url segments)");
    }
    Credentials::Token(Secret::new(token))
}

fn wechat_context(v: &Value) -> WechatContext {
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    WechatContext {
        openid: field("openId"),
        appid: field("appId"),
        unionid: field("unionId"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn gzip_b64(json: &str) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
    }

    fn http(headers: &[(&str, &str)]) -> Event {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        Event::classify(serde_json::json!({"httpMethod": "GET", "path": "/", "headers": headers})).0
    }

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";

    #[test]
    fn context_header_decodes_gzip_and_plain() {
        let map =
            decode_cloudbase_context(&gzip_b64(r#"{"envId":"e","accessToken":"t"}"#)).unwrap();
        assert_eq!(map["envId"], "e");
        let plain = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"userId":"u"}"#);
        assert_eq!(decode_cloudbase_context(&plain).unwrap()["userId"], "u");
    }

    #[test]
    fn context_header_errors_name_the_step() {
        assert_eq!(
            decode_cloudbase_context("%%%").unwrap_err().0,
            "is not base64"
        );
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            decode_cloudbase_context(&b64(&[0x1f, 0x8b, 1, 2, 3]))
                .unwrap_err()
                .0,
            "is not valid gzip"
        );
        assert_eq!(
            decode_cloudbase_context(&b64(b"[1]")).unwrap_err().0,
            "is not a JSON object"
        );
        assert_eq!(
            decode_cloudbase_context(&b64(b"{\"tmpSecret\": secret"))
                .unwrap_err()
                .to_string(),
            "X-Cloudbase-Context is not JSON"
        );
        // A gzip bomb: 10 MB of spaces inflate from a few KB and are cut at 64 KB.
        let bomb = gzip_b64(&format!("{{{}}}", " ".repeat(10 << 20)));
        assert!(bomb.len() < MAX_CONTEXT_HEADER_BYTES, "{}", bomb.len());
        assert_eq!(
            decode_cloudbase_context(&bomb).unwrap_err().0,
            "inflates past 64 KB"
        );
        let long = "A".repeat(MAX_CONTEXT_HEADER_BYTES + 1);
        assert_eq!(
            decode_cloudbase_context(&long).unwrap_err().0,
            "is over 32 KB"
        );
    }

    #[test]
    fn bearer_and_context_token() {
        let ctx = gzip_b64(&format!(
            r#"{{"accessToken":"{JWT}","wechatContext":{{"openId":"o"}}}}"#
        ));
        let p = Presented::from_event(&http(&[("Authorization", &format!("Bearer {JWT}"))]));
        assert_eq!(p.credentials, Credentials::Token(Secret::new(JWT)));
        let p = Presented::from_event(&http(&[("x-cloudbase-context", &ctx)]));
        assert_eq!(p.credentials, Credentials::Token(Secret::new(JWT)));
        assert_eq!(p.wechat.unwrap().openid.as_deref(), Some("o"));
        let p = Presented::from_event(&http(&[
            ("authorization", &format!("bearer  {JWT}")),
            ("X-Cloudbase-Context", &ctx),
        ]));
        assert_eq!(p.credentials, Credentials::Token(Secret::new(JWT)));
        let other = format!("{JWT}x");
        let p = Presented::from_event(&http(&[
            ("authorization", &format!("Bearer {other}")),
            ("x-cloudbase-context", &ctx),
        ]));
        assert_eq!(p.credentials, Credentials::Conflict);
    }

    #[test]
    fn token_shapes() {
        let cred =
            |auth: &str| Presented::from_event(&http(&[("authorization", auth)])).credentials;
        assert_eq!(cred("Basic dXNlcjpwdw=="), Credentials::None);
        assert!(matches!(cred("Bearer "), Credentials::Malformed(_)));
        assert!(matches!(cred("Bearer a.b"), Credentials::Malformed(_)));
        assert!(matches!(
            cred("Bearer a.b.c,Bearer d.e.f"),
            Credentials::Malformed(_)
        ));
        assert!(matches!(cred("Bearer a.b+/.c"), Credentials::Malformed(_)));
        let big = format!("Bearer {}.{}.c", "a".repeat(8000), "b".repeat(8000));
        assert_eq!(cred(&big), Credentials::Malformed("the token is over 8 KB"));
        // A callFunction event presents nothing, whatever its data holds.
        let call = Event::classify(serde_json::json!({
            "userInfo": {"openId": "o"}, "headers": {"authorization": format!("Bearer {JWT}")}
        }))
        .0;
        assert_eq!(Presented::from_event(&call).credentials, Credentials::None);
        // Debug never shows the token.
        assert!(!format!("{:?}", cred(&format!("Bearer {JWT}"))).contains("c2ln"));
    }
}
