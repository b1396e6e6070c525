//! A local SCF runtime-API emulator and a runner that starts a real `bootstrap` against it.
//!
//! Like SCF where it matters (`scf-runtime.md` §1.3):
//! - `POST /runtime/init/ready` with an empty body is rejected (400);
//! - `GET /runtime/invocation/next` blocks until there is an event; a repeated GET during one
//!   invocation returns the same event; headers `request_id`, `memory_limit_in_mb`,
//!   `time_limit_in_ms` are sent lower-case (plus any extra headers, e.g. `environ`);
//! - the first `/response` or `/error` is final: a second result is rejected (400);
//! - a result over 6 MB is refused (413) and the invocation fails;
//! - the init timeout (ready not called) and the exec timeout (no result) kill the bootstrap.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// SCF's limit on a synchronous response, bytes.
pub const RESULT_LIMIT: usize = 6 * 1024 * 1024;

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
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            memory_limit_in_mb: 128,
            time_limit: Duration::from_secs(3),
            init_timeout: Duration::from_secs(10),
            function_name: "function".into(),
            namespace: "local-dev-env".into(),
        }
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The bootstrap posted `/runtime/invocation/response` with this body.
    Response(Vec<u8>),
    /// The bootstrap posted `/runtime/invocation/error` with this body (or its result was refused).
    Error(Vec<u8>),
    /// No result within the exec timeout; the bootstrap was killed.
    Timeout,
    /// The bootstrap exited during the invocation.
    Crashed(String),
}

impl Outcome {
    /// The body as JSON, for `Response` and `Error`.
    pub fn json(&self) -> Option<serde_json::Value> {
        match self {
            Outcome::Response(b) | Outcome::Error(b) => serde_json::from_slice(b).ok(),
            _ => None,
        }
    }
}

struct Invocation {
    request_id: String,
    event: Vec<u8>,
    headers: Vec<(String, String)>,
    reply: Option<oneshot::Sender<Outcome>>,
}

#[derive(Default)]
struct Inner {
    ready: bool,
    queue: VecDeque<Invocation>,
    current: Option<Invocation>,
    rejected: Vec<String>,
    next_id: u64,
    /// Fault injection: answer this many `/next` requests with HTTP 500 first.
    fail_next: u32,
    /// How many injected failures were served.
    failed_next: u32,
    /// Fault injection: answer this many results (`/response` or `/error`) with this status.
    reject_results: Option<(u32, StatusCode)>,
    /// How many results were rejected on purpose.
    rejected_results: u32,
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Notify,
    config: EmulatorConfig,
}

/// The runtime-API server. Dropping it stops the server.
pub struct Emulator {
    server: crate::LocalServer,
    shared: Arc<Shared>,
}

async fn ready(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if body.is_empty() {
        s.inner
            .lock()
            .unwrap()
            .rejected
            .push("empty /runtime/init/ready body".into());
        return (StatusCode::BAD_REQUEST, "ready body must not be empty").into_response();
    }
    s.inner.lock().unwrap().ready = true;
    s.changed.notify_waiters();
    (StatusCode::OK, "ok").into_response()
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    {
        let mut inner = s.inner.lock().unwrap();
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            inner.failed_next += 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected fault").into_response();
        }
    }
    loop {
        let notified = s.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut inner = s.inner.lock().unwrap();
            if inner.current.is_none()
                && let Some(inv) = inner.queue.pop_front()
            {
                inner.current = Some(inv);
            }
            if let Some(inv) = &inner.current {
                let mut resp = (StatusCode::OK, inv.event.clone()).into_response();
                let h = resp.headers_mut();
                let cfg = &s.config;
                // Values as bytes, not only visible ASCII: a platform header may carry UTF-8.
                let mut put = |k: &str, v: &str| {
                    if let (Ok(k), Ok(v)) = (
                        HeaderName::try_from(k.to_ascii_lowercase()),
                        HeaderValue::from_bytes(v.as_bytes()),
                    ) {
                        h.insert(k, v);
                    }
                };
                put("request_id", &inv.request_id);
                put("memory_limit_in_mb", &cfg.memory_limit_in_mb.to_string());
                put("time_limit_in_ms", &cfg.time_limit.as_millis().to_string());
                for (k, v) in &inv.headers {
                    put(k, v);
                }
                return resp;
            }
        }
        notified.await;
    }
}

fn finish(s: &Shared, body: Bytes, as_error: bool) -> Response {
    let mut inner = s.inner.lock().unwrap();
    if inner.current.is_some()
        && let Some((n, status)) = inner.reject_results.as_mut()
        && *n > 0
    {
        *n -= 1;
        let status = *status;
        inner.rejected_results += 1;
        if status.is_server_error() {
            // A transient fault: the invocation stays in flight, so a retried result lands.
            return (status, "injected fault").into_response();
        }
        // A refusal: the invocation ends as failed, like SCF refusing a result.
        let reply = inner.current.take().and_then(|mut inv| inv.reply.take());
        drop(inner);
        s.changed.notify_waiters();
        if let Some(reply) = reply {
            let msg = format!(
                r#"{{"errorCode":"RESULT_REJECTED","errorMessage":"the emulator rejected the result with HTTP {}"}}"#,
                status.as_u16()
            );
            let _ = reply.send(Outcome::Error(msg.into_bytes()));
        }
        return (status, "injected rejection").into_response();
    }
    let Some(mut inv) = inner.current.take() else {
        inner
            .rejected
            .push("a result with no invocation in flight (or a second result)".into());
        return (
            StatusCode::BAD_REQUEST,
            "no invocation in flight; a result is final",
        )
            .into_response();
    };
    let reply = inv.reply.take();
    drop(inner);
    s.changed.notify_waiters();
    let (status, outcome) = if body.len() > RESULT_LIMIT {
        let msg = format!(
            r#"{{"errorCode":"RESULT_TOO_LARGE","errorMessage":"the emulator refused a {}-byte result (limit {RESULT_LIMIT})"}}"#,
            body.len()
        );
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::Error(msg.into_bytes()),
        )
    } else if as_error {
        (StatusCode::OK, Outcome::Error(body.to_vec()))
    } else {
        (StatusCode::OK, Outcome::Response(body.to_vec()))
    };
    if let Some(reply) = reply {
        let _ = reply.send(outcome);
    }
    (status, "ok").into_response()
}

async fn response(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    finish(&s, body, false)
}

async fn error(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    finish(&s, body, true)
}

impl Emulator {
    /// Start on `127.0.0.1`, a free port.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            inner: Mutex::default(),
            changed: Notify::new(),
            config,
        });
        let app = axum::Router::new()
            .route("/runtime/init/ready", post(ready))
            .route("/runtime/invocation/next", get(next))
            .route("/runtime/invocation/response", post(response))
            .route("/runtime/invocation/error", post(error))
            .layer(DefaultBodyLimit::max(4 * RESULT_LIMIT))
            .with_state(shared.clone());
        let server = crate::LocalServer::start(app).await?;
        Ok(Emulator { server, shared })
    }

    /// The port, for `SCF_RUNTIME_API_PORT`.
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// Has the bootstrap called `/runtime/init/ready`?
    pub fn is_ready(&self) -> bool {
        self.shared.inner.lock().unwrap().ready
    }

    /// Requests the emulator rejected (empty ready body, second result, ...), for tests.
    pub fn rejected(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().rejected.clone()
    }

    /// Queue an event with extra `/next` headers; the receiver gets the outcome.
    pub fn enqueue(
        &self,
        event: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> (String, oneshot::Receiver<Outcome>) {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.shared.inner.lock().unwrap();
        inner.next_id += 1;
        let request_id = format!("local-{:04}-{:08x}", inner.next_id, rand::random::<u32>());
        inner.queue.push_back(Invocation {
            request_id: request_id.clone(),
            event,
            headers,
            reply: Some(tx),
        });
        drop(inner);
        self.shared.changed.notify_waiters();
        (request_id, rx)
    }

    /// Fault injection: answer the next `n` `/next` requests with HTTP 500.
    pub fn fail_next_requests(&self, n: u32) {
        self.shared.inner.lock().unwrap().fail_next = n;
    }

    /// Fault injection: answer the next `n` results (`/response` or `/error`) with `status`.
    /// A 5xx is transient: the invocation stays in flight and a retried result is accepted. Any
    /// other status is a refusal: the invocation ends as an [`Outcome::Error`] with
    /// `errorCode` `RESULT_REJECTED`.
    pub fn reject_results(&self, n: u32, status: u16) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        self.shared.inner.lock().unwrap().reject_results = Some((n, status));
    }

    /// How many results were rejected by [`Emulator::reject_results`].
    pub fn rejected_results_served(&self) -> u32 {
        self.shared.inner.lock().unwrap().rejected_results
    }

    /// How many injected `/next` failures have been served.
    pub fn injected_failures_served(&self) -> u32 {
        self.shared.inner.lock().unwrap().failed_next
    }

    /// Drop the in-flight invocation (after a timeout or crash).
    fn abandon(&self) {
        self.shared.inner.lock().unwrap().current = None;
    }
}

/// How the bootstrap process ended.
pub type ExitInfo = String;

/// A bootstrap process started against an [`Emulator`].
pub struct Runner {
    /// The runtime-API emulator it talks to.
    pub emulator: Emulator,
    config: EmulatorConfig,
    pid: u32,
    logs: Arc<Mutex<String>>,
    pumps: Vec<tokio::task::JoinHandle<()>>,
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

fn pump<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    r: R,
    logs: Arc<Mutex<String>>,
    echo: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("{line}");
            }
            let mut l = logs.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    })
}

impl Runner {
    /// Start `bootstrap` with an SCF-like environment plus `env`, and wait for ready.
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
        let emulator = Emulator::start(config.clone())
            .await
            .map_err(|e| InitFailure {
                reason: format!("emulator: {e}"),
                logs: String::new(),
            })?;
        let runner = Self::spawn(bootstrap, env, config, echo_logs, emulator)?;
        let started = Instant::now();
        loop {
            if runner.emulator.is_ready() {
                return Ok(runner);
            }
            if let Some(status) = runner.exit.borrow().clone() {
                return Err(InitFailure {
                    reason: format!("bootstrap exited before ready: {status}"),
                    logs: runner.logs(),
                });
            }
            if started.elapsed() > runner.config.init_timeout {
                runner.kill_now();
                let _ = runner.wait_exit(Duration::from_secs(2)).await;
                return Err(InitFailure {
                    reason: format!(
                        "init timeout: no /runtime/init/ready within {:?}; bootstrap killed",
                        runner.config.init_timeout
                    ),
                    logs: runner.logs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
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
        let emulator = Emulator::start(config.clone())
            .await
            .map_err(|e| InitFailure {
                reason: format!("emulator: {e}"),
                logs: String::new(),
            })?;
        let (_id, rx) = emulator.enqueue(event, headers);
        let limit = config.init_timeout + config.time_limit;
        let spawned = Instant::now();
        let runner = Self::spawn(bootstrap, env, config, false, emulator)?;
        let outcome = runner.outcome(rx, limit).await;
        let took = spawned.elapsed();
        Ok((runner, outcome, took))
    }

    /// Spawn the process against `emulator` (not waiting for ready).
    fn spawn(
        bootstrap: &Path,
        env: &[(String, String)],
        config: EmulatorConfig,
        echo_logs: bool,
        emulator: Emulator,
    ) -> Result<Runner, InitFailure> {
        let fail = |reason: String| InitFailure {
            reason,
            logs: String::new(),
        };
        // Absolute, because the process starts in its own folder.
        let bootstrap = &bootstrap
            .canonicalize()
            .unwrap_or_else(|_| bootstrap.to_path_buf());
        let code_dir = bootstrap
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut cmd = tokio::process::Command::new(bootstrap);
        cmd.env_clear()
            .current_dir(&code_dir)
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            )
            .env("SCF_RUNTIME_API", "127.0.0.1")
            .env("SCF_RUNTIME_API_PORT", emulator.port().to_string())
            .env("_HANDLER", "index.main")
            .env("SCF_FUNCTIONNAME", &config.function_name)
            .env("SCF_FUNCTIONVERSION", "$LATEST")
            .env("SCF_NAMESPACE", &config.namespace)
            .env("TENCENTCLOUD_REGION", "ap-shanghai")
            .env("TENCENTCLOUD_RUNENV", "SCF")
            .env("TENCENTCLOUD_APPID", "1250000000")
            .env("USER_CODE_ROOT", &code_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(format!("cannot start {}: {e}", bootstrap.display())))?;
        let pid = child.id().unwrap_or(0);
        let logs = Arc::new(Mutex::new(String::new()));
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(pump(out, logs.clone(), echo_logs));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(pump(err, logs.clone(), echo_logs));
        }
        let (exit_tx, exit) = watch::channel(None);
        let (kill, mut kill_rx) = mpsc::unbounded_channel::<()>();
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
            pumps,
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
        self.logs.lock().unwrap().clone()
    }

    /// Send SIGTERM.
    pub fn sigterm(&self) {
        if self.pid != 0 && self.exit.borrow().is_none() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
            }
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
        for p in self.pumps.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
        }
        (status, self.logs())
    }
}
