//! Logging setup: `tracing` to stdout, which SCF collects (`scf-runtime.md` §1.3).
//!
//! - `RUST_LOG` sets the filter (default `info`), e.g. `RUST_LOG=debug` or `RUST_LOG=wxlogin=debug`.
//! - `LOG_FORMAT=json` switches to one JSON object per line; anything else is plain text.
//!
//! Every line logged inside an invocation carries its `request_id` (the runtime loop runs each
//! invocation in an `invocation{request_id=...}` span). Nothing here ever logs a secret: callers
//! log error codes and setting names, not values.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_target(false);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
