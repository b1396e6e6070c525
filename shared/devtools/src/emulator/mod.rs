//! A local SCF runtime-API emulator and a runner that starts a real `bootstrap` against it.
//!
//! This module exists so that a function binary can be run, tested and measured on a laptop
//! exactly as SCF runs it: the same HTTP protocol on loopback, the same environment, the same
//! limits. It is split in two because the two halves change for different reasons:
//! - [`server`]: the runtime-API server (what SCF's side of the protocol does);
//! - [`runner`]: the process runner (how SCF starts, times and stops a bootstrap).
//!
//! Like SCF where it matters (docs/platform.md, "Runtime API" and "Environment"):
//! - `POST /runtime/init/ready` is served with any body, an empty one included
//!   (`Content-Length: 0`, as public Go, Python and Node clients send it). The one request
//!   refused (400) is a POST with no body and neither `Content-Length` nor `Transfer-Encoding`:
//!   the only reported rejection by the real runtime API (the `tencent_scf` crate) concerns it;
//! - `GET /runtime/invocation/next` blocks until there is an event; a repeated GET during one
//!   invocation returns the same event; headers `request_id`, `memory_limit_in_mb`,
//!   `time_limit_in_ms` are sent lower-case (plus any extra headers, e.g. `environ`). The event
//!   is delivered byte for byte as it was queued: the emulator never parses it;
//! - the first `/response` or `/error` is final: a second result is rejected (400);
//! - a result over 6 MB is refused (413) and the invocation fails;
//! - the init timeout (ready not called) and the exec timeout (no result) kill the bootstrap;
//! - the bootstrap gets SCF's environment and nothing of the host's (see [`Runner::start`]).
//!
//! It also records the last [`SEEN_LIMIT`] requests as they arrived ([`Emulator::seen`]), so tests
//! can check what a runtime client sends, not only what it gets.

use std::time::Duration;

mod runner;
mod server;

pub use runner::{ExitInfo, InitFailure, Runner, scf_environment};
pub use server::Emulator;

/// SCF's limit on a synchronous response, bytes.
pub const RESULT_LIMIT: usize = 6 * 1024 * 1024;

/// How many received requests [`Emulator::seen`] keeps (the most recent ones).
pub const SEEN_LIMIT: usize = 64;

/// How many bytes of each request body [`Emulator::seen`] keeps.
pub const SEEN_BODY_LIMIT: usize = 1024;

/// The `PATH` a bootstrap gets: a fixed, SCF-like search path, never the host's. SCF's own value
/// for a Custom Runtime is not documented (docs/platform.md, "Environment", lists none); these folders hold
/// `bash`, `sh`, `cat`, `sleep` and the other tools a shell bootstrap needs on any Linux.
pub const BOOTSTRAP_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `TENCENTCLOUD_UIN` the bootstrap gets: an obviously fake owner uin.
pub const FAKE_UIN: &str = "100000000001";
/// `TENCENTCLOUD_SECRETID`: fake temporary role credentials (SCF sets real ones).
pub const FAKE_SECRET_ID: &str = "AKIDLOCALFAKEsecretid0000000000000000";
/// `TENCENTCLOUD_SECRETKEY`: fake, but treated as a secret: the leak check in
/// [`crate::testkit::Transcript::assert_no_leak`] looks for it in every response and log line.
pub const FAKE_SECRET_KEY: &str = "LOCALFAKEsecretkey00000000000000";
/// `TENCENTCLOUD_SESSIONTOKEN`: fake, and a secret like [`FAKE_SECRET_KEY`].
pub const FAKE_SESSION_TOKEN: &str = "LOCALFAKEsessiontoken000000000000000000000000000000";

/// Emulated function settings.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// `memory_limit_in_mb` header.
    pub memory_limit_in_mb: u32,
    /// Exec timeout: `time_limit_in_ms` header, and when the bootstrap is killed.
    pub time_limit: Duration,
    /// Init timeout: how long the bootstrap has to call `/runtime/init/ready`.
    pub init_timeout: Duration,
    /// `SCF_FUNCTIONNAME`.
    pub function_name: String,
    /// `SCF_NAMESPACE` (the CloudBase env id).
    pub namespace: String,
    /// `_HANDLER`: the function's configured handler string (cloudbaserc.json's `handler`,
    /// e.g. `index.main`).
    pub handler: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            memory_limit_in_mb: 128,
            time_limit: Duration::from_secs(3),
            init_timeout: Duration::from_secs(10),
            function_name: "function".into(),
            namespace: "local-dev-env".into(),
            handler: "index.main".into(),
        }
    }
}

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
    /// The body's first [`SEEN_BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
}
