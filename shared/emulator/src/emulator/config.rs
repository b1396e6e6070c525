//! What an emulated function is configured with: its settings ([`EmulatorConfig`]), SCF's
//! limits, and the fake platform values a bootstrap gets. Its own file because the runner and the
//! server both read it.

use std::time::Duration;

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
/// `wxlogin_devtools::testkit::Transcript::assert_no_leak` looks for it in every response and log line.
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
