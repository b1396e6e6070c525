//! Descriptors and the connection cap: why web mode can never run out of file descriptors in a
//! loop, and how many connections it holds at once.
//!
//! An SCF instance has 1,024 descriptors (`docs/platform.md` "HTTP functions"). Without a cap, a slowloris
//! fills them, `accept` fails with `EMFILE` on every call (tokio keeps the listener readable, so
//! the loop spins and logs each failure), and good clients wait in the listen backlog until they
//! time out. So, at start, the soft `RLIMIT_NOFILE` is raised to the hard limit; connections are
//! capped below it ([`connection_cap`], `WEB_MAX_CONNECTIONS`); and an `accept` failure pauses
//! accepting with a growing back-off and is logged at most once per [`ACCEPT_LOG_EVERY`]
//! ([`AcceptErrors`]).

use std::time::{Duration, Instant};

use tracing::warn;

/// Descriptors kept for everything that is not a client connection: stdio, the listener, the
/// runtime's epoll and wake-up descriptors, the key file, DNS.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// The most connections held at once when `WEB_MAX_CONNECTIONS` is not set, whatever the
/// descriptor limit. Each connection may hold up to [`super::server::MAX_HEAD_BYTES`] of request head plus
/// hyper's buffers and its own state (a slowloris of 1,100 measured about 33 KiB per held
/// connection in a debug build, with small heads); 512 of them at ~45 KiB are ~23 MiB, which
/// leaves room for the body budget under half of 128 MB (see [`super::body::BODY_BUDGET_BYTES`]).
/// An SCF instance (1,024 descriptors) gets 480 anyway.
pub const MAX_DEFAULT_CONNECTIONS: usize = 512;

/// The environment variable that sets the connection cap.
pub const MAX_CONNECTIONS_VAR: &str = "WEB_MAX_CONNECTIONS";

/// At most one WARN about `accept` failures per this period; the others are counted in it.
pub const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// The first pause after a failed `accept`; it doubles on each failure in a row, up to
/// [`ACCEPT_MAX_PAUSE`].
pub const ACCEPT_FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause after failed `accept`s.
pub const ACCEPT_MAX_PAUSE: Duration = Duration::from_secs(1);

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (a non-root process may always do so).
/// Returns the soft limit now in force, or `None` when it cannot be read.
///
/// Uses `libc` (already in the dependency tree through tokio and mio), as std has no rlimit API.
pub fn raise_nofile_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write only the local struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    // RLIM_INFINITY is u64::MAX: any cap is below it.
    Some(lim.rlim_cur)
}

/// The connection cap: `WEB_MAX_CONNECTIONS` when set, else the descriptor limit less
/// [`RESERVED_DESCRIPTORS`], halved, at most [`MAX_DEFAULT_CONNECTIONS`] (480 with 1,024
/// descriptors). Halved because each connection may also hold one to WeChat while its login is
/// exchanged. Returns the cap and, when a set value leaves too few descriptors, a warning.
///
/// # Errors
/// A message naming the variable when it is set but is not a whole number from 1 up.
pub fn connection_cap(
    setting: Option<&str>,
    nofile: Option<u64>,
) -> Result<(usize, Option<String>), String> {
    let safe = nofile.map(|n| n.saturating_sub(RESERVED_DESCRIPTORS) / 2);
    let Some(text) = setting.map(str::trim).filter(|s| !s.is_empty()) else {
        let cap = safe
            .map_or(MAX_DEFAULT_CONNECTIONS as u64, |s| {
                s.min(MAX_DEFAULT_CONNECTIONS as u64)
            })
            .max(1);
        return Ok((cap as usize, None));
    };
    let cap = text
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!("{MAX_CONNECTIONS_VAR}={text:?} is not a whole number of connections from 1 up")
        })?;
    let warning = safe.filter(|s| cap as u64 > *s).map(|s| {
        format!(
            "{MAX_CONNECTIONS_VAR}={cap} is over {s}, what the descriptor limit of {} leaves for two descriptors per connection; accept may fail with EMFILE (handled: waiting connections are shed)",
            nofile.unwrap_or_default()
        )
    });
    Ok((cap, warning))
}

/// Failed `accept`s: how long to pause, and when to say so.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    in_a_row: u32,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// Record a failure at `now`; returns the pause before the next `accept`. Logs a WARN at most
    /// once per [`ACCEPT_LOG_EVERY`], counting the failures it did not log.
    pub fn failed(&mut self, e: &std::io::Error, now: Instant) -> Duration {
        self.in_a_row = self.in_a_row.saturating_add(1);
        let pause = ACCEPT_FIRST_PAUSE
            .saturating_mul(1u32 << self.in_a_row.saturating_sub(1).min(16))
            .min(ACCEPT_MAX_PAUSE);
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= ACCEPT_LOG_EVERY)
        {
            warn!(
                failures_not_logged = self.unlogged,
                pause_ms = pause.as_millis() as u64,
                "accept failed: {e}; pausing accept (logged at most every {}s)",
                ACCEPT_LOG_EVERY.as_secs()
            );
            self.last_log = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        pause
    }

    /// Record a successful `accept`: the next failure pauses briefly again.
    pub fn succeeded(&mut self) {
        self.in_a_row = 0;
    }
}

/// Whether an `accept` error means the process or system is out of descriptors or memory
/// (rather than one connection failing), so that shedding a waiting connection may help.
pub fn is_exhaustion(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps() {
        assert_eq!(connection_cap(None, Some(1024)), Ok((480, None)));
        assert_eq!(connection_cap(None, Some(1_048_576)), Ok((512, None)));
        assert_eq!(connection_cap(None, None), Ok((512, None)));
        assert_eq!(connection_cap(None, Some(10)), Ok((1, None)));
        assert_eq!(connection_cap(Some(" 200 "), Some(1024)), Ok((200, None)));
        let (cap, warning) = connection_cap(Some("5000"), Some(1024)).unwrap();
        assert!(cap == 5000 && warning.is_some_and(|w| w.contains("EMFILE")));
        for bad in ["0", "-1", "many", "1e3"] {
            let e = connection_cap(Some(bad), Some(1024)).unwrap_err();
            assert!(e.starts_with(MAX_CONNECTIONS_VAR), "{e}");
        }
    }

    #[test]
    fn accept_errors_back_off_and_log_rarely() {
        let mut a = AcceptErrors::default();
        let e = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert!(is_exhaustion(&e));
        let t0 = Instant::now();
        let pauses: Vec<_> = (0..10)
            .map(|i| a.failed(&e, t0 + i * ACCEPT_FIRST_PAUSE))
            .collect();
        assert_eq!(pauses[0], ACCEPT_FIRST_PAUSE);
        assert_eq!(pauses[1], ACCEPT_FIRST_PAUSE * 2);
        assert_eq!(pauses[9], ACCEPT_MAX_PAUSE);
        assert_eq!((a.unlogged, a.last_log), (9, Some(t0)));
        a.failed(&e, t0 + ACCEPT_LOG_EVERY);
        assert_eq!(a.unlogged, 0, "logged again after the period");
        a.succeeded();
        assert_eq!(a.failed(&e, t0), ACCEPT_FIRST_PAUSE);
        assert!(!is_exhaustion(&std::io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }
}
