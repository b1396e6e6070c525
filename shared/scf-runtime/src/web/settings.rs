//! Web mode's limits, read once at start from the environment: the connection cap
//! (`WEB_MAX_CONNECTIONS`), the head and idle timeouts (`WEB_IDLE_TIMEOUT_SECS`) and the body
//! budget. Its own file because the server reads them and the tests build them by hand.

use std::time::Duration;

use super::body;
use super::limits;

/// How long a client has to send a complete request head: from the connection's accept, or, on
/// a keep-alive connection, from the first byte of the next head. A few seconds: the client is
/// normally the platform's gateway on the same network, which sends a head in one packet. Go's
/// `net/http` calls this `ReadHeaderTimeout`.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a keep-alive connection may stay idle between requests, unless
/// `WEB_IDLE_TIMEOUT_SECS` says otherwise. Long, because a gateway that pools connections to us
/// and reuses one just as we close it fails that request (nginx keeps upstream connections 60 s,
/// so 75 s, nginx's own client default, outlives it). Idle connections cost no more than a
/// descriptor and a few KB, and they are shed first-come at the cap.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// The environment variable that sets the idle timeout, in whole seconds.
pub const IDLE_TIMEOUT_VAR: &str = "WEB_IDLE_TIMEOUT_SECS";

/// Web mode's limits, read once at start.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The most connections held at once ([`limits::connection_cap`]).
    pub max_connections: usize,
    /// See [`HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`body::BODY_BUDGET_BYTES`].
    pub body_budget: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: limits::MAX_DEFAULT_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_budget: body::BODY_BUDGET_BYTES,
        }
    }
}

impl Settings {
    /// The settings from `WEB_MAX_CONNECTIONS` and `WEB_IDLE_TIMEOUT_SECS` (looked up through
    /// `lookup`) and the descriptor limit `nofile`. Returns them with any warnings to log.
    ///
    /// # Errors
    /// A message naming the variable when one is set but is not a whole number from 1 up.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        nofile: Option<u64>,
    ) -> Result<(Settings, Option<String>), String> {
        let (max_connections, warning) =
            limits::connection_cap(lookup(limits::MAX_CONNECTIONS_VAR).as_deref(), nofile)?;
        let idle_timeout = match lookup(IDLE_TIMEOUT_VAR)
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => DEFAULT_IDLE_TIMEOUT,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    format!("{IDLE_TIMEOUT_VAR}={v:?} is not a whole number of seconds from 1 up")
                })?,
        };
        Ok((
            Settings {
                max_connections,
                idle_timeout,
                ..Settings::default()
            },
            warning,
        ))
    }
}
