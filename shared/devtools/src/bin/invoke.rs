//! `scripts/invoke`: run one function locally on the SCF runtime-API emulator.
//!
//! ```text
//! scripts/invoke FUNCTION [EVENT_JSON | @FILE | -] [--openid ID] [--appid ID] [--unionid ID]
//!                [--anonymous] [--http METHOD PATH] [--bootstrap PATH] [--release]
//!                [--timeout-ms MS] [--memory-mb MB]
//! ```
//! Prints the function's response body on stdout and its logs on stderr. Exit status: 0 for
//! `/response`, 1 for `/error`, 2 for bad usage or a failed build, 3 for an init failure,
//! 4 for a timeout or crash.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;
use wxlogin_devtools::emulator::{EmulatorConfig, Outcome, Runner};
use wxlogin_devtools::{
    FUNCTION_CONFIG_VARS, events, keys, mock_wechat::MockWeChat, workspace_root,
};

const FUNCTIONS: &[&str] = &["getLoginTicket", "getUserInfo", "test"];
const DEFAULT_OPENID: &str = "oLocalDevUser0000000000000001";
const MOCK_APPID: &str = "wx0000000000local";
const MOCK_SECRET: &str = "local-mock-secret";

const USAGE: &str = "usage: scripts/invoke FUNCTION [EVENT_JSON | @FILE | -] [--openid ID] [--appid ID] [--unionid ID] [--anonymous] [--http METHOD PATH] [--bootstrap PATH] [--release] [--timeout-ms MS] [--memory-mb MB]
  FUNCTION     getLoginTicket | getUserInfo | test
  EVENT_JSON   the event data (default {}); @FILE reads a file, - reads stdin
  --openid/--appid
               the userInfo injected into a callFunction event (default appid = WX_APPID; default openid:
               with the mock and a code, the mock's user for that code; else oLocalDevUser...)
  --unionid    also deliver WX_OPENID/WX_APPID/WX_UNIONID in an `environ` header on /next
  --anonymous  inject no identity
  --http M P   wrap the event data as the JSON body of an HTTP access event (method M, path P)
  --bootstrap  run this binary instead of building the function
  --release    build with --release
Without WX_APPID/WX_SECRET a local jscode2session mock is started; without a key a dev key is made in .dev/.";

struct Args {
    function: String,
    event: Option<String>,
    openid: Option<String>,
    appid: Option<String>,
    unionid: Option<String>,
    anonymous: bool,
    http: Option<(String, String)>,
    bootstrap: Option<PathBuf>,
    release: bool,
    timeout_ms: u64,
    memory_mb: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        function: String::new(),
        event: None,
        openid: None,
        appid: None,
        unionid: None,
        anonymous: false,
        http: None,
        bootstrap: None,
        release: false,
        timeout_ms: 5000,
        memory_mb: 128,
    };
    let mut positional = Vec::new();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--openid" => a.openid = Some(val("--openid")?),
            "--appid" => a.appid = Some(val("--appid")?),
            "--unionid" => a.unionid = Some(val("--unionid")?),
            "--anonymous" => a.anonymous = true,
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
    let mut pos = positional.into_iter();
    a.function = pos.next().ok_or("FUNCTION is missing")?;
    if !FUNCTIONS.contains(&a.function.as_str()) {
        return Err(format!(
            "unknown function {:?}; one of {}",
            a.function,
            FUNCTIONS.join(", ")
        ));
    }
    a.event = pos.next();
    if let Some(extra) = pos.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    Ok(a)
}

fn read_event(spec: Option<&str>) -> Result<String, String> {
    match spec {
        None => Ok("{}".into()),
        Some("-") => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| format!("stdin: {e}"))?;
            Ok(s)
        }
        Some(f) if f.starts_with('@') => {
            std::fs::read_to_string(&f[1..]).map_err(|e| format!("{}: {e}", &f[1..]))
        }
        Some(json) => Ok(json.into()),
    }
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
    let data_text = read_event(args.event.as_deref())?;
    let data: Value =
        serde_json::from_str(&data_text).map_err(|e| format!("the event is not JSON: {e}"))?;
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
    let code = data.get("code").and_then(Value::as_str);
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
    let event = match &args.http {
        Some((method, path)) => {
            let body = if data_text.trim() == "{}" && args.event.is_none() {
                None
            } else {
                Some(data.to_string())
            };
            events::http_access(method, path, body.as_deref(), &namespace)
        }
        None => events::call_function(data, openid.as_deref(), Some(&appid)),
    };
    let mut headers = Vec::new();
    if let (Some(unionid), Some(openid), None) = (&args.unionid, &openid, &args.http) {
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
        ..EmulatorConfig::default()
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
    let outcome = runner
        .invoke_raw(event.to_string().into_bytes(), headers)
        .await;
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
