//! What the emulator reports: how an invocation ended, and the requests it received. Its own file
//! because the server produces them and the runner hands them on.

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bootstrap posted `/runtime/invocation/response` with this body.
    Response(Vec<u8>),
    /// The bootstrap posted `/runtime/invocation/error` with this body (or its result was refused).
    Error(Vec<u8>),
    /// No result within the exec timeout; the bootstrap was killed.
    Timeout,
    /// The bootstrap exited during the invocation.
    Crashed(String),
}

impl Outcome {
    /// The body as JSON, for `Response` and `Error`.
    pub fn json(&self) -> Option<serde_json::Value> {
        match self {
            Outcome::Response(b) | Outcome::Error(b) => serde_json::from_slice(b).ok(),
            _ => None,
        }
    }
}

/// One request as the emulator received it, for tests of what a runtime client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/runtime/init/ready`.
    pub path: String,
    /// The `Content-Type` header, if any (the last copy).
    pub content_type: Option<String>,
    /// The `Content-Length` header, if any.
    pub content_length: Option<String>,
    /// The `Transfer-Encoding` header, if any.
    pub transfer_encoding: Option<String>,
    /// The body's first [`super::SEEN_BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
}
