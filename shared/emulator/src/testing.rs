//! What a function's integration test needs to run its binary on the emulator: a runner started
//! the way every test starts one (the test env id as `SCF_NAMESPACE`, the binary's name as the
//! function's), and the readers of its outcome. They panic with the outcome in the message,
//! because a test that expected a response and got something else should say what it got.

use std::path::Path;

use serde_json::Value;

use crate::emulator::{EmulatorConfig, InitFailure, Outcome, Runner};

/// The env id of the tests: `SCF_NAMESPACE` of every runner [`start`] starts.
pub const TEST_ENV: &str = "test-env-1a2b";

/// Start `bootstrap` with `env` on a fresh emulator (time limit `time_limit_ms`, in
/// milliseconds). Panics with the init failure and the bootstrap's logs.
pub async fn start(bootstrap: &Path, env: &[(String, String)], time_limit_ms: u64) -> Runner {
    try_start(bootstrap, env, time_limit_ms)
        .await
        .unwrap_or_else(|f| panic!("init failed: {}\n{}", f.reason, f.logs))
}

/// As [`start`], returning the init failure.
///
/// # Errors
/// [`InitFailure`]: the bootstrap did not become ready (exited, or the init timeout passed).
pub async fn try_start(
    bootstrap: &Path,
    env: &[(String, String)],
    time_limit_ms: u64,
) -> Result<Runner, InitFailure> {
    let config = EmulatorConfig {
        time_limit: std::time::Duration::from_millis(time_limit_ms),
        namespace: TEST_ENV.into(),
        function_name: bootstrap
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..EmulatorConfig::default()
    };
    Runner::start(bootstrap, env, config, false).await
}

/// The body of a `/response` outcome as JSON (panics otherwise).
pub fn response_json(o: &Outcome) -> Value {
    match o {
        Outcome::Response(b) => {
            serde_json::from_slice(b).unwrap_or_else(|e| panic!("response is not JSON: {e}"))
        }
        other => panic!("expected a /response, got {other:?}"),
    }
}

/// An HTTP integrated response: `(statusCode, headers, parsed body)` (panics otherwise).
pub fn http_parts(o: &Outcome) -> (u16, Value, Value) {
    let r = response_json(o);
    let status = r["statusCode"].as_u64().expect("statusCode") as u16;
    let body: Value =
        serde_json::from_str(r["body"].as_str().expect("body string")).expect("JSON body");
    (status, r["headers"].clone(), body)
}
