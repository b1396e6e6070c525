//! `scripts/invoke`: run one function locally on the SCF runtime-API emulator.
//!
//! ```text
//! scripts/invoke FUNCTION [EVENT | @FILE | -] [--openid ID] [--appid ID] [--unionid ID]
//!                [--anonymous] [--call] [--http METHOD PATH]
//!                [--access-token-for UID [--custom-user-id ID] | --anonymous-token]
//!                [--bootstrap PATH] [--release] [--timeout-ms MS] [--memory-mb MB]
//! ```
//! Prints the function's response body on stdout and its logs on stderr. Exit status: 0 for
//! `/response`, 1 for `/error`, 2 for bad usage or a failed build, 3 for an init failure,
//! 4 for a timeout or crash.
//!
//! Any function binary runs: a name listed in `cloudbaserc.json` is built with
//! `cargo build --bin NAME`, and `--bootstrap PATH` runs any binary under any name. The emulator
//! takes the function's handler, timeout and memory from the list when it is there
//! ([`scf_emulator::functions`]); the flags win.
//!
//! The event is delivered byte for byte as given: it is never parsed and re-serialised, so a
//! repeated key, a big integer or text that is not JSON reaches the function as it would from
//! the platform. Only a callFunction event gets the platform's `userInfo`, spliced in after its
//! opening `{`; the kind comes from the event's shape ([`events::kind_of`]), because a timer,
//! COS or HTTP event never carries a caller in the cloud.
//!
//! `--access-token-for UID` is the HTTP caller's identity instead: a CloudBase user access token
//! for UID, minted by a local CloudBase mock ([`MockCloudBase`]) that lives as long as the
//! invocation, sent as `Authorization: Bearer <token>` in the HTTP event's headers. The token has
//! the shape real user tokens have (`testdata/cloudbase_token_shapes.json`); `--custom-user-id`
//! is what the mock's `/auth/v1/user/me` reports for the user, as for a custom-ticket user.
//! `--anonymous-token` sends the env's anonymous publishable key instead. The function
//! gets the mock's `TCB_ENV` and URLs (`MockCloudBase::env_vars`); the
//! mock's env id is the emulated env id (`TCB_ENV` when set, else the key's env_id), so the
//! token's `aud` matches what the function expects. It needs `--http`: only an HTTP request
//! carries an access token (a callFunction carries the caller in `userInfo`), so invoke refuses
//! rather than guess a method and path. The token is a secret and is never printed.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser};
use scf_emulator::emulator::{EmulatorConfig, Outcome, Runner};
use scf_emulator::events::{self, EventKind};
use scf_emulator::functions::{DEFAULT_HANDLER, FunctionList, FunctionSpec};
use scf_emulator::workspace_root;
use serde_json::Value;
use wxlogin_devtools::mock_cloudbase::{MockCloudBase, UserClaims};
use wxlogin_devtools::mock_wechat::{self, MockWeChat};
use wxlogin_devtools::{FUNCTION_CONFIG_VARS, keys};

const DEFAULT_OPENID: &str = "oLocalDevUser0000000000000001";
const MOCK_APPID: &str = "wx0000000000local";
const MOCK_SECRET: &str = "local-mock-secret";
/// The exec timeout for a function `cloudbaserc.json` does not list, ms.
const UNLISTED_TIMEOUT_MS: u64 = 5000;

const EVENT_KINDS: &str = "The event's kind comes from its shape, and only a callFunction event gets the caller's userInfo:
  timer          \"Type\":\"Timer\" or a TriggerName key          -> no userInfo
  COS/CMQ/CKafka a Records key                                 -> no userInfo
  API gateway / HTTP access
                 a string httpMethod with a headers or requestContext object -> no userInfo
  callFunction   any other JSON object                         -> userInfo spliced in after its '{'
  anything else  (array, string, null, not JSON)               -> delivered as is
The bootstrap gets _HANDLER, the timeout and the memory limit from cloudbaserc.json, and SCF's
environment with fake credentials (docs/emulator.md). Without WX_APPID/WX_SECRET a local
jscode2session mock is started; without a key a dev key is made in .dev/.
Exit status: 0 /response, 1 /error, 2 bad usage or a failed build, 3 init failure, 4 timeout or crash.";

/// Run one function locally on the SCF runtime-API emulator: the response body on stdout, the
/// function's logs on stderr.
#[derive(Parser, Debug)]
#[command(
    name = "scripts/invoke",
    bin_name = "scripts/invoke",
    allow_negative_numbers = true
)]
struct Args {
    /// The function: a name in cloudbaserc.json (built with cargo), or any name with --bootstrap
    function: String,
    /// The event (default {}); @FILE reads a file, - reads stdin. Delivered byte for byte as
    /// given (not parsed, not re-serialised; not-JSON is delivered too)
    #[arg(value_name = "EVENT | @FILE | -")]
    event: Option<OsString>,
    /// The openid of a callFunction event's userInfo (default: with the mock and a code, the
    /// mock's user for that code; with a code against real WeChat, none; else oLocalDevUser...)
    #[arg(long, value_name = "ID")]
    openid: Option<String>,
    /// The appid of a callFunction event's userInfo (default WX_APPID)
    #[arg(long, value_name = "ID")]
    appid: Option<String>,
    /// Also deliver WX_OPENID/WX_APPID/WX_UNIONID in an `environ` header on /next (callFunction
    /// events only)
    #[arg(long, value_name = "ID")]
    unionid: Option<String>,
    /// Inject no identity
    #[arg(long)]
    anonymous: bool,
    /// Treat the event as a callFunction whatever its shape (e.g. data that holds httpMethod and
    /// headers)
    #[arg(long, conflicts_with = "http")]
    call: bool,
    /// Wrap the event as the body of an HTTP access event (no userInfo)
    #[arg(long, num_args = 2, value_names = ["METHOD", "PATH"])]
    http: Option<Vec<String>>,
    /// With --http: send `Authorization: Bearer <token>`, a CloudBase access token for this uid
    /// minted by a local CloudBase mock the function is pointed at (--openid / --unionid go in
    /// the token's meta). The token is never printed
    #[arg(long, value_name = "UID", conflicts_with_all = ["anonymous", "call"])]
    access_token_for: Option<String>,
    /// With --access-token-for: the customUserId the mock's /auth/v1/user/me reports for the
    /// user (a custom-ticket user's token carries no openid; getLoginTicket's customUserId is
    /// the openid)
    #[arg(long, value_name = "ID", requires = "access_token_for")]
    custom_user_id: Option<String>,
    /// With --http: send the env's anonymous publishable key (a verified but anonymous caller)
    #[arg(long, conflicts_with_all = ["anonymous", "call", "access_token_for"])]
    anonymous_token: bool,
    /// Run this binary instead of building the function (any name, listed or not)
    #[arg(long, value_name = "PATH")]
    bootstrap: Option<PathBuf>,
    /// Build with --release
    #[arg(long)]
    release: bool,
    /// The exec timeout (default: the function's timeout in cloudbaserc.json, else 5000)
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// The memory limit (default: the function's memorySize in cloudbaserc.json, else 128)
    #[arg(long, value_name = "MB")]
    memory_mb: Option<u32>,
}

/// Why invoke could not run the function (all exit 2: bad usage or a failed build).
#[derive(Debug, thiserror::Error)]
enum InvokeError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot run cargo: {0} (is cargo on PATH?)")]
    Cargo(std::io::Error),
    #[error("cargo build --bin {0} failed (its errors are above)")]
    Build(String),
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    File(PathBuf, std::io::Error),
    #[error("stdin: {0}")]
    Stdin(std::io::Error),
    #[error("mock WeChat: {0}")]
    Mock(std::io::Error),
    #[error("mock CloudBase: {0}")]
    MockCloudBase(std::io::Error),
    #[error("dev key: {0}")]
    Key(#[from] keys::KeyError),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let list = FunctionList::load();
    let args = match parse_args(&list) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(args, list).await {
        Ok(code) => code,
        Err(e) => {
            note(&e.to_string());
            ExitCode::from(2)
        }
    }
}

/// The arguments, with the functions cloudbaserc.json lists in the help text. Raw OS strings: an
/// inline event is delivered as given, even when it is not UTF-8.
fn parse_args(list: &Result<FunctionList, impl std::fmt::Display>) -> clap::error::Result<Args> {
    let listed = match list {
        Ok(l) => format!(
            "Functions in {}: {}",
            l.path().display(),
            l.names().join(", ")
        ),
        Err(e) => format!("No function list: {e}"),
    };
    let command = Args::command().after_help(format!("{listed}\n{EVENT_KINDS}"));
    Args::from_arg_matches(&command.try_get_matches()?)
}

async fn run(
    args: Args,
    list: Result<FunctionList, impl std::fmt::Display>,
) -> Result<ExitCode, InvokeError> {
    let spec = list
        .as_ref()
        .ok()
        .and_then(|l| l.get(&args.function).cloned());
    check_access_token_args(&args)?;
    let bootstrap = bootstrap_for(&args, spec.is_some(), &list)?;
    let raw = read_event(args.event.as_ref())?;
    let local = LocalSetup::prepare(&args, spec.as_ref()).await?;
    let (event, headers) = delivery(&args, &local, raw);
    let config = emulator_config(&args, spec.as_ref(), local.namespace.clone());
    Ok(execute(
        &args.function,
        &bootstrap,
        &local.env,
        config,
        event,
        headers,
    )
    .await)
}

/// `--access-token-for` needs `--http` (an access token travels in an HTTP request's
/// `Authorization` header) and a uid CloudBase could issue (1 to 256 bytes). Refusing is clearer
/// than inventing a method and path.
fn check_access_token_args(args: &Args) -> Result<(), InvokeError> {
    let flag = match &args.access_token_for {
        Some(uid) if !(1..=256).contains(&uid.len()) => {
            return Err(InvokeError::Usage(
                "--access-token-for UID: the uid must be 1 to 256 bytes".into(),
            ));
        }
        Some(_) => "--access-token-for",
        None if args.anonymous_token => "--anonymous-token",
        None => return Ok(()),
    };
    if args.http.is_none() {
        return Err(InvokeError::Usage(format!(
            "{flag} sends the token in an HTTP request's Authorization header: add \
             --http METHOD PATH (e.g. --http GET /). A callFunction event carries its caller in \
             userInfo instead (--openid)"
        )));
    }
    Ok(())
}

/// The binary to run: `--bootstrap` as given (any name), else the listed function, built.
fn bootstrap_for(
    args: &Args,
    listed: bool,
    list: &Result<FunctionList, impl std::fmt::Display>,
) -> Result<PathBuf, InvokeError> {
    if let Some(p) = &args.bootstrap {
        return p
            .canonicalize()
            .map_err(|e| InvokeError::File(p.clone(), e));
    }
    if listed {
        return build(&args.function, args.release);
    }
    Err(InvokeError::Usage(match list {
        Ok(l) => format!(
            "unknown function {:?}: {} lists {}. Add it there (scripts/new-function NAME), or run \
             a binary under any name with --bootstrap PATH",
            args.function,
            l.path().display(),
            l.names().join(", ")
        ),
        Err(e) => format!("{e}; or run a binary under any name with --bootstrap PATH"),
    }))
}

/// The event's bytes exactly as given: `{}` by default, stdin for `-`, a file for `@FILE`, else
/// the argument itself.
fn read_event(spec: Option<&OsString>) -> Result<Vec<u8>, InvokeError> {
    match spec.map(|s| s.as_bytes()) {
        None => Ok(b"{}".to_vec()),
        Some(b"-") => {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                .map_err(InvokeError::Stdin)?;
            Ok(s)
        }
        Some([b'@', file @ ..]) => {
            let path = PathBuf::from(OsString::from_vec(file.to_vec()));
            std::fs::read(&path).map_err(|e| InvokeError::File(path, e))
        }
        Some(raw) => Ok(raw.to_vec()),
    }
}

fn build(function: &str, release: bool) -> Result<PathBuf, InvokeError> {
    let root = workspace_root();
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root)
        .args(["build", "--quiet", "--bin", function]);
    if release {
        cmd.arg("--release");
    }
    if !cmd.status().map_err(InvokeError::Cargo)?.success() {
        return Err(InvokeError::Build(function.into()));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join(function))
}

/// What runs beside the function: its environment, the mock WeChat when there are no real
/// credentials, a dev key when none is configured, and the emulated env id.
struct LocalSetup {
    env: Vec<(String, String)>,
    /// Kept alive for the invocation; `Some` when the function talks to the mock.
    mock: Option<MockWeChat>,
    /// The CloudBase mock (kept alive for the invocation, like `mock`) and the access token it
    /// minted, with `--access-token-for`. The token is a secret: never printed or logged.
    cloudbase: Option<(MockCloudBase, String)>,
    namespace: String,
}

fn host_var(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

impl LocalSetup {
    /// The function's environment: from invoke's own, the logging variables, the settings the
    /// functions of this workspace read ([`FUNCTION_CONFIG_VARS`]) and every setting `spec`'s
    /// `envVariables` names; then the local stand-ins its settings call for. A function that
    /// cloudbaserc.json does not list (`--bootstrap` under another name) gets every stand-in.
    async fn prepare(args: &Args, spec: Option<&FunctionSpec>) -> Result<LocalSetup, InvokeError> {
        let listed: Vec<&str> = spec
            .map(|s| s.env_variables.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = ["RUST_LOG", "LOG_FORMAT"]
            .iter()
            .chain(FUNCTION_CONFIG_VARS)
            .chain(listed.iter())
            .filter_map(|k| Some(((*k).to_owned(), host_var(k)?)))
            .collect();
        env.sort();
        env.dedup();
        let reads = |setting: &str| spec.is_none_or(|s| s.reads(setting));
        let mut set = |k: &str, v: String| {
            env.retain(|(n, _)| n != k);
            env.push((k.into(), v));
        };
        // Embedded default: a local jscode2session mock when there are no real credentials, for a
        // function that talks to WeChat.
        let wechat = reads("WX_APPID") || reads("WX_SECRET");
        let mock = if wechat && (host_var("WX_APPID").is_none() || host_var("WX_SECRET").is_none())
        {
            let mock = MockWeChat::start(MOCK_APPID, MOCK_SECRET)
                .await
                .map_err(InvokeError::Mock)?;
            note(&format!(
                "no WX_APPID/WX_SECRET: using the local jscode2session mock (also stable_token and getuserphonenumber) at {}",
                mock.base_url()
            ));
            set("WX_APPID", MOCK_APPID.into());
            set("WX_SECRET", MOCK_SECRET.into());
            set("WECHAT_API_BASE", mock.base_url());
            Some(mock)
        } else {
            None
        };
        // And a dev key when none is configured, for a function that mints tickets.
        let mints = reads("TCB_CUSTOM_LOGIN_KEY") || reads("TCB_CUSTOM_LOGIN_KEY_FILE");
        if mints
            && host_var("TCB_CUSTOM_LOGIN_KEY").is_none()
            && host_var("TCB_CUSTOM_LOGIN_KEY_FILE").is_none()
        {
            set(
                "TCB_CUSTOM_LOGIN_KEY_FILE",
                dev_key()?.display().to_string(),
            );
        }
        let namespace = namespace(&env);
        let cloudbase = match (&args.access_token_for, args.anonymous_token) {
            (Some(_), _) | (None, true) => {
                let (cb, vars) = cloudbase_mock(args, &namespace).await?;
                // The mock's variables win over the host's: only its keys verify its token.
                for (k, v) in vars {
                    env.retain(|(n, _)| *n != k);
                    env.push((k, v));
                }
                Some(cb)
            }
            (None, false) => None,
        };
        Ok(LocalSetup {
            env,
            mock,
            cloudbase,
            namespace,
        })
    }
}

/// The CloudBase mock for env `namespace`, a token (`--access-token-for UID`, with `--openid` /
/// `--unionid` in its meta and `--custom-user-id` behind its `/auth/v1/user/me`; or
/// `--anonymous-token`'s publishable key), and the variables that point the function at the mock.
async fn cloudbase_mock(
    args: &Args,
    namespace: &str,
) -> Result<((MockCloudBase, String), Vec<(String, String)>), InvokeError> {
    let cb = MockCloudBase::start(namespace)
        .await
        .map_err(InvokeError::MockCloudBase)?;
    let (token, what) = match &args.access_token_for {
        Some(uid) => {
            let mut claims = UserClaims::new(uid);
            claims.openid = args.openid.clone();
            claims.unionid = args.unionid.clone();
            claims.custom_user_id = args.custom_user_id.clone();
            let ttl = claims.ttl_secs;
            (
                cb.mint(claims),
                format!("a CloudBase access token for uid {uid} (env {namespace}, valid {ttl} s)"),
            )
        }
        None => (
            cb.publishable_key(),
            format!("the anonymous publishable key of env {namespace}"),
        ),
    };
    note(&format!(
        "{what} from the local CloudBase mock at {} (TCB_JWKS_URL, TCB_INTROSPECT_URL, \
         TCB_USER_ME_URL); sent as Authorization: Bearer, not printed",
        cb.base_url()
    ));
    let vars = cb.env_vars();
    Ok(((cb, token), vars))
}

/// `.dev/tcb_custom_login.json`, made on first use.
fn dev_key() -> Result<PathBuf, InvokeError> {
    let path = workspace_root().join(".dev").join("tcb_custom_login.json");
    if !path.exists() {
        let env_id = host_var("TCB_ENV").unwrap_or_else(|| "local-dev-env".into());
        keys::write_key_file(&path, &keys::new_key_file(2048, &env_id)?)?;
        note(&format!(
            "created a dev key {} (env_id {env_id})",
            path.display()
        ));
    }
    Ok(path)
}

/// SCF_NAMESPACE: TCB_ENV, else the key's env_id, so a console key works without TCB_ENV.
fn namespace(env: &[(String, String)]) -> String {
    if let Some(e) = host_var("TCB_ENV") {
        return e;
    }
    let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let key = wxlogin::CustomLoginKey::load(lookup, &std::env::current_dir().unwrap_or_default());
    key.ok()
        .and_then(|(k, _)| k.env_id().map(str::to_owned))
        .unwrap_or_else(|| "local-dev-env".into())
}

/// The bytes to deliver and the extra `/next` headers: `raw` wrapped for `--http`, or with the
/// caller's userInfo spliced in when it is a callFunction event.
fn delivery(args: &Args, local: &LocalSetup, raw: Vec<u8>) -> (Vec<u8>, Vec<(String, String)>) {
    let appid = args
        .appid
        .clone()
        .or_else(|| host_var("WX_APPID"))
        .unwrap_or_else(|| MOCK_APPID.into());
    if let Some([method, path]) = args.http.as_deref() {
        let mut e = http_event(
            &method.to_ascii_uppercase(),
            path,
            args,
            &raw,
            &local.namespace,
        );
        if let Some((_, token)) = &local.cloudbase {
            e["headers"]["authorization"] = format!("Bearer {token}").into();
        }
        note_kind(EventKind::Http, args);
        return (e.to_string().into_bytes(), Vec::new());
    }
    let kind = match events::kind_of(&raw) {
        EventKind::Timer | EventKind::Records | EventKind::Http if args.call => {
            EventKind::CallFunction
        }
        k => k,
    };
    let openid = caller(args, local, &raw, &appid);
    if kind != EventKind::CallFunction {
        note_kind(kind, args);
        return (raw, Vec::new());
    }
    let Some(openid) = openid else {
        return (raw, Vec::new());
    };
    let ui = events::user_info(&openid, Some(&appid));
    let event = events::splice_user_info(&raw, &ui).unwrap_or(raw);
    let mut headers = Vec::new();
    if let Some(unionid) = &args.unionid {
        let ns = &local.namespace;
        let environ = format!(
            "WX_OPENID={openid};WX_APPID={appid};WX_UNIONID={unionid};WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_UNIONID;TCB_ENV={ns};SCF_NAMESPACE={ns}"
        );
        headers.push(("environ".to_owned(), environ));
    }
    (event, headers)
}

/// The caller of a callFunction event: `--openid`; none with `--anonymous`. Otherwise, for an
/// event that carries a `code` (a login), the code's user: the mock's user for that code (a
/// code-login function refuses a code of another user than the verified caller), and nobody
/// against real WeChat (the openid is not known in advance). Any other event: a fixed dev user.
fn caller(args: &Args, local: &LocalSetup, raw: &[u8], appid: &str) -> Option<String> {
    if args.anonymous {
        return None;
    }
    if let Some(openid) = &args.openid {
        return Some(openid.clone());
    }
    // A parsed copy, only to read `code`: never the bytes that are delivered.
    let copy: Option<Value> = serde_json::from_slice(raw).ok();
    match (&local.mock, copy.as_ref().and_then(|d| d.get("code"))) {
        (Some(_), Some(Value::String(code))) => Some(mock_wechat::openid_for(appid, code)),
        (None, Some(Value::String(_))) => None,
        _ => Some(DEFAULT_OPENID.to_owned()),
    }
}

/// An HTTP access event whose body is the given bytes: as text when UTF-8, else base64.
fn http_event(method: &str, path: &str, args: &Args, raw: &[u8], namespace: &str) -> Value {
    match (&args.event, std::str::from_utf8(raw)) {
        (None, _) => events::http_access(method, path, None, namespace),
        (Some(_), Ok(text)) => events::http_access(method, path, Some(text), namespace),
        (Some(_), Err(_)) => {
            let mut e = events::http_access(method, path, None, namespace);
            e["body"] = base64::engine::general_purpose::STANDARD.encode(raw).into();
            e["isBase64Encoded"] = true.into();
            e
        }
    }
}

/// Say on stderr what kind of event is delivered as given, and which identity flags it ignores.
fn note_kind(kind: EventKind, args: &Args) {
    // With an access token, --openid and --unionid went into its meta.
    let in_token = args.access_token_for.is_some();
    let ignored: Vec<&str> = [
        ("--openid", args.openid.is_some() && !in_token),
        ("--appid", args.appid.is_some()),
        ("--unionid", args.unionid.is_some() && !in_token),
    ]
    .iter()
    .filter(|(_, given)| *given)
    .map(|(f, _)| *f)
    .collect();
    let ignored = if ignored.is_empty() {
        String::new()
    } else {
        format!("; {} ignored", ignored.join(", "))
    };
    let what = match kind {
        EventKind::NotJson | EventKind::NotAnObject => "delivered as given",
        _ => {
            "delivered as given, with no userInfo: only a callFunction event carries one (--call to force)"
        }
    };
    note(&format!("{}: {what}{ignored}", kind.describe()));
}

/// The function's settings: the flags, else cloudbaserc.json's entry, else the defaults.
fn emulator_config(args: &Args, spec: Option<&FunctionSpec>, namespace: String) -> EmulatorConfig {
    if spec.is_none() {
        note(&format!(
            "{} is not in cloudbaserc.json: _HANDLER={DEFAULT_HANDLER}",
            args.function
        ));
    }
    let listed_ms = spec.map(|s| s.timeout().as_millis() as u64);
    EmulatorConfig {
        memory_limit_in_mb: args.memory_mb.or(spec.map(|s| s.memory_mb)).unwrap_or(128),
        time_limit: Duration::from_millis(
            args.timeout_ms.or(listed_ms).unwrap_or(UNLISTED_TIMEOUT_MS),
        ),
        init_timeout: Duration::from_secs(10),
        function_name: args.function.clone(),
        namespace,
        handler: spec.map_or_else(|| DEFAULT_HANDLER.into(), |s| s.handler.clone()),
    }
}

/// Start the bootstrap, deliver the event, print the result; the exit code says how it ended.
async fn execute(
    function: &str,
    bootstrap: &std::path::Path,
    env: &[(String, String)],
    config: EmulatorConfig,
    event: Vec<u8>,
    headers: Vec<(String, String)>,
) -> ExitCode {
    let started = Instant::now();
    let runner = match Runner::start(bootstrap, env, config, true).await {
        Ok(r) => r,
        Err(f) => {
            eprint!("{}", f.logs);
            note(&format!("init failed: {}", f.reason));
            return ExitCode::from(3);
        }
    };
    let init = started.elapsed();
    let t = Instant::now();
    let outcome = runner.invoke_raw(event, headers).await;
    let took = t.elapsed();
    let status = runner.shutdown().await;
    let (code, what) = match &outcome {
        Outcome::Response(body) => {
            println!("{}", String::from_utf8_lossy(body));
            (0, "response")
        }
        Outcome::Error(body) => {
            println!("{}", String::from_utf8_lossy(body));
            (1, "error")
        }
        Outcome::Timeout => (4, "timeout (bootstrap killed)"),
        Outcome::Crashed(s) => {
            note(&format!("bootstrap exited during the invocation: {s}"));
            (4, "crash")
        }
    };
    note(&format!(
        "{function} -> {what} in {:.1} ms (ready after {:.1} ms); bootstrap {}",
        took.as_secs_f64() * 1e3,
        init.as_secs_f64() * 1e3,
        status.unwrap_or_else(|| "still running".into())
    ));
    ExitCode::from(code)
}

fn note(msg: &str) {
    eprintln!("invoke: {msg}");
}
