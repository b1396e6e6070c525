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

mod config;
mod outcome;
mod runner;
mod server;

pub use config::{
    BOOTSTRAP_PATH, EmulatorConfig, FAKE_SECRET_ID, FAKE_SECRET_KEY, FAKE_SESSION_TOKEN, FAKE_UIN,
    RESULT_LIMIT, SEEN_BODY_LIMIT, SEEN_LIMIT,
};
pub use outcome::{Outcome, SeenRequest};
pub use runner::{ExitInfo, InitFailure, Runner, scf_environment};
pub use server::Emulator;
