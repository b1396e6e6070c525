//! The process runner: starts a real `bootstrap` against an [`Emulator`] as SCF starts one, and
//! times and stops it as SCF does.
//!
//! Why it is its own file: how a process is started (its environment, its folder), how long it
//! may take (init and exec timeouts) and how it is stopped (SIGTERM, then a kill) are one concern,
//! apart from the protocol the process speaks ([`super::server`]). The child is owned by one
//! task that waits for it; the runner talks to that task through channels (a `watch` for the exit
//! status, an `mpsc` to kill), so no lock is held across an `.await`.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use super::config::{
    BOOTSTRAP_PATH, EmulatorConfig, FAKE_SECRET_ID, FAKE_SECRET_KEY, FAKE_SESSION_TOKEN, FAKE_UIN,
};
use super::outcome::Outcome;
use super::server::Emulator;
use crate::process::{ChildLogs, sigterm};

/// The environment SCF gives a bootstrap (docs/platform.md, "Environment"), for `config` and the emulator
/// listening on `port`; [`Runner`] adds `USER_CODE_ROOT` and `PWD` (the code folder).
///
/// Nothing comes from the host: `PATH` is [`BOOTSTRAP_PATH`], `HOME` is `/home/qcloud` and `USER`
/// `qcloud` as on SCF (the folder need not exist), and the role credentials are fake
/// ([`FAKE_SECRET_ID`], [`FAKE_SECRET_KEY`], [`FAKE_SESSION_TOKEN`]). `LANG` is SCF's
/// `en_US.UTF8`; `LC_ALL`, which SCF also sets, is left out because bash warns on every start
/// when the host lacks that locale, and the warning would land in the function's logs.
/// `LD_LIBRARY_PATH`, `_SCF_SERVER_PORT` (the standard runtimes' values) and `TRIGGER_SRC` (timer
/// invocations only) are not set.
pub fn scf_environment(config: &EmulatorConfig, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", BOOTSTRAP_PATH.into()),
        ("HOME", "/home/qcloud".into()),
        ("USER", "qcloud".into()),
        ("LANG", "en_US.UTF8".into()),
        ("SCF_RUNTIME_API", "127.0.0.1".into()),
        ("SCF_RUNTIME_API_PORT", port.to_string()),
        ("_HANDLER", config.handler.clone()),
        ("SCF_FUNCTIONNAME", config.function_name.clone()),
        ("SCF_FUNCTIONVERSION", "$LATEST".into()),
        ("SCF_NAMESPACE", config.namespace.clone()),
        ("TENCENTCLOUD_REGION", "ap-shanghai".into()),
        ("TENCENTCLOUD_RUNENV", "SCF".into()),
        ("TENCENTCLOUD_APPID", "1250000000".into()),
        ("TENCENTCLOUD_UIN", FAKE_UIN.into()),
        ("TENCENTCLOUD_SECRETID", FAKE_SECRET_ID.into()),
        ("TENCENTCLOUD_SECRETKEY", FAKE_SECRET_KEY.into()),
        ("TENCENTCLOUD_SESSIONTOKEN", FAKE_SESSION_TOKEN.into()),
    ]
}

/// How the bootstrap process ended.
pub type ExitInfo = String;

/// A bootstrap process started against an [`Emulator`].
pub struct Runner {
    /// The runtime-API emulator it talks to.
    pub emulator: Emulator,
    config: EmulatorConfig,
    pid: u32,
    logs: ChildLogs,
    exit: watch::Receiver<Option<ExitInfo>>,
    kill: mpsc::UnboundedSender<()>,
}

/// Why a bootstrap did not get ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFailure {
    /// What happened.
    pub reason: String,
    /// Everything it logged.
    pub logs: String,
}

impl InitFailure {
    fn before_start(reason: String) -> InitFailure {
        InitFailure {
            reason,
            logs: String::new(),
        }
    }
}

/// An event queued before the bootstrap is spawned (a cold start), and its outcome's receiver.
type Queued = Option<(Vec<u8>, Vec<(String, String)>)>;

impl Runner {
    /// Start `bootstrap` in its own folder with SCF's environment ([`scf_environment`], plus
    /// `USER_CODE_ROOT` = the folder with a trailing `/` and `PWD` = the folder) and `env` on top
    /// (the function's configured variables; `env` wins on a clash), and wait for ready. Nothing
    /// of the host's environment is passed.
    /// With `echo_logs` the bootstrap's stdout and stderr are copied to our stderr as they come;
    /// they are always kept for [`Runner::logs`].
    ///
    /// # Errors
    /// [`InitFailure`] when it cannot start, exits, or misses the init timeout (it is killed).
    pub async fn start(
        bootstrap: &Path,
        env: &[(String, String)],
        config: EmulatorConfig,
        echo_logs: bool,
    ) -> Result<Runner, InitFailure> {
        let (runner, _, _) = Self::launch(bootstrap, env, config, echo_logs, None).await?;
        runner.wait_ready().await?;
        Ok(runner)
    }

    /// A cold start as SCF does it: `event` is already waiting when the bootstrap is spawned.
    /// Returns the runner, the first invocation's outcome, and the time from spawning the process
    /// to the emulator receiving that result (the init timeout plus the exec timeout at most).
    ///
    /// # Errors
    /// [`InitFailure`] when the emulator or the process cannot start.
    pub async fn start_cold(
        bootstrap: &Path,
        env: &[(String, String)],
        config: EmulatorConfig,
        event: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> Result<(Runner, Outcome, Duration), InitFailure> {
        let limit = config.init_timeout + config.time_limit;
        let queued = Some((event, headers));
        let (runner, rx, spawned) = Self::launch(bootstrap, env, config, false, queued).await?;
        let rx = rx.expect("an event was queued");
        let outcome = runner.outcome(rx, limit).await;
        Ok((runner, outcome, spawned.elapsed()))
    }

    /// The one way a bootstrap is started: a fresh emulator, the `queued` event if any (so a
    /// cold start finds it waiting), then the process. Returns when the process is spawned, with
    /// the queued event's receiver and the moment of spawning.
    async fn launch(
        bootstrap: &Path,
        env: &[(String, String)],
        config: EmulatorConfig,
        echo_logs: bool,
        queued: Queued,
    ) -> Result<(Runner, Option<oneshot::Receiver<Outcome>>, Instant), InitFailure> {
        let emulator = Emulator::start(config.clone())
            .await
            .map_err(|e| InitFailure::before_start(format!("emulator: {e}")))?;
        let rx = queued.map(|(event, headers)| emulator.enqueue(event, headers).1);
        let spawned = Instant::now();
        let runner = Self::spawn(bootstrap, env, config, echo_logs, emulator)?;
        Ok((runner, rx, spawned))
    }

    /// Wait for `/runtime/init/ready` (polled every 2 ms: the emulator sets a flag), the process's
    /// exit, or the init timeout (then the process is killed).
    async fn wait_ready(&self) -> Result<(), InitFailure> {
        let started = Instant::now();
        loop {
            if self.emulator.is_ready() {
                return Ok(());
            }
            if let Some(status) = self.exit.borrow().clone() {
                return Err(InitFailure {
                    reason: format!("bootstrap exited before ready: {status}"),
                    logs: self.logs(),
                });
            }
            if started.elapsed() > self.config.init_timeout {
                self.kill_now();
                let _ = self.wait_exit(Duration::from_secs(2)).await;
                return Err(InitFailure {
                    reason: format!(
                        "init timeout: no /runtime/init/ready within {:?}; bootstrap killed",
                        self.config.init_timeout
                    ),
                    logs: self.logs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Spawn the process against `emulator` (not waiting for ready).
    fn spawn(
        bootstrap: &Path,
        env: &[(String, String)],
        config: EmulatorConfig,
        echo_logs: bool,
        emulator: Emulator,
    ) -> Result<Runner, InitFailure> {
        // Absolute, because the process starts in its own folder.
        let bootstrap = &bootstrap
            .canonicalize()
            .unwrap_or_else(|_| bootstrap.to_path_buf());
        let code_dir = bootstrap
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // `USER_CODE_ROOT` is `/var/user/` on SCF: the code folder, with its trailing slash.
        let mut code_root = code_dir.clone().into_os_string();
        code_root.push("/");
        let mut child = tokio::process::Command::new(bootstrap)
            .env_clear()
            .current_dir(&code_dir)
            .envs(scf_environment(&config, emulator.port()))
            .env("USER_CODE_ROOT", &code_root)
            .env("PWD", &code_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                InitFailure::before_start(format!("cannot start {}: {e}", bootstrap.display()))
            })?;
        let pid = child.id().unwrap_or(0);
        let logs = ChildLogs::capture(&mut child, echo_logs);
        let (exit_tx, exit) = watch::channel(None);
        let (kill, mut kill_rx) = mpsc::unbounded_channel::<()>();
        // One task owns the child: it reports the exit and kills on request.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    status = child.wait() => {
                        let info = match status {
                            Ok(s) => s.to_string(),
                            Err(e) => format!("wait failed: {e}"),
                        };
                        let _ = exit_tx.send(Some(info));
                        return;
                    }
                    Some(()) = kill_rx.recv() => { let _ = child.start_kill(); }
                }
            }
        });
        Ok(Runner {
            emulator,
            config,
            pid,
            logs,
            exit,
            kill,
        })
    }

    /// Deliver one event (raw bytes) with extra `/next` headers and wait for the outcome, at most
    /// the exec timeout (then the bootstrap is killed, like SCF does).
    pub async fn invoke_raw(&self, event: Vec<u8>, headers: Vec<(String, String)>) -> Outcome {
        let (_id, rx) = self.emulator.enqueue(event, headers);
        self.outcome(rx, self.config.time_limit).await
    }

    /// The result `rx` delivers, or `Timeout` after `limit` (the bootstrap is killed), or
    /// `Crashed` when the process exits first.
    async fn outcome(&self, rx: oneshot::Receiver<Outcome>, limit: Duration) -> Outcome {
        let mut exit = self.exit.clone();
        tokio::select! {
            // A result that arrived wins over a timeout or an exit that raced with it.
            biased;
            r = rx => r.unwrap_or(Outcome::Crashed("emulator dropped the invocation".into())),
            _ = tokio::time::sleep(limit) => {
                self.emulator.abandon();
                self.kill_now();
                Outcome::Timeout
            }
            _ = exit.wait_for(Option::is_some) => {
                self.emulator.abandon();
                Outcome::Crashed(self.exit.borrow().clone().unwrap_or_default())
            }
        }
    }

    /// [`Runner::invoke_raw`] with a JSON event and no extra headers.
    pub async fn invoke(&self, event: &serde_json::Value) -> Outcome {
        self.invoke_raw(event.to_string().into_bytes(), Vec::new())
            .await
    }

    /// The bootstrap's process id (0 if unknown), e.g. to read `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Everything the bootstrap has logged so far (stdout and stderr).
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// Send SIGTERM (not once the process has exited: its pid may be reused).
    pub fn sigterm(&self) {
        if self.exit.borrow().is_none() {
            sigterm(self.pid);
        }
    }

    fn kill_now(&self) {
        let _ = self.kill.send(());
    }

    /// Wait up to `timeout` for the process to exit; its status text, or `None` if still running.
    pub async fn wait_exit(&self, timeout: Duration) -> Option<ExitInfo> {
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout(timeout, exit.wait_for(Option::is_some)).await;
        exit.borrow().clone()
    }

    /// SIGTERM, then kill after 3 s. Returns the exit status text.
    pub async fn shutdown(self) -> Option<ExitInfo> {
        self.stop().await.0
    }

    /// As [`Runner::shutdown`], also returning every log line, read to the end of the pipes.
    pub async fn stop(mut self) -> (Option<ExitInfo>, String) {
        self.sigterm();
        let mut status = self.wait_exit(Duration::from_secs(3)).await;
        if status.is_none() {
            self.kill_now();
            status = self.wait_exit(Duration::from_secs(2)).await;
        }
        let logs = self.logs.drain(Duration::from_secs(2)).await;
        (status, logs)
    }
}
