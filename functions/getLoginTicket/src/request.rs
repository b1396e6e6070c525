//! What a getLoginTicket call asks for: the `code` from `wx.login`, and an optional idempotency
//! key that lets the same client retry with the same code.
//!
//! Why a key: a code is single-use, so a retried code is answered from the cache (see
//! `replay.rs`). Over HTTP nobody vouches for the caller, so without a key the cached ticket would
//! go to whoever holds the code for 5 minutes: a single-use code would become a bearer
//! credential. The mini program makes one random key per login attempt and sends it with every
//! retry of that attempt; a replay gets the cached ticket only with the first request's key.
//! The key is a secret of that attempt: it is kept only as a SHA-256 hash and never logged.

use scf_runtime::{Event, FnError};
use serde::Deserialize;

pub use wxlogin::MAX_CODE_BYTES;
/// Shortest accepted idempotency key, characters: short keys could be guessed by whoever holds
/// the code.
pub const MIN_IDEMPOTENCY_KEY_CHARS: usize = 16;
/// Longest accepted idempotency key, characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// The HTTP header that carries the key (lower-cased, as the HTTP event's header names are).
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The data / body field that carries the key.
pub const IDEMPOTENCY_KEY_FIELD: &str = "idempotencyKey";

/// The SHA-256 of an idempotency key. `Debug` shows nothing of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyKey([u8; 32]);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey([redacted])")
    }
}

impl IdempotencyKey {
    /// Check and hash a key: [`MIN_IDEMPOTENCY_KEY_CHARS`] to [`MAX_IDEMPOTENCY_KEY_CHARS`]
    /// visible ASCII characters (for example 32 hex digits from a random source).
    ///
    /// # Errors
    /// `400 BAD_REQUEST` naming the rule, never the value.
    pub fn parse(key: &str) -> Result<Self, FnError> {
        let ok = (MIN_IDEMPOTENCY_KEY_CHARS..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(FnError::bad_request(format!(
                "the idempotency key must be {MIN_IDEMPOTENCY_KEY_CHARS}-{MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters, random per login attempt"
            )));
        }
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
        let mut k = [0u8; 32];
        k.copy_from_slice(d.as_ref());
        Ok(IdempotencyKey(k))
    }
}

/// The input, as the runtime reads it (`Event::input`): `code` is required; a blank or `null`
/// one is `MISSING_CODE`.
#[derive(Deserialize)]
struct Input {
    code: wxlogin::WxCode,
    #[serde(rename = "idempotencyKey", default)]
    idempotency_key: Option<IdempotencyKey>,
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        IdempotencyKey::parse(&key).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// A checked request. `Debug` does not show the code (a live, single-use credential).
#[derive(Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// The `wx.login` code.
    pub code: String,
    /// The idempotency key, from the `Idempotency-Key` header or the `idempotencyKey` field.
    pub idempotency_key: Option<IdempotencyKey>,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("code_len", &self.code.len())
            .field("idempotency_key", &self.idempotency_key.is_some())
            .finish()
    }
}

/// Read the request: `POST` only over HTTP; the input as the runtime reads it (callFunction
/// data, or an HTTP body that is JSON whatever its label, or a form); over HTTP the key may also
/// come in the `Idempotency-Key` header.
///
/// # Errors
/// `405 METHOD_NOT_ALLOWED` (HTTP, not POST), `400 MISSING_CODE`, `400 BAD_REQUEST` (not an
/// object, `code` not a string, over 512 bytes, whitespace or control characters, a bad key, a
/// header and a field that disagree, a bad body), `413`, `415`.
pub fn request_from(event: &Event) -> Result<LoginRequest, FnError> {
    event.require_method("POST")?;
    let input: Input = event.input()?;
    let header = match event {
        Event::Http(h) => h
            .header(IDEMPOTENCY_KEY_HEADER)
            .map(IdempotencyKey::parse)
            .transpose()?,
        Event::Call(_) => None,
    };
    let idempotency_key = match (header, input.idempotency_key) {
        (Some(h), Some(f)) if h != f => {
            return Err(FnError::bad_request(
                "the Idempotency-Key header and the idempotencyKey field differ; send one",
            ));
        }
        (h, f) => h.or(f),
    };
    Ok(LoginRequest {
        code: input.code.into_string(),
        idempotency_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn call(v: Value) -> Event {
        Event::classify(v).0
    }

    fn http_with(method: &str, body: &str, headers: Value) -> Event {
        call(
            json!({"httpMethod": method, "path": "/login", "headers": headers, "body": body, "isBase64Encoded": false}),
        )
    }

    fn http(method: &str, body: &str) -> Event {
        http_with(method, body, json!({"content-type": "application/json"}))
    }

    fn err(e: Event) -> (String, u16) {
        let e = request_from(&e).unwrap_err();
        (e.error.as_str().to_owned(), e.status)
    }

    #[test]
    fn code_extraction() {
        let code = |e: Event| request_from(&e).unwrap().code;
        assert_eq!(code(call(json!({"code": "abc"}))), "abc");
        assert_eq!(code(http("POST", r#"{"code":"abc"}"#)), "abc");
        assert_eq!(err(call(json!({}))), ("MISSING_CODE".into(), 400));
        assert_eq!(err(call(json!({"code": ""}))), ("MISSING_CODE".into(), 400));
        assert_eq!(err(call(json!({"code": 5}))), ("BAD_REQUEST".into(), 400));
        assert_eq!(
            err(call(json!({"code": {"a": 1}}))),
            ("BAD_REQUEST".into(), 400)
        );
        assert_eq!(err(call(json!(null))), ("BAD_REQUEST".into(), 400));
        assert_eq!(err(call(json!(["code"]))), ("BAD_REQUEST".into(), 400));
        assert_eq!(
            err(call(json!({"code": "a\u{0}b"}))),
            ("BAD_REQUEST".into(), 400)
        );
        assert_eq!(
            err(call(json!({"code": "x".repeat(513)}))),
            ("BAD_REQUEST".into(), 400)
        );
        assert_eq!(err(http("GET", "")), ("METHOD_NOT_ALLOWED".into(), 405));
        assert_eq!(err(http("POST", "{nope")), ("BAD_REQUEST".into(), 400));
        assert_eq!(err(http("POST", "{}")), ("MISSING_CODE".into(), 400));
    }

    #[test]
    fn bodies_as_people_send_them() {
        let code = |e: Event| request_from(&e).unwrap().code;
        let form = json!({"content-type": "application/x-www-form-urlencoded"});
        // curl -d '{"code":...}' labels JSON as a form.
        assert_eq!(
            code(http_with("POST", r#"{"code":"c1"}"#, form.clone())),
            "c1"
        );
        assert_eq!(code(http_with("POST", "code=c2", form.clone())), "c2");
        let text = json!({"content-type": "text/plain;charset=UTF-8"});
        assert_eq!(
            code(http_with("POST", r#"{"code":"c3"}"#, text.clone())),
            "c3"
        );
        assert_eq!(
            err(http_with("POST", "code=c4", text)),
            ("UNSUPPORTED_MEDIA_TYPE".into(), 415)
        );
        assert_eq!(
            err(http_with("POST", "code=", form)),
            ("MISSING_CODE".into(), 400)
        );
    }

    #[test]
    fn idempotency_keys() {
        let key = "k-0123456789abcdef";
        let r = request_from(&call(json!({"code": "c", "idempotencyKey": key}))).unwrap();
        assert_eq!(r.idempotency_key, Some(IdempotencyKey::parse(key).unwrap()));
        assert!(!format!("{r:?}").contains(key) && !format!("{r:?}").contains("\"c\""));
        let headers = json!({"content-type": "application/json", "idempotency-key": key});
        let r = request_from(&http_with("POST", r#"{"code":"c"}"#, headers.clone())).unwrap();
        assert_eq!(r.idempotency_key, Some(IdempotencyKey::parse(key).unwrap()));
        // Header and field agree: fine; disagree: 400.
        let both = format!(r#"{{"code":"c","idempotencyKey":"{key}"}}"#);
        assert!(request_from(&http_with("POST", &both, headers.clone())).is_ok());
        let other = r#"{"code":"c","idempotencyKey":"another-key-0123456789"}"#;
        assert_eq!(
            err(http_with("POST", other, headers)),
            ("BAD_REQUEST".into(), 400)
        );
        // Too short, too long, not visible ASCII, not a string.
        for bad in [
            json!("short"),
            json!("k".repeat(129)),
            json!("key with spaces 0123456789"),
            json!(12345678901234567_u64),
        ] {
            let e = request_from(&call(json!({"code": "c", "idempotencyKey": bad})));
            assert_eq!(e.unwrap_err().status, 400, "{bad}");
        }
        assert!(
            request_from(&call(json!({"code": "c"})))
                .unwrap()
                .idempotency_key
                .is_none()
        );
    }
}
