//! `scripts/invoke`: run one function locally on the SCF runtime-API emulator.
//!
//! ```text
//! scripts/invoke FUNCTION [EVENT | @FILE | -] [--openid ID] [--appid ID] [--unionid ID]
//!                [--anonymous] [--call] [--http METHOD PATH] [--bootstrap PATH] [--release]
//!                [--timeout-ms MS] [--memory-mb MB]
//! ```
//! Prints the function's response body on stdout and its logs on stderr. Exit status: 0 for
//! `/response`, 1 for `/error`, 2 for bad usage or a failed build, 3 for an init failure,
//! 4 for a timeout or crash.
//!
//! The event is delivered byte for byte as given: it is never parsed and re-serialised, so a
//! repeated key, a big integer or text that is not JSON reaches the function as it would from
//! the platform. Only a callFunction event gets the platform's `userInfo`, spliced in after its
//! opening `{`; the kind comes from the event's shape ([`events::kind_of`]), because a timer,
//! COS or HTTP event never carries a caller in the cloud.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use wxlogin_devtools::emulator::{EmulatorConfig, Outcome, Runner};
use wxlogin_devtools::events::{self, EventKind};
use wxlogin_devtools::{FUNCTION_CONFIG_VARS, keys, mock_wechat::MockWeChat, workspace_root};

const FUNCTIONS: &[&str] = &["getLoginTicket", "getUserInfo", "test"];
const DEFAULT_OPENID: &str = "oLocalDevUser0000000000000001";
const MOCK_APPID: &str = "wx0000000000local";
const MOCK_SECRET: &str = "local-mock-secret";
/// `_HANDLER` when cloudbaserc.json does not name one for the function.
const DEFAULT_HANDLER: &str = "index.main";

const USAGE: &str = "usage: scripts/invoke FUNCTION [EVENT | @FILE | -] [--openid ID] [--appid ID] [--unionid ID] [--anonymous] [--call] [--http METHOD PATH] [--bootstrap PATH] [--release] [--timeout-ms MS] [--memory-mb MB]
  FUNCTION     getLoginTicket | getUserInfo | test
  EVENT        the event (default {}); @FILE reads a file, - reads stdin. Delivered byte for byte as
               given (not parsed, not re-serialised; not-JSON is delivered too)
  The event's kind comes from its shape, and only a callFunction event gets the caller's userInfo:
    timer          \"Type\":\"Timer\" or a TriggerName key          -> no userInfo
    COS/CMQ/CKafka a Records key                                 -> no userInfo
    API gateway / HTTP access
                   a string httpMethod with a headers or requestContext object -> no userInfo
    callFunction   any other JSON object                         -> userInfo spliced in after its '{'
    anything else  (array, string, null, not JSON)               -> delivered as is
  --openid/--appid
               the userInfo of a callFunction event (default appid = WX_APPID; default openid:
               with the mock and a code, the mock's user for that code; else oLocalDevUser...)
  --unionid    also deliver WX_OPENID/WX_APPID/WX_UNIONID in an `environ` header on /next
               (callFunction events only)
  --anonymous  inject no identity
  --call       treat the event as a callFunction whatever its shape (e.g. data that holds httpMethod
               and headers)
  --http M P   wrap the event as the body of an HTTP access event (method M, path P; no userInfo)
  --bootstrap  run this binary instead of building the function
  --release    build with --release
The bootstrap gets _HANDLER from cloudbaserc.json and SCF's environment with fake credentials (README
\"Local emulator and mock\"). Without WX_APPID/WX_SECRET a local jscode2session mock is started; without a
key a dev key is made in .dev/.";

struct Args {
    function: String,
    event: Option<Vec<u8>>,
    openid: Option<String>,
    appid: Option<String>,
    unionid: Option<String>,
    anonymous: bool,
    call: bool,
    http: Option<(String, String)>,
    bootstrap: Option<PathBuf>,
    release: bool,
    timeout_ms: u64,
    memory_mb: u32,
}

fn parse_args() -> Result<Args, String> {
    // Raw OS strings: an inline event is delivered as given, even when it is not UTF-8.
    let mut it = std::env::args_os().skip(1);
    let mut a = Args {
        function: String::new(),
        event: None,
        openid: None,
        appid: None,
        unionid: None,
        anonymous: false,
        call: false,
        http: None,
        bootstrap: None,
        release: false,
        timeout_ms: 5000,
        memory_mb: 128,
    };
    let mut positional: Vec<OsString> = Vec::new();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .ok_or(format!("{name} needs a value"))?
                .into_string()
                .map_err(|_| format!("{name} takes UTF-8 text"))
        };
        match arg.to_str().unwrap_or("") {
            "-h" | "--help" => return Err(String::new()),
            "--openid" => a.openid = Some(val("--openid")?),
            "--appid" => a.appid = Some(val("--appid")?),
            "--unionid" => a.unionid = Some(val("--unionid")?),
            "--anonymous" => a.anonymous = true,
            "--call" => a.call = true,
            "--http" => {
                let m = val("--http")?;
                let p = val("--http")?;
                a.http = Some((m.to_ascii_uppercase(), p));
            }
            "--bootstrap" => a.bootstrap = Some(PathBuf::from(val("--bootstrap")?)),
            "--release" => a.release = true,
            "--timeout-ms" => {
                a.timeout_ms = val("--timeout-ms")?
                    .parse()
                    .map_err(|_| "--timeout-ms takes a number")?
            }
            "--memory-mb" => {
                a.memory_mb = val("--memory-mb")?
                    .parse()
                    .map_err(|_| "--memory-mb takes a number")?
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(arg),
        }
    }
    if a.call && a.http.is_some() {
        return Err("--call and --http exclude each other".into());
    }
    let mut pos = positional.into_iter();
    a.function = pos
        .next()
        .ok_or("FUNCTION is missing")?
        .to_string_lossy()
        .into_owned();
    if !FUNCTIONS.contains(&a.function.as_str()) {
        return Err(format!(
            "unknown function {:?}; one of {}",
            a.function,
            FUNCTIONS.join(", ")
        ));
    }
    if let Some(event) = pos.next() {
        a.event = Some(event.into_vec());
    }
    if let Some(extra) = pos.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    Ok(a)
}

/// The event's bytes exactly as given: `{}` by default, stdin for `-`, a file for `@FILE`, else
/// the argument itself.
fn read_event(spec: Option<&[u8]>) -> Result<Vec<u8>, String> {
    match spec {
        None => Ok(b"{}".to_vec()),
        Some(b"-") => {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                .map_err(|e| format!("stdin: {e}"))?;
            Ok(s)
        }
        Some([b'@', file @ ..]) => {
            let path = PathBuf::from(OsString::from_vec(file.to_vec()));
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Some(raw) => Ok(raw.to_vec()),
    }
}

/// The function's `handler` in the workspace's cloudbaserc.json, for `_HANDLER`; the default
/// `index.main` (with a note) when the file or the entry is missing.
fn configured_handler(function: &str) -> String {
    let path = workspace_root().join("cloudbaserc.json");
    let found = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v["functions"].as_array()?.iter().find_map(|f| {
                (f["name"] == function).then(|| f["handler"].as_str().map(str::to_owned))?
            })
        });
    found.unwrap_or_else(|| {
        note(&format!(
            "no handler for {function} in {}: _HANDLER={DEFAULT_HANDLER}",
            path.display()
        ));
        DEFAULT_HANDLER.into()
    })
}

fn build(function: &str, release: bool) -> Result<PathBuf, String> {
    let root = workspace_root();
    let mut cmd =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root)
        .args(["build", "--quiet", "--bin", function]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --bin {function} failed"));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join(function))
}

fn note(msg: &str) {
    eprintln!("invoke: {msg}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("invoke: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("invoke: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, String> {
    let raw = read_event(args.event.as_deref())?;
    // A parsed copy, only to read `code` and the shape: never the bytes that are delivered.
    let copy: Option<Value> = serde_json::from_slice(&raw).ok();
    let bootstrap = match &args.bootstrap {
        Some(p) => p
            .canonicalize()
            .map_err(|e| format!("{}: {e}", p.display()))?,
        None => build(&args.function, args.release)?,
    };

    let mut env: Vec<(String, String)> = Vec::new();
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    for k in ["RUST_LOG", "LOG_FORMAT"]
        .iter()
        .chain(FUNCTION_CONFIG_VARS)
    {
        if let Some(v) = get(k) {
            env.push(((*k).into(), v));
        }
    }
    let mut set = |k: &str, v: String| {
        env.retain(|(n, _)| n != k);
        env.push((k.into(), v));
    };

    // Embedded default: a local jscode2session mock when there are no real credentials.
    let _mock = if get("WX_APPID").is_none() || get("WX_SECRET").is_none() {
        let mock = MockWeChat::start(MOCK_APPID, MOCK_SECRET)
            .await
            .map_err(|e| format!("mock WeChat: {e}"))?;
        note(&format!(
            "no WX_APPID/WX_SECRET: using the local jscode2session mock at {}",
            mock.base_url()
        ));
        set("WX_APPID", MOCK_APPID.into());
        set("WX_SECRET", MOCK_SECRET.into());
        set("WECHAT_API_BASE", mock.base_url());
        Some(mock)
    } else {
        None
    };
    // And a dev key when none is configured.
    if get("TCB_CUSTOM_LOGIN_KEY").is_none() && get("TCB_CUSTOM_LOGIN_KEY_FILE").is_none() {
        let path = workspace_root().join(".dev").join("tcb_custom_login.json");
        if !path.exists() {
            let env_id = get("TCB_ENV").unwrap_or_else(|| "local-dev-env".into());
            keys::write_key_file(&path, &keys::generate(2048, &env_id)?)?;
            note(&format!(
                "created a dev key {} (env_id {env_id})",
                path.display()
            ));
        }
        set("TCB_CUSTOM_LOGIN_KEY_FILE", path.display().to_string());
    }
    // SCF_NAMESPACE: TCB_ENV, else the key's env_id, so a console key works without TCB_ENV.
    let namespace = match get("TCB_ENV") {
        Some(e) => e,
        None => {
            let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let key = wxlogin::ticket::CustomLoginKey::load(
                lookup,
                &std::env::current_dir().unwrap_or_default(),
            );
            key.ok()
                .and_then(|(k, _)| k.env_id().map(str::to_owned))
                .unwrap_or_else(|| "local-dev-env".into())
        }
    };

    let appid = args
        .appid
        .clone()
        .or_else(|| get("WX_APPID"))
        .unwrap_or_else(|| MOCK_APPID.into());
    // The caller: --openid; else, with the mock, the user the mock gives for the event's code
    // (getLoginTicket refuses a code of another user than the verified caller); else, for
    // getLoginTicket against real WeChat, nobody (the openid is not known in advance).
    let code = copy
        .as_ref()
        .and_then(|d| d.get("code"))
        .and_then(Value::as_str);
    let default_openid = match (&_mock, code) {
        (Some(_), Some(code)) => Some(wxlogin_devtools::mock_wechat::openid_for(&appid, code)),
        (None, _) if args.function == "getLoginTicket" => None,
        _ => Some(DEFAULT_OPENID.to_owned()),
    };
    let openid = if args.anonymous {
        None
    } else {
        args.openid.clone().or(default_openid)
    };
    let (event, kind) = match &args.http {
        Some((method, path)) => {
            // The given bytes become the body: as text when UTF-8, else base64.
            let e = match (&args.event, std::str::from_utf8(&raw)) {
                (None, _) => events::http_access(method, path, None, &namespace),
                (Some(_), Ok(text)) => events::http_access(method, path, Some(text), &namespace),
                (Some(_), Err(_)) => {
                    let mut e = events::http_access(method, path, None, &namespace);
                    e["body"] = base64::engine::general_purpose::STANDARD
                        .encode(&raw)
                        .into();
                    e["isBase64Encoded"] = true.into();
                    e
                }
            };
            (e.to_string().into_bytes(), EventKind::Http)
        }
        None => {
            let kind = match events::kind_of(&raw) {
                EventKind::Timer | EventKind::Records | EventKind::Http if args.call => {
                    EventKind::CallFunction
                }
                k => k,
            };
            let event = match (kind, &openid) {
                (EventKind::CallFunction, Some(openid)) => {
                    let ui = events::user_info(openid, Some(&appid));
                    events::splice_user_info(&raw, &ui).unwrap_or(raw)
                }
                _ => raw,
            };
            (event, kind)
        }
    };
    if kind != EventKind::CallFunction {
        let ignored = [
            ("--openid", args.openid.is_some()),
            ("--appid", args.appid.is_some()),
            ("--unionid", args.unionid.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(f, _)| *f)
        .collect::<Vec<_>>();
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
    let mut headers = Vec::new();
    if let (EventKind::CallFunction, Some(unionid), Some(openid)) = (kind, &args.unionid, &openid) {
        let environ = format!(
            "WX_OPENID={openid};WX_APPID={appid};WX_UNIONID={unionid};WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_UNIONID;TCB_ENV={namespace};SCF_NAMESPACE={namespace}"
        );
        headers.push(("environ".to_owned(), environ));
    }

    let config = EmulatorConfig {
        memory_limit_in_mb: args.memory_mb,
        time_limit: Duration::from_millis(args.timeout_ms),
        init_timeout: Duration::from_secs(10),
        function_name: args.function.clone(),
        namespace,
        handler: configured_handler(&args.function),
    };
    let started = Instant::now();
    let runner = match Runner::start(&bootstrap, &env, config, true).await {
        Ok(r) => r,
        Err(f) => {
            eprint!("{}", f.logs);
            note(&format!("init failed: {}", f.reason));
            return Ok(ExitCode::from(3));
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
        "{} -> {what} in {:.1} ms (ready after {:.1} ms); bootstrap {}",
        args.function,
        took.as_secs_f64() * 1e3,
        init.as_secs_f64() * 1e3,
        status.unwrap_or_else(|| "still running".into())
    ));
    Ok(ExitCode::from(code))
}
