//! Helpers for the integration tests that run the real function binaries.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wxlogin::ticket::CustomLoginKey;

use crate::emulator::{EmulatorConfig, InitFailure, Outcome, Runner};
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
        let key_json = crate::keys::generate(1024, ENV).expect("keygen");
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

    /// The PEM body lines of the private key (to look for in logs).
    pub fn pem_fragment(&self) -> String {
        let v: Value = serde_json::from_str(&self.key_json).unwrap();
        v["private_key"]
            .as_str()
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
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

/// The body of a `/response` outcome as JSON (panics otherwise).
pub fn response_json(o: &Outcome) -> Value {
    match o {
        Outcome::Response(b) => {
            serde_json::from_slice(b).unwrap_or_else(|e| panic!("response is not JSON: {e}"))
        }
        other => panic!("expected a /response, got {other:?}"),
    }
}

/// An HTTP integrated response: `(statusCode, headers, parsed body)`.
pub fn http_parts(o: &Outcome) -> (u16, Value, Value) {
    let r = response_json(o);
    let status = r["statusCode"].as_u64().expect("statusCode") as u16;
    let body: Value =
        serde_json::from_str(r["body"].as_str().expect("body string")).expect("JSON body");
    (status, r["headers"].clone(), body)
}

/// The base64 body lines (16 characters or more) of the `private_key` PEM in a key file's JSON;
/// empty when the text is not such a file.
pub fn pem_body_lines(key_json: &str) -> Vec<String> {
    serde_json::from_str::<Value>(key_json)
        .ok()
        .and_then(|v| v["private_key"].as_str().map(str::to_owned))
        .map(|pem| {
            pem.lines()
                .filter(|l| !l.starts_with("-----") && !l.contains(':') && l.trim().len() >= 16)
                .map(|l| l.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
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

/// Unique values for every secret a function handles, so a test can prove none leaks.
#[derive(Debug, Clone)]
pub struct Sentinels {
    /// The AppSecret (`WX_SECRET`).
    pub app_secret: String,
    /// Prefix of every session_key the mock returns.
    pub session_key: String,
    /// `WX_API_TOKEN`, sent in the `environ` header.
    pub wx_api_token: String,
}

impl Default for Sentinels {
    fn default() -> Self {
        Self::new()
    }
}

impl Sentinels {
    /// Fresh random sentinels.
    pub fn new() -> Self {
        let r = rand::random::<u64>();
        Sentinels {
            app_secret: format!("SentinelAppSecret{r:016x}"),
            session_key: format!("SentinelSessionKey{r:016x}"),
            wx_api_token: format!("SentinelWxApiToken{r:016x}"),
        }
    }

    /// An `environ` header value vouching for `openid` under `appid`, carrying `WX_API_TOKEN`.
    pub fn environ(&self, openid: &str, appid: &str) -> String {
        format!(
            "WX_OPENID={openid};WX_APPID={appid};WX_API_TOKEN={};WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_API_TOKEN",
            self.wx_api_token
        )
    }
}

/// Everything a set of invocations produced that a leak could hide in: every response and error
/// body, and every log line, each with a label saying where it came from.
#[derive(Debug, Default)]
pub struct Transcript {
    /// `(where, text)` of each response or error body.
    pub responses: Vec<(String, String)>,
    /// `(where, text)` of each process's stdout and stderr.
    pub logs: Vec<(String, String)>,
    /// Private-key PEM lines that must never appear anywhere.
    pub pem_lines: Vec<String>,
}

impl Transcript {
    /// Record an outcome's body.
    pub fn outcome(&mut self, label: impl Into<String>, o: &Outcome) {
        let text = match o {
            Outcome::Response(b) | Outcome::Error(b) => String::from_utf8_lossy(b).into_owned(),
            Outcome::Timeout => "<timeout>".into(),
            Outcome::Crashed(s) => format!("<crashed: {s}>"),
        };
        self.responses.push((label.into(), text));
    }

    /// Record a process's logs.
    pub fn logs(&mut self, label: impl Into<String>, logs: String) {
        self.logs.push((label.into(), logs));
    }

    /// Append another transcript.
    pub fn extend(&mut self, other: Transcript) {
        self.responses.extend(other.responses);
        self.logs.extend(other.logs);
        self.pem_lines.extend(other.pem_lines);
    }

    /// Every ticket's signature part found in the responses (`.../@@/<jwt>`).
    pub fn ticket_signatures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, text) in &self.responses {
            for part in text.split("/@@/").skip(1) {
                let jwt: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if let Some(sig) = jwt.rsplit('.').next().filter(|s| s.len() >= 16) {
                    out.push(sig.to_owned());
                }
            }
        }
        out
    }

    /// Panic naming the place if any sentinel (or the emulator's fake `TENCENTCLOUD_SECRETKEY` /
    /// `TENCENTCLOUD_SESSIONTOKEN`) appears in any response or log line, or any ticket (which may
    /// be in a response) appears in a log line.
    pub fn assert_no_leak(&self, s: &Sentinels) {
        let mut needles: Vec<(&str, &str)> = vec![
            ("the AppSecret", &s.app_secret),
            ("a session_key", &s.session_key),
            ("WX_API_TOKEN", &s.wx_api_token),
            // The emulator's fake role credentials: every bootstrap has them in its environment.
            ("TENCENTCLOUD_SECRETKEY", crate::emulator::FAKE_SECRET_KEY),
            (
                "TENCENTCLOUD_SESSIONTOKEN",
                crate::emulator::FAKE_SESSION_TOKEN,
            ),
        ];
        for l in &self.pem_lines {
            needles.push(("the private key", l));
        }
        for (label, text) in self.responses.iter().chain(&self.logs) {
            for (what, needle) in &needles {
                assert!(!text.contains(needle), "{what} leaked in {label}:\n{text}");
            }
        }
        let tickets = self.ticket_signatures();
        for (label, text) in &self.logs {
            for t in &tickets {
                assert!(
                    !text.contains(t.as_str()),
                    "a ticket leaked in {label}:\n{text}"
                );
            }
        }
    }
}

/// A function binary started in web mode (`--web`) on a free loopback port.
pub struct WebProcess {
    /// The port it serves.
    pub port: u16,
    child: tokio::process::Child,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
}

impl WebProcess {
    /// Start `bin --web` with `PORT` set to a free port and `env`, and wait until it accepts
    /// connections (at most 10 s).
    pub async fn start(bin: &Path, env: &[(String, String)]) -> WebProcess {
        Self::start_with_nofile(bin, env, None).await
    }

    /// As [`WebProcess::start`]; with `Some(n)`, the child's `RLIMIT_NOFILE` is `n`, soft and hard
    /// (set with setrlimit(2) between fork and exec), like the 1,024 descriptors of an SCF instance.
    pub async fn start_with_nofile(
        bin: &Path,
        env: &[(String, String)],
        nofile: Option<u64>,
    ) -> WebProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut command = tokio::process::Command::new(bin);
        command
            .arg("--web")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(n) = nofile {
            // SAFETY: the closure runs in the forked child before exec and only calls
            // setrlimit(2), which is async-signal-safe; it allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().expect("spawn");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pumps = Vec::new();
        for r in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            pumps.push(tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt as _;
                let mut lines = tokio::io::BufReader::new(r).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut l = logs.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            }));
        }
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} --web exited: {status}\n{}",
                    bin.display(),
                    logs.lock().unwrap()
                );
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{} --web is not listening on {port}",
                bin.display()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        WebProcess {
            port,
            child,
            logs,
            pumps,
        }
    }

    /// One HTTP/1.1 request (`Connection: close`): `(status, headers lower-cased, body)`.
    /// A write error (the server answering before reading a large body) is not fatal.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, std::collections::BTreeMap<String, String>, Vec<u8>) {
        web_request(self.port, method, path, headers, body).await
    }

    /// The server's process id (`None` once it has been waited for).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGTERM; wait for the exit (at most 10 s). Returns the exit status text and every log line.
    pub async fn stop(mut self) -> (String, String) {
        if let Some(pid) = self.child.id() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        let status =
            match tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait()).await
            {
                Ok(Ok(s)) => s.to_string(),
                Ok(Err(e)) => format!("wait failed: {e}"),
                Err(_) => {
                    let _ = self.child.start_kill();
                    "did not exit within 10 s of SIGTERM".into()
                }
            };
        for p in self.pumps.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), p).await;
        }
        (status, self.logs())
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`): `(status, headers, body)`.
pub async fn web_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, std::collections::BTreeMap<String, String>, Vec<u8>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

/// Raise this process's soft `RLIMIT_NOFILE` to its hard limit (a test that holds more than the
/// usual 1,024 sockets needs it). Returns the new soft limit.
pub fn raise_own_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leak_check_covers_the_fake_role_credentials() {
        let s = Sentinels::new();
        for planted in [
            crate::emulator::FAKE_SECRET_KEY,
            crate::emulator::FAKE_SESSION_TOKEN,
        ] {
            let mut t = Transcript::default();
            t.logs("log", format!("DEBUG env {planted}"));
            assert!(
                std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err(),
                "{planted} not caught in a log"
            );
            let mut t = Transcript::default();
            t.outcome("r", &Outcome::Response(planted.as_bytes().to_vec()));
            assert!(
                std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err(),
                "{planted} not caught in a response"
            );
        }
        // The secret id is not a secret.
        let mut t = Transcript::default();
        t.logs("log", crate::emulator::FAKE_SECRET_ID.into());
        t.assert_no_leak(&s);
    }
}
