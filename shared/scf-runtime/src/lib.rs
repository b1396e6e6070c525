//! A runtime for Tencent SCF custom-runtime functions (and CloudBase HTTP functions), in the
//! shape of `lambda_runtime`: a handler is a plain async function over an [`Event`] and a
//! [`Context`], and the runtime owns the protocol and the plumbing around it.
//!
//! ```no_run
//! use scf_runtime::{Context, Event, FnError};
//!
//! #[derive(serde::Deserialize)]
//! struct Input {
//!     name: String,
//! }
//!
//! async fn hello(event: Event, ctx: Context) -> Result<String, FnError> {
//!     let input: Input = event.input()?;
//!     let caller = ctx.identity.openid.unwrap_or_else(|| "nobody".into());
//!     Ok(format!("hello {}, from {caller}", input.name))
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::process::ExitCode {
//!     scf_runtime::init_logging();
//!     scf_runtime::run(hello).await
//! }
//! ```
//!
//! # Features
//! - none (the default): the runtime loop, web mode, the context, typed input, replies, and the
//!   caller from the platform's own channels (`userInfo`, the `/next` context header). No TLS and
//!   no JWT code in the binary.
//! - `access-token`: the [`Caller`] extractor also checks an HTTP caller's CloudBase access token
//!   (RS256 against the env's key set, or CloudBase's introspect), [`User`] refuses anonymous
//!   callers, [`User::with_openid`] finds a custom-ticket user's openid. Without it, a token
//!   names nobody (`401 UNAUTHENTICATED`).
//! - `outbound`: `https_client_builder` and `read_capped`, outbound HTTPS set up one way (Mozilla's
//!   roots compiled in, no redirects, capped reads), for functions that call other services.
//!
//! The caller is an extractor, worked out only when a handler names it:
//!
//! ```no_run
//! use scf_runtime::{Context, Event, FnError, FromContext, User};
//!
//! async fn whoami(_event: Event, ctx: Context) -> Result<String, FnError> {
//!     // 401 UNAUTHENTICATED, INVALID_TOKEN or ANONYMOUS, 503 AUTH_UNAVAILABLE: passed on.
//!     let User(user) = User::from_context(&ctx).await?;
//!     Ok(user.uid.or(user.openid).unwrap_or_default())
//! }
//! ```
//!
//! Examples, each a whole function: `examples/hello.rs`, `shared_state.rs` (state built once at
//! init, settings with clear errors), `status.rs` (a status and headers), `caller.rs` (who called),
//! `http_function.rs` (an HTTP function).
//!
//! # Layout
//! Data flows one way: event → context → handler → response. Each file is one concept:
//! - `event_loop.rs`: event mode, the SCF runtime-API loop; `runtime_api.rs`: its transport;
//! - `web/`: web mode (`--web`), the same handlers as an HTTP server (CloudBase HTTP
//!   functions);
//! - `pipeline.rs`: one invocation, the same steps in both modes; `panic.rs`: panic capture;
//! - `event.rs`: event kinds; `http_event.rs`: an HTTP request (`http::Request<Bytes>`, built
//!   once in either mode); `input.rs`: typed input (`value_de.rs`: its errors by serde's kind);
//!   `response.rs`: replies as `http::Response`s and integrated responses; `payload.rs`: SCF's
//!   6 MB;
//! - `context.rs`: request id, deadline, instance facts, extensions (plain data); `channels.rs`:
//!   the names the platform's channels carried (for the probe); `identity.rs`: the caller, only from
//!   platform-controlled channels; `auth/`: the caller over HTTP, from a verified CloudBase
//!   access token; `caller.rs`: the [`Caller`] and [`User`] extractors ([`FromContext`]);
//! - `config.rs`: settings read once at init; `error.rs`: business errors and diagnostics;
//!   `error_code.rs`: [`ErrorCode`];
//!   `logging.rs`, `secret.rs`, `signal.rs`; `outbound.rs`: outbound HTTPS set up one way.
//!
//! Modules are private; everything a function uses is re-exported here. The platform facts the
//! code relies on are in `docs/platform.md`, each with its public source.

mod auth;
mod caller;
mod channels;
mod config;
mod context;
mod error;
mod error_code;
mod event;
mod event_loop;
mod http_event;
mod identity;
mod input;
mod logging;
#[cfg(feature = "outbound")]
mod outbound;
mod panic;
mod payload;
mod pipeline;
mod response;
mod runtime_api;
mod secret;
mod signal;
mod value_de;
mod web;

use std::process::ExitCode;

#[cfg(feature = "access-token")]
pub use auth::issuer_form;
pub use auth::{
    ContextHeaderError, MAX_CONTEXT_HEADER_BYTES, MAX_CONTEXT_JSON_BYTES, MAX_TOKEN_BYTES,
    decode_cloudbase_context,
};
pub use caller::{Caller, User};
pub use channels::ChannelNames;
pub use config::{Configured, Misconfig, Settings, configure};
pub use context::{Context, FromContext, InstanceInfo};
pub use error::{FnError, error_chain};
pub use error_code::ErrorCode;
pub use event::Event;
pub use event_loop::run_with;
pub use http_event::HttpEvent;
pub use identity::{Identity, IdentitySource, TokenCheck, WxContext};
pub use logging::init as init_logging;
#[cfg(feature = "outbound")]
pub use outbound::{CappedReadError, https_client_builder, read_capped};
pub use payload::MAX_PAYLOAD_BYTES;
pub use response::{IntegratedResponse, IntoReply, Reply};
pub use runtime_api::RetryPolicy;
pub use secret::Secret;
pub use web::{HEAD_TIMEOUT, WEB_FLAG};

/// Internals for the fuzz targets (`shared/scf-runtime/fuzz`), behind the `fuzzing` feature:
/// not API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::auth::fuzz_offline;
    pub use crate::context::InvocationHeaders;
    pub use crate::error::Diagnostic;
    pub use crate::event::Decoded;
    pub use crate::identity::{
        ContextHeader, ContextVars, IDENTITY_KEYS, Identity, IdentitySource, UserInfo,
        cloudbase_context, context_from_headers, parse_environ, parse_environment,
    };
    pub use crate::logging::filter_from;
}

/// Run `handler` for every invocation until SIGTERM; returns the process exit code.
///
/// - With the command-line argument `--web` ([`WEB_FLAG`]) the process serves HTTP on
///   `0.0.0.0:${PORT:-9000}` (web mode, for CloudBase HTTP functions).
/// - Otherwise it is an SCF bootstrap (event mode) and needs `SCF_RUNTIME_API` and
///   `SCF_RUNTIME_API_PORT`; started with neither, it exits 1 and says both ways.
///
/// The handler is a plain `async fn(Event, Context) -> Result<T, FnError>`. `T` is any
/// `Serialize` value (a `200` over HTTP) or a [`Reply`] with a status and headers. An `Err` is a
/// business error: a result object for a callFunction, an integrated response with its status
/// for HTTP. A panic fails that invocation only.
pub async fn run<F, T>(handler: F) -> ExitCode
where
    F: AsyncFn(Event, Context) -> Result<T, FnError>,
    T: IntoReply,
{
    panic::install_hook();
    // Web mode is asked for explicitly (scf_bootstrap passes --web); otherwise the runtime API.
    if std::env::args().skip(1).any(|a| a == WEB_FLAG) {
        web::serve_from_env(handler).await
    } else {
        event_loop::run_from_env(handler).await
    }
}
