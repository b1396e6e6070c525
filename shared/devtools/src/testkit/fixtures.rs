//! Test fixtures: what a test needs before it can run a function binary. A mock WeChat with a
//! fresh key file, the binaries cargo built, bash bootstraps that misbehave on purpose, and a
//! runner started the way every test starts one (the fixture's env id as `SCF_NAMESPACE`, the
//! binary's name as the function's).
//!
//! Keys are generated per fixture, never committed: a test that leaks a key leaks a throwaway.

use std::path::{Path, PathBuf};

use wxlogin::CustomLoginKey;

use super::leaks::{Sentinels, pem_body_lines};
use crate::emulator::{EmulatorConfig, InitFailure, Runner};
use crate::mock_wechat::MockWeChat;

/// AppID the test mock expects.
pub const APPID: &str = "wxtest00000000001";
/// AppSecret the test mock expects. Tests assert it never appears in logs or answers.
pub const SECRET: &str = "TESTAPPSECRET0123456789abcdef";
/// Env id of the test key.
pub const ENV: &str = "test-env-1a2b";

/// A mock WeChat and a fresh 1024-bit key file (the console's size) in a temp folder.
pub struct LoginFixture {
    /// The jscode2session mock.
    pub mock: MockWeChat,
    /// The AppSecret the mock expects and [`LoginFixture::env`] sets.
    pub secret: String,
    /// Path of the key file.
    pub key_path: PathBuf,
    /// The parsed key, to verify tickets.
    pub key: CustomLoginKey,
    /// The key file's JSON text (tests assert its PEM never leaks).
    pub key_json: String,
    dir: PathBuf,
}

impl Drop for LoginFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl LoginFixture {
    /// Start the mock and write a key.
    pub async fn new() -> Self {
        Self::with_secrets(SECRET, crate::mock_wechat::SESSION_KEY_MARKER).await
    }

    /// As [`LoginFixture::new`], with the AppSecret and session_key prefix of `sentinels`.
    pub async fn with_sentinels(sentinels: &Sentinels) -> Self {
        Self::with_secrets(&sentinels.app_secret, &sentinels.session_key).await
    }

    async fn with_secrets(secret: &str, session_key_marker: &str) -> Self {
        let mock = MockWeChat::start_with(APPID, secret, session_key_marker)
            .await
            .expect("mock WeChat");
        let dir = std::env::temp_dir().join(format!(
            "wxlogin-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let key_json = crate::keys::new_key_file(1024, ENV).expect("keygen");
        let key_path = dir.join("tcb_custom_login.json");
        crate::keys::write_key_file(&key_path, &key_json).expect("write key");
        let key = CustomLoginKey::from_json(&key_json).expect("key");
        LoginFixture {
            mock,
            secret: secret.to_owned(),
            key_path,
            key,
            key_json,
            dir,
        }
    }

    /// The environment getLoginTicket needs for this fixture.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("WX_APPID".into(), APPID.into()),
            ("WX_SECRET".into(), self.secret.clone()),
            ("TCB_ENV".into(), ENV.into()),
            ("WECHAT_API_BASE".into(), self.mock.base_url()),
            (
                "TCB_CUSTOM_LOGIN_KEY_FILE".into(),
                self.key_path.display().to_string(),
            ),
        ]
    }

    /// The folder the fixture owns (removed on drop), for extra files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The base64 body lines of the private key's PEM, each a sentinel for a leak.
    pub fn pem_lines(&self) -> Vec<String> {
        pem_body_lines(&self.key_json)
    }

    /// The private key's first PEM body line (to look for in logs).
    pub fn pem_fragment(&self) -> String {
        self.pem_lines()
            .into_iter()
            .next()
            .expect("the key file has a PEM body")
    }
}

/// Start `bootstrap` with `env` on a fresh emulator (time limit `time_limit_ms`).
pub async fn start(bootstrap: &Path, env: &[(String, String)], time_limit_ms: u64) -> Runner {
    try_start(bootstrap, env, time_limit_ms)
        .await
        .unwrap_or_else(|f| panic!("init failed: {}\n{}", f.reason, f.logs))
}

/// As [`start`], returning the init failure.
pub async fn try_start(
    bootstrap: &Path,
    env: &[(String, String)],
    time_limit_ms: u64,
) -> Result<Runner, InitFailure> {
    let config = EmulatorConfig {
        time_limit: std::time::Duration::from_millis(time_limit_ms),
        namespace: ENV.into(),
        function_name: bootstrap
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..EmulatorConfig::default()
    };
    Runner::start(bootstrap, env, config, false).await
}

/// A bash `bootstrap` in its own temp folder, for misbehaving-runtime tests. The script gets shell
/// functions `post PATH BODY` and `get PATH`, which talk to the runtime API through `/dev/tcp`, and
/// then runs `body` (e.g. `post /runtime/init/ready ' '; sleep 30`). Remove the folder when done.
pub fn script_bootstrap(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wxlogin-script-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bootstrap");
    let post = r#"post() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$1" "${#2}" "$2" >&3; cat <&3 >/dev/null; }"#;
    let get = r#"get() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3; cat <&3 >/dev/null; }"#;
    std::fs::write(&path, format!("#!/bin/bash\n{post}\n{get}\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    path
}

/// A function binary built beside the running test binary's package binaries
/// (`cargo test --workspace` and `cargo build --workspace` build every bin into the same folder).
pub fn function_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --workspace`) first",
        p.display()
    );
    p
}
