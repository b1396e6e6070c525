//! Web mode: the same handlers as CloudBase HTTP cloud functions (web functions).
//!
//! A web function's `scf_bootstrap` starts an HTTP server on `0.0.0.0:9000` (`docs/platform.md`
//! "HTTP functions"; `tcb fn deploy --httpFn`). Started with `--web`, a function binary serves
//! `0.0.0.0:${PORT:-9000}` with hyper (HTTP/1.1) and hands each request to the handler as it came:
//! - hyper's request, its body read whole, is the [`HttpEvent`]'s `http::Request<Bytes>` (every
//!   header copy, the body's bytes as sent, binary ones included; no JSON shape in between);
//! - `X-Scf-Request-Id` is the request id (else `web-<pid>-<n>`), `X-Scf-Timeout` the time
//!   limit in **milliseconds** (else [`request::DEFAULT_TIME_LIMIT`]), `X-Scf-Memory` the memory in MB.
//!   SCF documents that clients cannot set headers beginning with `X-Scf-` (SCF doc 583/56129),
//!   but we do not rely on it: when a header comes more than once, the **last** copy is used,
//!   because a proxy that adds its own header appends it after whatever the client sent. A
//!   request id is used only when it is a short token of safe characters (`headers::is_safe_request_id`);
//!   anything else is replaced by a generated id (and a WARN names the header, never the value),
//!   so a client cannot write fields into a log line;
//! - a body over 6 MB gets `413 PAYLOAD_TOO_LARGE` without being read further;
//! - the handler's answer is written as the `http::Response` the pipeline built (no integrated
//!   response in between); a handler panic becomes `500 INTERNAL`, a body over 6 MB
//!   `500 RESULT_TOO_LARGE`.
//!
//! No identity: nothing in a web function's request is vouched for by the platform (the identity
//! headers of WeChat CloudRun are not documented for CloudBase HTTP functions, and a client can
//! send any `x-wx-*` header), so [`Context::identity`] is always empty.
//!
//! Requests are served concurrently on the current thread (one future per connection, no
//! `Send` needed), so handler state such as getLoginTicket's code cache is shared safely.
//! SIGTERM stops accepting, lets requests in flight finish (at most [`server::DRAIN_LIMIT`]), and
//! exits 0.
//!
//! **Hostile and careless clients.** Every resource a client can hold is bounded:
//! - time: a complete request head within [`HEAD_TIMEOUT`]; the body within the request's time
//!   limit, else `408` ([`body`]); a keep-alive connection idle for
//!   [`settings::DEFAULT_IDLE_TIMEOUT`] (`WEB_IDLE_TIMEOUT_SECS`) is closed ([`conn`] explains
//!   why these are our timers, not hyper's);
//! - descriptors: the soft `RLIMIT_NOFILE` is raised to the hard limit, connections are capped
//!   below it (`WEB_MAX_CONNECTIONS`), and at the cap the connection that has waited longest for a
//!   request head is shed to let a new client in ([`limits`]);
//! - memory: a head is at most [`server::MAX_HEAD_BYTES`]; bodies share a byte budget, past
//!   which they get `503` ([`body`]).
//!
//! One file per concept: `server.rs` (the accept loop, the cap, the drain), `request.rs` (one
//! request through the pipeline), `settings.rs` (the limits read at start), `body.rs`,
//! `conn.rs`, `limits.rs` and `headers.rs` (the last-copy rule and safe request ids).

pub mod body;
pub mod conn;
mod headers;
pub mod limits;
mod request;
mod server;
mod settings;

pub(crate) use server::serve_from_env;
pub use settings::HEAD_TIMEOUT;

/// The command-line switch that selects web mode.
pub const WEB_FLAG: &str = "--web";
