//! Reading an invocation's result in a test: the body of a `/response` as JSON, or the parts of an
//! HTTP integrated response. They panic with the outcome in the message, because a test that
//! expected a response and got something else should say what it got.

use serde_json::Value;

use crate::emulator::Outcome;

/// The body of a `/response` outcome as JSON (panics otherwise).
pub fn response_json(o: &Outcome) -> Value {
    match o {
        Outcome::Response(b) => {
            serde_json::from_slice(b).unwrap_or_else(|e| panic!("response is not JSON: {e}"))
        }
        other => panic!("expected a /response, got {other:?}"),
    }
}

/// An HTTP integrated response: `(statusCode, headers, parsed body)`.
pub fn http_parts(o: &Outcome) -> (u16, Value, Value) {
    let r = response_json(o);
    let status = r["statusCode"].as_u64().expect("statusCode") as u16;
    let body: Value =
        serde_json::from_str(r["body"].as_str().expect("body string")).expect("JSON body");
    (status, r["headers"].clone(), body)
}
