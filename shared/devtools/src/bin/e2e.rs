//! `e2e`: everything the mini program's login talks to, on 127.0.0.1, for `make e2e`.
//!
//! ```text
//! target/debug/e2e [--env ENV_ID] [--functions DIR] [--logs FILE]
//! ```
//!
//! Starts, and keeps running until its standard input closes (or SIGTERM / SIGINT):
//! - the mock WeChat (`jscode2session`, `stable_token`, `getuserphonenumber`);
//! - a dev custom-login key for the env (`tcb_custom_login.json` in a temp folder);
//! - the CloudBase mock for the env, trusting that key: sign-in with a custom ticket, refresh,
//!   `/auth/v1/user/me`, the key set, `/web` `functions.invokeFunction` and the gateway's
//!   `/v1/functions/{name}` (docs/emulator.md, "Local mock (CloudBase access tokens)");
//! - our functions: getLoginTicket, getUserInfo, test and getPhoneNumber, each as an HTTP function
//!   (`--web`) and as an event function on the runtime-API emulator, both pointed at the mocks. The
//!   binaries are those beside this one, or in `--functions DIR` (CI passes the static release
//!   binaries it ships, `target/x86_64-unknown-linux-musl/release`).
//!
//! Then prints one JSON line on stdout for the Node harness (`examples/miniprogram/e2e/run.js`):
//! `{"envId", "appId", "cloudbase": "http://127.0.0.1:P", "wechat": "http://…", "keyFile": path,
//! "functions": {"getLoginTicket": "http://127.0.0.1:P", …}}`. On the way out it writes every
//! function's log to `--logs FILE` (for the harness's check that no token or ticket is logged),
//! and removes the key. Exit status 2 when something cannot start, with the reason on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use scf_emulator::emulator::{EmulatorConfig, Runner};
use serde_json::json;
use tokio::sync::Mutex;
use wxlogin_devtools::mock_cloudbase::{FunctionBackend, MockCloudBase, MockIssuer};
use wxlogin_devtools::mock_wechat::MockWeChat;
use wxlogin_devtools::testkit::WebProcess;

/// The functions the mini program calls.
const FUNCTIONS: &[&str] = &["getLoginTicket", "getUserInfo", "test", "getPhoneNumber"];
/// The mock mini program's AppID and AppSecret (the mock WeChat's).
const APPID: &str = "wxe2e0000000000001";
const SECRET: &str = "E2EAPPSECRET0123456789abcdef0000";

/// Run the mocks and our functions for the end-to-end login (`make e2e`).
#[derive(Parser)]
#[command(name = "e2e")]
struct Args {
    /// The CloudBase env id
    #[arg(long = "env", default_value = "e2e-env-1a2b")]
    env_id: String,
    /// Write the functions' logs here on the way out
    #[arg(long)]
    logs: Option<PathBuf>,
    /// The folder with the function binaries (default: this binary's folder)
    #[arg(long)]
    functions: Option<PathBuf>,
}

struct Stack {
    cloudbase: MockCloudBase,
    _wechat: MockWeChat,
    web: Vec<(String, WebProcess)>,
    event: Vec<(String, Arc<Mutex<Runner>>)>,
    dir: PathBuf,
}

fn fail(what: &str, e: impl std::fmt::Display) -> String {
    format!("e2e: {what}: {e}")
}

async fn start(args: &Args) -> Result<Stack, String> {
    let here = std::env::current_exe().map_err(|e| fail("where am I", e))?;
    let bin_dir = match &args.functions {
        Some(dir) => dir.clone(),
        None => here
            .parent()
            .ok_or_else(|| fail("where am I", "no folder"))?
            .to_path_buf(),
    };
    let wechat = MockWeChat::start(APPID, SECRET)
        .await
        .map_err(|e| fail("mock WeChat", e))?;
    let cloudbase = MockCloudBase::start_with(&args.env_id, MockIssuer::TcbApi)
        .await
        .map_err(|e| fail("mock CloudBase", e))?;
    let dir = std::env::temp_dir().join(format!("wxlogin-e2e-{}", std::process::id()));
    let key_json = wxlogin_devtools::keys::new_key_file(2048, &args.env_id)
        .map_err(|e| fail("custom-login key", e))?;
    let key_file = dir.join("tcb_custom_login.json");
    wxlogin_devtools::keys::write_key_file(&key_file, &key_json)
        .map_err(|e| fail("custom-login key", e))?;
    cloudbase
        .trust_custom_login_key(&key_json)
        .map_err(|e| fail("custom-login key", e))?;
    let mut env = vec![
        ("WX_APPID".to_owned(), APPID.to_owned()),
        ("WX_SECRET".to_owned(), SECRET.to_owned()),
        ("WECHAT_API_BASE".to_owned(), wechat.base_url()),
        (
            "TCB_CUSTOM_LOGIN_KEY_FILE".to_owned(),
            key_file.display().to_string(),
        ),
    ];
    env.extend(cloudbase.env_vars());
    let mut stack = Stack {
        cloudbase,
        _wechat: wechat,
        web: Vec::new(),
        event: Vec::new(),
        dir,
    };
    for name in FUNCTIONS {
        let bin = bin_dir.join(name);
        if !bin.exists() {
            return Err(fail(
                &format!("{} is missing", bin.display()),
                "build the functions first (make e2e runs cargo build --bins; with --functions, the folder must hold them)",
            ));
        }
        let web = WebProcess::start(&bin, &env).await;
        let config = EmulatorConfig {
            time_limit: std::time::Duration::from_secs(5),
            namespace: args.env_id.clone(),
            function_name: (*name).to_owned(),
            ..EmulatorConfig::default()
        };
        let runner = Runner::start(&bin, &env, config, false)
            .await
            .map_err(|f| fail(&format!("{name} (event mode)"), f.reason))?;
        let runner = Arc::new(Mutex::new(runner));
        stack.cloudbase.set_function(
            name,
            FunctionBackend {
                web_url: Some(format!("http://127.0.0.1:{}", web.port)),
                event: Some(runner.clone()),
            },
        );
        stack.web.push(((*name).to_owned(), web));
        stack.event.push(((*name).to_owned(), runner));
    }
    Ok(stack)
}

impl Stack {
    fn describe(&self, args: &Args) -> serde_json::Value {
        let functions: serde_json::Map<String, serde_json::Value> = self
            .web
            .iter()
            .map(|(n, w)| (n.clone(), json!(format!("http://127.0.0.1:{}", w.port))))
            .collect();
        json!({
            "envId": args.env_id,
            "appId": APPID,
            "cloudbase": self.cloudbase.base_url(),
            "wechat": self._wechat.base_url(),
            "keyFile": self.dir.join("tcb_custom_login.json"),
            "functions": functions,
        })
    }

    /// Stop everything; the functions' logs, labelled.
    async fn stop(self) -> String {
        let mut logs = String::new();
        for (name, web) in self.web {
            let (_, l) = web.stop().await;
            logs.push_str(&format!("== {name} --web\n{l}\n"));
        }
        for (name, runner) in self.event {
            if let Ok(runner) = Arc::try_unwrap(runner) {
                let (_, l) = runner.into_inner().stop().await;
                logs.push_str(&format!("== {name} (event)\n{l}\n"));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        logs
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let stack = match start(&args).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", stack.describe(&args));
    // Until the harness closes our stdin (or we are told to stop).
    // std's stdin on a blocking thread (tokio's needs its io-std feature, for this one read).
    let stdin_closed = tokio::task::spawn_blocking(|| {
        use std::io::Read as _;
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = stdin_closed => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // The mock must outlive the functions' last requests: stop them first.
    let logs = stack.stop().await;
    if let Some(path) = &args.logs
        && let Err(e) = std::fs::write(path, logs)
    {
        eprintln!("e2e: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
