//! Test fixtures: what a test needs before it can run a function binary. A mock WeChat with a
//! fresh key file for the emulator's test env, and the binaries cargo built.
//!
//! Keys are generated per fixture, never committed: a test that leaks a key leaks a throwaway.

use std::path::{Path, PathBuf};

use wxlogin::CustomLoginKey;

use super::leaks::{Sentinels, pem_body_lines};
use crate::mock_wechat::MockWeChat;

/// AppID the test mock expects.
pub const APPID: &str = "wxtest00000000001";
/// AppSecret the test mock expects. Tests assert it never appears in logs or answers.
pub const SECRET: &str = "TESTAPPSECRET0123456789abcdef";
/// Env id of the test key: the emulator's test env ([`scf_emulator::testing::TEST_ENV`]), the
/// `SCF_NAMESPACE` every runner started by [`scf_emulator::testing::start`] gets.
pub const ENV: &str = scf_emulator::testing::TEST_ENV;

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
