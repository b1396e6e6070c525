//! A local SCF runtime-API emulator and a runner that starts a real `bootstrap` against it.
//!
//! Like SCF where it matters (`scf-runtime.md` §1.2, §1.3):
//! - `POST /runtime/init/ready` is served with any body, an empty one included
//!   (`Content-Length: 0`, as public Go, Python and Node clients send it). The one request
//!   refused (400) is a POST with no body and neither `Content-Length` nor `Transfer-Encoding`:
//!   the only reported rejection by the real runtime API (the `tencent_scf` crate) concerns it;
//! - `GET /runtime/invocation/next` blocks until there is an event; a repeated GET during one
//!   invocation returns the same event; headers `request_id`, `memory_limit_in_mb`,
//!   `time_limit_in_ms` are sent lower-case (plus any extra headers, e.g. `environ`). The event
//!   is delivered byte for byte as it was queued: the emulator never parses it;
//! - the first `/response` or `/error` is final: a second result is rejected (400);
//! - a result over 6 MB is refused (413) and the invocation fails;
//! - the init timeout (ready not called) and the exec timeout (no result) kill the bootstrap;
//! - the bootstrap gets SCF's environment and nothing of the host's (see [`Runner::start`]).
//!
//! It also records the last [`SEEN_LIMIT`] requests as they arrived ([`Emulator::seen`]), so tests
//! can check what a runtime client sends, not only what it gets.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::{Notify, mpsc, oneshot, watch};

/// SCF's limit on a synchronous response, bytes.
pub const RESULT_LIMIT: usize = 6 * 1024 * 1024;

/// How many received requests [`Emulator::seen`] keeps (the most recent ones).
pub const SEEN_LIMIT: usize = 64;

/// How many bytes of each request body [`Emulator::seen`] keeps.
pub const SEEN_BODY_LIMIT: usize = 1024;

/// The `PATH` a bootstrap gets: a fixed, SCF-like search path, never the host's. SCF's own value
/// for a Custom Runtime is not documented (`scf-runtime.md` §1.2 lists none); these folders hold
/// `bash`, `sh`, `cat`, `sleep` and the other tools a shell bootstrap needs on any Linux.
pub const BOOTSTRAP_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `TENCENTCLOUD_UIN` the bootstrap gets: an obviously fake owner uin.
pub const FAKE_UIN: &str = "100000000001";
/// `TENCENTCLOUD_SECRETID`: fake temporary role credentials (SCF sets real ones).
pub const FAKE_SECRET_ID: &str = "AKIDLOCALFAKEsecretid0000000000000000";
/// `TENCENTCLOUD_SECRETKEY`: fake, but treated as a secret: the leak check in
/// [`crate::testkit::Transcript::assert_no_leak`] looks for it in every response and log line.
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

/// One request as the emulator received it, for tests of what a runtime client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, e.g. `/runtime/init/ready`.
    pub path: String,
    /// The `Content-Type` header, if any (the last copy).
    pub content_type: Option<String>,
    /// The `Content-Length` header, if any.
    pub content_length: Option<String>,
    /// The `Transfer-Encoding` header, if any.
    pub transfer_encoding: Option<String>,
    /// The body's first [`SEEN_BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
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
    /// The last [`SEEN_LIMIT`] requests.
    seen: VecDeque<SeenRequest>,
}

/// Record a request in [`Inner::seen`], keeping the last [`SEEN_LIMIT`].
fn record(s: &Shared, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) {
    let text = |name: header::HeaderName| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let seen = SeenRequest {
        method: method.into(),
        path: path.into(),
        content_type: text(header::CONTENT_TYPE),
        content_length: text(header::CONTENT_LENGTH),
        transfer_encoding: text(header::TRANSFER_ENCODING),
        body: body[..body.len().min(SEEN_BODY_LIMIT)].to_vec(),
    };
    let mut inner = s.inner.lock().unwrap();
    if inner.seen.len() == SEEN_LIMIT {
        inner.seen.pop_front();
    }
    inner.seen.push_back(seen);
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

async fn ready(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/init/ready", &headers, &body);
    // An empty body is fine when the client said so (`Content-Length: 0`, or a chunked body that
    // happens to be empty): public Go, Python and Node SCF clients do that and work. Refused: a POST
    // that says nothing about its body at all, the one case reported as rejected by SCF.
    let framed = headers.contains_key(header::CONTENT_LENGTH)
        || headers.contains_key(header::TRANSFER_ENCODING);
    if body.is_empty() && !framed {
        s.inner
            .lock()
            .unwrap()
            .rejected
            .push("/runtime/init/ready with no body and no Content-Length".into());
        return (
            StatusCode::BAD_REQUEST,
            "ready needs a body or a Content-Length (send Content-Length: 0, or a body such as \" \")",
        )
            .into_response();
    }
    s.inner.lock().unwrap().ready = true;
    s.changed.notify_waiters();
    (StatusCode::OK, "ok").into_response()
}

async fn next(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "GET", "/runtime/invocation/next", &headers, &body);
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

async fn response(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/invocation/response", &headers, &body);
    finish(&s, body, false)
}

async fn error(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, "POST", "/runtime/invocation/error", &headers, &body);
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

    /// The last [`SEEN_LIMIT`] requests received, oldest first, as they arrived (headers that
    /// say how the body is framed and typed, and the body's first [`SEEN_BODY_LIMIT`] bytes).
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.shared
            .inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .cloned()
            .collect()
    }

    /// Requests the emulator rejected (a ready with no body and no length, a second result, ...),
    /// for tests.
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

/// The environment SCF gives a bootstrap (`scf-runtime.md` §1.2), for `config` and the emulator
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
        // `USER_CODE_ROOT` is `/var/user/` on SCF: the code folder, with its trailing slash.
        let mut code_root = code_dir.clone().into_os_string();
        code_root.push("/");
        let mut cmd = tokio::process::Command::new(bootstrap);
        cmd.env_clear()
            .current_dir(&code_dir)
            .envs(scf_environment(&config, emulator.port()))
            .env("USER_CODE_ROOT", &code_root)
            .env("PWD", &code_dir)
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
