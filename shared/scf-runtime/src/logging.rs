//! Logging setup: `tracing` to stdout, which SCF collects (`docs/platform.md` "Logs").
//!
//! - `RUST_LOG` sets the filter (default `info`), e.g. `RUST_LOG=debug` or
//!   `RUST_LOG=info,scf_runtime=debug,wxlogin=debug` (`target=level` pairs; tracing-subscriber's `Targets` syntax,
//!   without env-filter's span/field directives, which would link a regex engine into every
//!   bootstrap).
//! - `LOG_FORMAT=json` switches to one JSON object per line; anything else is plain text.
//!
//! Every line logged inside an invocation carries its `request_id` (the runtime loop runs each
//! invocation in an `invocation{request_id=...}` span). Nothing here ever logs a secret: callers
//! log error codes and setting names, not values.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The filter for a `RUST_LOG` value: `None` or empty gives `info`; a value that does not parse
/// gives `info` and the reason.
pub fn filter_from(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let default = Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => (default, None),
        Some(s) => match s.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                default,
                Some(format!(
                    "RUST_LOG is not `level` or `target=level,...` ({e}); using info"
                )),
            ),
        },
    }
}

/// Install the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init() {
    let (filter, problem) = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(fmt.json().with_current_span(true).with_span_list(false))
            .try_init()
    } else {
        registry.with(fmt).try_init()
    };
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_values() {
        let enabled = |t: &Targets, target: &str, level| t.would_enable(target, &level);
        let (t, p) = filter_from(None);
        assert!(
            p.is_none()
                && enabled(&t, "x", tracing::Level::INFO)
                && !enabled(&t, "x", tracing::Level::DEBUG)
        );
        let (t, _) = filter_from(Some("debug"));
        assert!(enabled(&t, "x", tracing::Level::DEBUG));
        let (t, _) = filter_from(Some("warn,scf_runtime=debug"));
        assert!(
            enabled(&t, "scf_runtime::event_loop", tracing::Level::DEBUG)
                && !enabled(&t, "other", tracing::Level::INFO)
        );
        let (t, p) = filter_from(Some("=nonsense=="));
        assert!(p.is_some() && enabled(&t, "x", tracing::Level::INFO));
    }
}
