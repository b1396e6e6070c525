//! An HTTP request, the same type in both modes: an `http::Request<Bytes>` (as `lambda_http`
//! gives a handler) plus the gateway's `requestContext`.
//!
//! Why one type built once: web mode used to turn hyper's request into the API gateway's JSON
//! shape (repeated headers comma-joined, binary bodies base64-encoded) and the handler then
//! decoded it again. Now each mode converts once:
//! - web mode hands hyper's request through: every header copy, the body bytes as sent;
//! - event mode converts the gateway's JSON event (`docs/platform.md` "Events") here, in
//!   [`HttpEvent::from_gateway`]: `httpMethod`, `path`, `queryStringParameters` (else API
//!   gateway's `queryString`), `headers` (an array value gives one copy per item; a name that
//!   `multiValueHeaders` lists takes every copy from there, as the HTTP access service sends
//!   both), `body`
//!   (base64-decoded once when `isBase64Encoded`), `requestContext`.
//!
//! **Repeated headers, one rule**: [`HttpEvent::header`] is the **last** copy, because a proxy in
//! front of us appends its own after whatever the client sent. Every copy stays in
//! [`HttpEvent::headers`]. The same rule for a repeated query parameter ([`HttpEvent::query`]).
//!
//! Everything in it is written by the HTTP client and is never a source of identity.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Uri};
use serde_json::{Map, Value};

use serde::de::DeserializeOwned;

use crate::error::FnError;
use crate::error_code::ErrorCode;
use crate::input;
use crate::payload::MAX_PAYLOAD_BYTES;

/// An HTTP request. `Debug` shows header and query names only (values can be credentials, e.g.
/// `Authorization`) and the body's length.
#[derive(Clone)]
pub struct HttpEvent {
    /// The request: method, URI (path and query), headers (every copy, names lower-case), and
    /// the body's bytes as the client sent them.
    pub request: Request<Bytes>,
    /// `requestContext` as the gateway delivered it; in web mode
    /// `{"requestId": ..., "source": "web-function"}`.
    pub request_context: Value,
    /// What was wrong with an event-mode body that could not be decoded; reported when the
    /// handler reads the body (`input.rs`), so that a handler that ignores the body still runs.
    pub(crate) body_problem: Option<BodyProblem>,
}

/// Why an event's body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyProblem {
    /// `isBase64Encoded` with a body that is not base64.
    NotBase64,
    /// Over [`MAX_PAYLOAD_BYTES`] once decoded (the length).
    TooLarge(usize),
}

impl PartialEq for HttpEvent {
    fn eq(&self, other: &Self) -> bool {
        self.request.method() == other.request.method()
            && self.request.uri() == other.request.uri()
            && self.request.headers() == other.request.headers()
            && self.request.body() == other.request.body()
            && self.request_context == other.request_context
            && self.body_problem == other.body_problem
    }
}

impl std::fmt::Debug for HttpEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpEvent")
            .field("method", &self.method())
            .field("path", &self.path())
            .field(
                "header_names",
                &self.request.headers().keys().collect::<Vec<_>>(),
            )
            .field(
                "query_names",
                &self.query_pairs().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.request.body().len())
            .finish_non_exhaustive()
    }
}

impl HttpEvent {
    /// A request as web mode received it (its body read whole), with `request_context`.
    pub fn new(request: Request<Bytes>, request_context: Value) -> Self {
        HttpEvent {
            request,
            request_context,
            body_problem: None,
        }
    }

    /// The method, upper-case (`POST`).
    pub fn method(&self) -> &str {
        self.request.method().as_str()
    }

    /// The path (`/login`), percent-encoded where the gateway's path had characters a URI
    /// cannot hold.
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// Every header, every copy.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The **last** copy of header `name` (any case), as UTF-8 text, trimmed; `None` when absent,
    /// blank or not UTF-8. The one rule for repeated headers (see the module docs).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request
            .headers()
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The query parameters in order, percent-decoded, repeats included.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        form_urlencoded::parse(self.request.uri().query().unwrap_or_default().as_bytes())
    }

    /// The **last** value of query parameter `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .filter(|(k, _)| k == name)
            .last()
            .map(|(_, v)| v.into_owned())
    }

    /// The body's bytes (empty when there was none).
    pub fn body(&self) -> &[u8] {
        self.request.body()
    }

    /// The body's bytes (empty when there was none), as the runtime decoded them once
    /// (`http_event.rs`).
    ///
    /// # Errors
    /// An event-mode body that could not be decoded: `400 BAD_REQUEST` for bad base64,
    /// `413 PAYLOAD_TOO_LARGE` over 6 MB (web mode refuses those before the handler runs).
    pub fn body_bytes(&self) -> Result<&[u8], FnError> {
        match self.body_problem {
            None => Ok(self.body()),
            Some(BodyProblem::NotBase64) => Err(FnError::bad_request(
                "body is marked isBase64Encoded but is not valid base64",
            )),
            Some(BodyProblem::TooLarge(len)) => Err(FnError::new(
                ErrorCode::PAYLOAD_TOO_LARGE,
                413,
                format!("body is {len} bytes; the limit is {MAX_PAYLOAD_BYTES}"),
            )),
        }
    }

    /// The body's media type from `Content-Type` (its last copy), lower-cased, without
    /// parameters; `""` when there is none.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .and_then(|ct| ct.split(';').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// Parse the body as a JSON value of type `T`, strictly: the `Content-Type` must be
    /// `application/json` (any parameters), `*+json`, or absent.
    ///
    /// # Errors
    /// `415 UNSUPPORTED_MEDIA_TYPE` for any other content type; `400 BAD_REQUEST` for an empty
    /// body, bad base64, bad UTF-8 or bad JSON (with the position, never the content); `413`.
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, FnError> {
        // The media type first: a body of another type is 415 whatever its bytes.
        input::json_body(&self.media_type(), || self.body_bytes())
    }

    /// The request's data as `T`, read from the body as people send it:
    /// - a body that is a JSON object (its first non-blank character is `{`) is read as JSON
    ///   **whatever its label**: `curl -d '{...}'` labels JSON as a form, and `fetch` with a
    ///   string body labels it `text/plain`;
    /// - an `application/x-www-form-urlencoded` body (`code=...&idempotencyKey=...`) is read as
    ///   an object of string fields; a field given twice is refused, since which copy was meant
    ///   is unknown;
    /// - any other body is read as JSON when labelled JSON or not labelled at all;
    /// - anything else is `415`.
    ///
    /// # Errors
    /// `415 UNSUPPORTED_MEDIA_TYPE` (naming both accepted types); `400 BAD_REQUEST` for an empty
    /// body, bad base64, bad UTF-8, bad JSON (position only, never the content), a repeated form
    /// field, or fields of the wrong shape; `413` over 6 MB.
    pub fn body_data<T: DeserializeOwned>(&self) -> Result<T, FnError> {
        input::body_data(self.body_bytes()?, &self.media_type())
    }

    /// Convert the gateway's JSON event (see the module docs). Never fails: a method that is not
    /// an HTTP token becomes `INVALID` (refused by [`crate::Event::require_method`]), a header
    /// whose name or value HTTP cannot carry is left out, a body that cannot be decoded is kept
    /// as a problem for the handler's read.
    pub(crate) fn from_gateway(map: &Map<String, Value>) -> Self {
        let method = map
            .get("httpMethod")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let method = Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|_| Method::from_bytes(b"INVALID").expect("a token"));
        let path = map.get("path").and_then(Value::as_str).unwrap_or_default();
        let query = match map.get("queryStringParameters") {
            Some(Value::Object(q)) => Some(q),
            _ => map.get("queryString").and_then(Value::as_object),
        };
        let uri = gateway_uri(path, query);
        let (body, body_problem) = gateway_body(map);
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let multi = map.get("multiValueHeaders").and_then(Value::as_object);
        if let Some(Value::Object(headers)) = map.get("headers") {
            *request.headers_mut() = gateway_headers(headers, multi);
        }
        HttpEvent {
            request,
            request_context: map.get("requestContext").cloned().unwrap_or(Value::Null),
            body_problem,
        }
    }
}

/// A JSON value as the text of a header or query value: a string as is, `null` absent, any
/// other value its JSON text.
fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// The gateway's `headers` object as a header map: names lower-cased, an array value one copy
/// per item, in order. A name that `multi` (`multiValueHeaders`) also lists, in any case, takes
/// its copies from there. A name or value HTTP cannot carry (a control character, say) is left
/// out.
fn gateway_headers(headers: &Map<String, Value>, multi: Option<&Map<String, Value>>) -> HeaderMap {
    let multi_names: std::collections::BTreeSet<String> = multi
        .into_iter()
        .flatten()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    let single = headers
        .iter()
        .filter(|(k, _)| !multi_names.contains(&k.to_ascii_lowercase()));
    let mut out = HeaderMap::new();
    for (name, value) in single.chain(multi.into_iter().flatten()) {
        let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
            continue;
        };
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for item in items {
            if let Some(Ok(v)) = text_of(item).map(|t| HeaderValue::from_bytes(t.as_bytes())) {
                out.append(name.clone(), v);
            }
        }
    }
    out
}

/// Path and query as a URI. Bytes a URI path cannot hold are percent-encoded; the query is
/// form-encoded from the gateway's parameters (names sorted, so the order is the same every
/// time). A path that still cannot be a URI becomes `/`.
fn gateway_uri(path: &str, query: Option<&Map<String, Value>>) -> Uri {
    let mut target = String::with_capacity(path.len() + 1);
    if !path.starts_with('/') {
        target.push('/');
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@%".contains(&b) {
            target.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(target, "%{b:02X}");
        }
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        let sorted: BTreeMap<&String, Cow<'_, str>> = q
            .iter()
            .filter_map(|(k, v)| text_of(v).map(|v| (k, v)))
            .collect();
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &sorted {
            form.append_pair(k, v);
        }
        target.push('?');
        target.push_str(&form.finish());
    }
    Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"))
}

/// `body`, base64-decoded when `isBase64Encoded`. `body` is a string in every documented shape;
/// a gateway or test tool that sends the JSON body as a JSON value (an object, say) is taken at
/// its word: the value's JSON text is the body, and it cannot be base64.
fn gateway_body(map: &Map<String, Value>) -> (Bytes, Option<BodyProblem>) {
    let encoded = map
        .get("isBase64Encoded")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let bytes = match map.get("body") {
        None | Some(Value::Null) => return (Bytes::new(), None),
        Some(Value::String(s)) if encoded => {
            match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                Ok(b) => b,
                Err(_) => return (Bytes::new(), Some(BodyProblem::NotBase64)),
            }
        }
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(other) => other.to_string().into_bytes(),
    };
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return (Bytes::new(), Some(BodyProblem::TooLarge(bytes.len())));
    }
    (Bytes::from(bytes), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: Value) -> HttpEvent {
        HttpEvent::from_gateway(v.as_object().unwrap())
    }

    #[test]
    fn the_gateway_event_converted_once() {
        let h = event(json!({
            "httpMethod": "post", "path": "/a b/ü",
            "headers": {"Content-Type": "application/json", "X-Many": ["1", "2"], "bad\nname": "x",
                        "x-bad-value": "a\nb", "x-num": 5, "x-null": null},
            "queryStringParameters": {"page": "2", "q": "a&b=c"},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true, "requestContext": {"envId": "e"}
        }));
        assert_eq!(h.method(), "POST");
        assert_eq!(h.path(), "/a%20b/%C3%BC");
        assert_eq!(h.header("content-type"), Some("application/json"));
        assert_eq!(h.header("X-Many"), Some("2"), "the last copy");
        assert_eq!(h.headers().get_all("x-many").iter().count(), 2);
        assert_eq!(h.header("x-num"), Some("5"));
        for absent in ["bad\nname", "x-bad-value", "x-null"] {
            assert_eq!(h.header(absent), None, "{absent}");
        }
        assert_eq!(h.query("q").as_deref(), Some("a&b=c"));
        assert_eq!(h.query("page").as_deref(), Some("2"));
        assert_eq!(h.body(), br#"{"a":1}"#);
        assert_eq!(h.request_context, json!({"envId": "e"}));
        // The HTTP access service sends both: multiValueHeaders has every copy.
        let h = event(
            json!({"httpMethod": "GET", "headers": {"x-a": "2", "x-b": "b"},
            "multiValueHeaders": {"X-A": ["1", "2"]}}),
        );
        assert_eq!(h.headers().get_all("x-a").iter().count(), 2);
        assert_eq!((h.header("x-a"), h.header("x-b")), (Some("2"), Some("b")));
    }

    #[test]
    fn odd_events_convert_without_failing() {
        let h = event(json!({"httpMethod": "GE T", "headers": {}, "queryString": {"x": 1}}));
        assert_eq!((h.method(), h.path()), ("INVALID", "/"));
        assert_eq!(h.query("x").as_deref(), Some("1"));
        let h = event(
            json!({"httpMethod": "POST", "headers": {}, "body": "!!", "isBase64Encoded": "true"}),
        );
        assert_eq!(h.body_problem, Some(BodyProblem::NotBase64));
        let h = event(json!({"httpMethod": "POST", "headers": {}, "body": {"a": 1}}));
        assert_eq!(h.body(), br#"{"a":1}"#);
        let debug = format!(
            "{:?}",
            event(json!({"httpMethod": "GET",
            "headers": {"authorization": "Bearer s3cret"}, "queryString": {"k": "s3cret"}, "body": "s3cret"}))
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
