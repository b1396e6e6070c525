//! SIGTERM, the one signal SCF sends before it stops an instance; both modes stop on it.
//!
//! Why a file: listening can fail (no signal driver), and both modes must then go on serving,
//! with one WARN, rather than stop.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::warn;

/// Start listening for SIGTERM; `None` (after a WARN) when the process cannot.
pub(crate) fn sigterm() -> Option<Signal> {
    match signal(SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("cannot listen for SIGTERM ({e}); the process will stop only when killed");
            None
        }
    }
}

/// The next SIGTERM; never, when SIGTERM could not be listened for.
pub(crate) async fn recv(sigterm: &mut Option<Signal>) -> Option<()> {
    match sigterm.as_mut() {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
