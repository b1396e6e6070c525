//! Panic capture: a handler panic becomes that invocation's error, in both modes, with one log
//! line that carries the request id.
//!
//! Two halves, because Rust splits them: the *hook* runs where the panic happens, so it knows
//! the location and, being inside the invocation's tracing span, the request id; `catch_unwind`
//! runs where the handler was called, and turns the unwinding into a value. The hook is
//! installed once by [`crate::run`] for event mode and web mode alike (it used to be installed in
//! event mode only, so a web-mode panic went to stderr as plain text, without a request id).
//! Functions are built with `panic = "unwind"` (the workspace's release profile) for this.

use std::panic::AssertUnwindSafe;
use std::sync::Once;

use futures_util::FutureExt as _;
use tracing::error;

/// Install the logging panic hook (once per process; later calls do nothing).
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            error!(%location, "handler panicked: {}", message(info.payload()));
        }));
    });
}

/// A caught panic: its message (`&str` and `String` payloads; others are named as such).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("handler panicked: {0}")]
pub(crate) struct Panicked(pub(crate) String);

/// Run `fut`, turning a panic into `Err` with its message.
pub(crate) async fn catch<T>(fut: impl Future<Output = T>) -> Result<T, Panicked> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|payload| Panicked(message(&*payload)))
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
