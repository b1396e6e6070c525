//! What a getPhoneNumber call asks for: `{code}`, the code from
//! `<button open-type="getPhoneNumber" bindgetphonenumber>` (`e.detail.code`), with the same
//! input rules as getLoginTicket's `code`.

use scf_runtime::{Event, FnError};
use serde::Deserialize;

pub use wxlogin::MAX_CODE_BYTES;

/// A getPhoneNumber code: the shared code rule ([`wxlogin::WxCode`]: at most 512 bytes, no
/// whitespace or control characters; `Debug` shows only its length).
pub type PhoneCode = wxlogin::WxCode;

/// The input, as the runtime reads it (`Event::input`): `code` is required; a blank or `null`
/// one is `MISSING_CODE`.
#[derive(Deserialize)]
struct Input {
    code: PhoneCode,
}

/// Read the request: `POST` only over HTTP; the input as the runtime reads it (callFunction
/// data, or an HTTP body that is JSON whatever its label, or a form).
///
/// # Errors
/// `405 METHOD_NOT_ALLOWED` (HTTP, not POST), `400 MISSING_CODE`, `400 BAD_REQUEST` (not an
/// object, `code` not a string, over 512 bytes, whitespace or control characters, a bad body),
/// `413`, `415`.
pub fn request_from(event: &Event) -> Result<PhoneCode, FnError> {
    event.require_method("POST")?;
    let input: Input = event.input()?;
    Ok(input.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn call(v: Value) -> Event {
        Event::classify(v).0
    }

    fn http(method: &str, body: &str) -> Event {
        call(
            json!({"httpMethod": method, "path": "/", "headers": {"content-type": "application/json"}, "body": body, "isBase64Encoded": false}),
        )
    }

    fn err(e: Event) -> (String, u16) {
        let e = request_from(&e).unwrap_err();
        (e.error.as_str().to_owned(), e.status)
    }

    #[test]
    fn code_extraction() {
        let code = |e: Event| request_from(&e).unwrap();
        assert_eq!(code(call(json!({"code": "abc"}))).as_str(), "abc");
        assert_eq!(code(http("POST", r#"{"code":"abc"}"#)).as_str(), "abc");
        assert!(!format!("{:?}", code(call(json!({"code": "abc"})))).contains("abc"));
        assert_eq!(err(call(json!({}))), ("MISSING_CODE".into(), 400));
        assert_eq!(err(call(json!({"code": ""}))), ("MISSING_CODE".into(), 400));
        assert_eq!(err(call(json!({"code": 5}))), ("BAD_REQUEST".into(), 400));
        assert_eq!(err(call(json!(null))), ("BAD_REQUEST".into(), 400));
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
    }
}
