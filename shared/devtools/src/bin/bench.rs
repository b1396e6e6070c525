//! `make bench`: our Rust functions against the same functions in Node with the official SDKs,
//! on this machine, in one run, interleaved. Prints a markdown report and writes it to `--out`.
//!
//! ```text
//! bench --rust-dir DIR --node-dir DIR [--dist DIR] [--criterion DIR] [--criterion-fast-rsa DIR] [--out FILE]
//!       [--cold N] [--warm N] [--mint-seconds S] [--load-concurrency N,N,..] [--load-seconds S]
//!       [--wrk-script FILE] [--quick]
//! ```
//! - cold start: spawn → the emulator receives the first `/response` (the event is waiting, as on
//!   SCF), median and p90 over `--cold` starts (default 20) per function and runtime;
//! - warm latency: `--warm` (default 10,000) sequential invocations per function through the
//!   emulator, p50 and p99; Rust and Node alternate in blocks of 500;
//! - peak RSS: `VmHWM` of the function process after the warm run;
//! - package size: `dist/<function>.zip` for Rust, a `zip -9` of the Node function with its
//!   `node_modules`;
//! - ticket minting: criterion's estimates (`target/criterion/mint_*`; with
//!   `--criterion-fast-rsa`, also those of a build with aws-lc at -O2, `make build FAST_RSA=1`),
//!   node-sdk `createTicket` (`mint.js`), and `openssl speed rsa1024 rsa2048` sign/s.
//!
//! - web mode: `getLoginTicket --web`, spawn → first HTTP 200 and warm keep-alive latency;
//! - load: `getLoginTicket --web` against the Node HTTP function (`node-dir/web/getLoginTicket`)
//!   under wrk at each `--load-concurrency` (default 1,16,64,256) for `--load-seconds` (default
//!   10) after a 2 s warm-up, each side pinned to a core; logins/s, p50/p99, peak RSS, CPU per
//!   login, billed GB-s per million logins (see `wxlogin_devtools::load`).
//!
//! `--quick` is CI's smoke run: 2 cold starts, 200 warm invocations, 1 s of minting, no
//! criterion, load at concurrency 1 and 64 for 2 s each after 1 s of warm-up, and nothing is
//! written unless `--out` is given.
//! Exit status: 0 when every measurement ran (targets missed are reported, not failed),
//! 1 when a function gave a wrong answer (in the load section: any failed login), 2 on bad
//! usage or when a run could not start.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wxlogin_devtools::emulator::{EmulatorConfig, Outcome, Runner};
use wxlogin_devtools::events::call_function;
use wxlogin_devtools::load::{self, LoadOptions, ServerCommand};
use wxlogin_devtools::measure::{ms, percentile, proc_status_kb, ratio};
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{APPID, ENV, LoginFixture};

const FUNCTIONS: &[&str] = &["getLoginTicket", "getUserInfo", "test"];
const USAGE: &str = "usage: bench --rust-dir DIR --node-dir DIR [--dist DIR] [--criterion DIR] [--criterion-fast-rsa DIR] [--out FILE] [--cold N] [--warm N] [--mint-seconds S] [--load-concurrency N,N,..] [--load-seconds S] [--wrk-script FILE] [--quick]";

struct Args {
    rust_dir: PathBuf,
    node_dir: PathBuf,
    dist: PathBuf,
    criterion: PathBuf,
    criterion_fast_rsa: Option<PathBuf>,
    out: Option<PathBuf>,
    cold: usize,
    warm: usize,
    mint_seconds: f64,
    load: LoadOptions,
    quick: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rust_dir: PathBuf::new(),
        node_dir: PathBuf::new(),
        dist: PathBuf::from("dist"),
        criterion: PathBuf::from("target/criterion"),
        criterion_fast_rsa: None,
        out: None,
        cold: 20,
        warm: 10_000,
        mint_seconds: 3.0,
        load: LoadOptions {
            concurrency: vec![1, 16, 64, 256],
            seconds: 10,
            warmup_seconds: 2,
            wechat_delay_ms: 20,
            wrk_script: PathBuf::from("scripts/bench/wrk/login.lua"),
        },
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rust-dir" => a.rust_dir = value()?.into(),
            "--node-dir" => a.node_dir = value()?.into(),
            "--dist" => a.dist = value()?.into(),
            "--criterion" => a.criterion = value()?.into(),
            "--criterion-fast-rsa" => a.criterion_fast_rsa = Some(value()?.into()),
            "--out" => a.out = Some(value()?.into()),
            "--cold" => a.cold = value()?.parse().map_err(|_| "--cold: not a number")?,
            "--warm" => a.warm = value()?.parse().map_err(|_| "--warm: not a number")?,
            "--mint-seconds" => {
                a.mint_seconds = value()?
                    .parse()
                    .map_err(|_| "--mint-seconds: not a number")?
            }
            "--load-concurrency" => {
                a.load.concurrency = value()?
                    .split(',')
                    .map(|c| c.trim().parse::<usize>().ok().filter(|&c| c > 0))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("--load-concurrency: a comma-separated list of numbers from 1")?
            }
            "--load-seconds" => {
                a.load.seconds = value()?
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or("--load-seconds: a whole number of seconds from 1")?
            }
            "--wrk-script" => a.load.wrk_script = value()?.into(),
            "--quick" => {
                a.quick = true;
                a.cold = 2;
                a.warm = 200;
                a.mint_seconds = 1.0;
                a.load.concurrency = vec![1, 64];
                a.load.seconds = 2;
                a.load.warmup_seconds = 1;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.rust_dir.as_os_str().is_empty() || a.node_dir.as_os_str().is_empty() {
        return Err("--rust-dir and --node-dir are required".into());
    }
    if a.cold == 0 || a.warm == 0 {
        return Err("--cold and --warm must be at least 1".into());
    }
    Ok(a)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Rust,
    Node,
}

impl Lang {
    fn name(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Node => "Node",
        }
    }
}

/// Everything measured for one function in one language.
#[derive(Default)]
struct Figures {
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    peak_rss_kb: u64,
    zip_bytes: Option<u64>,
}

/// Where to run things and with what.
struct Setup {
    args: Args,
    env: Vec<(String, String)>,
    key_1024: PathBuf,
    key_2048: PathBuf,
}

impl Setup {
    fn bootstrap(&self, lang: Lang, function: &str) -> PathBuf {
        match lang {
            Lang::Rust => self.args.rust_dir.join(function),
            Lang::Node => self
                .args
                .node_dir
                .join("functions")
                .join(function)
                .join("bootstrap"),
        }
    }
}

fn config(function: &str) -> EmulatorConfig {
    EmulatorConfig {
        time_limit: Duration::from_secs(10),
        init_timeout: Duration::from_secs(20),
        namespace: ENV.into(),
        function_name: function.into(),
        ..EmulatorConfig::default()
    }
}

/// The i-th event for `function` and its `/next` headers: a callFunction from the code's own
/// user, vouched for by `userInfo` and by `environ` (wx-server-sdk reads only the latter), with a
/// fresh code each time (a code is single-use).
fn event(function: &str, tag: &str, i: usize) -> (Vec<u8>, Vec<(String, String)>) {
    let code = format!("bench{tag}{i}.1");
    let openid = openid_for(APPID, &code);
    let data = if function == "getLoginTicket" {
        json!({ "code": code })
    } else {
        json!({})
    };
    let environ = format!(
        "WX_OPENID={openid};WX_APPID={APPID};WX_UNIONID=uBench;WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_UNIONID"
    );
    (
        call_function(data, Some(&openid), Some(APPID))
            .to_string()
            .into_bytes(),
        vec![("environ".into(), environ)],
    )
}

/// A right answer: a result with the caller's openid (at the top or in `identity`).
fn check(function: &str, lang: Lang, o: &Outcome) -> Result<(), String> {
    let Outcome::Response(b) = o else {
        return Err(format!("{} {function}: {o:?}", lang.name()));
    };
    let v: Value = serde_json::from_slice(b).map_err(|e| format!("not JSON: {e}"))?;
    let openid = v
        .get("identity")
        .unwrap_or(&v)
        .get("openid")
        .and_then(Value::as_str);
    let ticket_ok = function != "getLoginTicket" || v["ticket"].as_str().is_some();
    if openid.is_some() && ticket_ok {
        Ok(())
    } else {
        Err(format!("{} {function}: unexpected answer {v}", lang.name()))
    }
}

async fn cold_starts(s: &Setup, function: &str, figs: &mut [Figures; 2]) -> Result<(), String> {
    for i in 0..s.args.cold {
        for (k, lang) in [Lang::Rust, Lang::Node].into_iter().enumerate() {
            let (ev, headers) = event(function, &format!("cold{}", lang.name()), i);
            let (rt, o, took) = Runner::start_cold(
                &s.bootstrap(lang, function),
                &s.env,
                config(function),
                ev,
                headers,
            )
            .await
            .map_err(|f| format!("{} {function}: {}\n{}", lang.name(), f.reason, f.logs))?;
            check(function, lang, &o)?;
            figs[k].cold.push(took);
            rt.shutdown().await;
        }
    }
    Ok(())
}

async fn warm(s: &Setup, function: &str, figs: &mut [Figures; 2]) -> Result<(), String> {
    let mut runners = Vec::new();
    for lang in [Lang::Rust, Lang::Node] {
        let rt = Runner::start(
            &s.bootstrap(lang, function),
            &s.env,
            config(function),
            false,
        )
        .await
        .map_err(|f| format!("{} {function}: {}\n{}", lang.name(), f.reason, f.logs))?;
        runners.push((lang, rt));
    }
    const BLOCK: usize = 500;
    let mut done = 0;
    while done < s.args.warm {
        let n = BLOCK.min(s.args.warm - done);
        for (k, (lang, rt)) in runners.iter().enumerate() {
            for i in done..done + n {
                let (ev, headers) = event(function, &format!("warm{}", lang.name()), i);
                let t = Instant::now();
                let o = rt.invoke_raw(ev, headers).await;
                figs[k].warm.push(t.elapsed());
                check(function, *lang, &o)?;
            }
        }
        done += n;
    }
    for (k, (_, rt)) in runners.into_iter().enumerate() {
        figs[k].peak_rss_kb = proc_status_kb(rt.pid(), "VmHWM").unwrap_or(0);
        rt.shutdown().await;
    }
    Ok(())
}

/// A keep-alive HTTP/1.1 connection to a web-mode process (what a gateway in front of an HTTP
/// function would hold open).
struct KeepAlive {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl KeepAlive {
    async fn connect(port: u16) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(KeepAlive {
            stream: tokio::io::BufReader::new(stream),
        })
    }

    /// POST `body` to `/`; the status and the body.
    async fn post(&mut self, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Scf-Timeout: 3000\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut status = 0;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if status == 0 {
                status = l
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn spawn_web(s: &Setup, port: u16) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(s.args.rust_dir.join("getLoginTicket"))
        .arg("--web")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

async fn stop_web(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// Web mode (getLoginTicket --web): spawn → first HTTP 200, and warm keep-alive latency.
async fn web_mode(s: &Setup) -> Result<(Vec<Duration>, Vec<Duration>, u64), String> {
    let mut cold = Vec::new();
    for i in 0..s.args.cold {
        let port = free_port();
        let body = json!({ "code": format!("benchwebcold{i}.1") }).to_string();
        let spawned = Instant::now();
        let child = spawn_web(s, port).map_err(|e| format!("getLoginTicket --web: {e}"))?;
        let mut conn = loop {
            match KeepAlive::connect(port).await {
                Ok(c) => break c,
                Err(_) if spawned.elapsed() < Duration::from_secs(10) => {
                    tokio::task::yield_now().await
                }
                Err(e) => return Err(format!("getLoginTicket --web never listened: {e}")),
            }
        };
        let (status, b) = conn.post(&body).await.map_err(|e| format!("web: {e}"))?;
        cold.push(spawned.elapsed());
        if status != 200 {
            return Err(format!(
                "web cold start: HTTP {status}: {}",
                String::from_utf8_lossy(&b)
            ));
        }
        stop_web(child).await;
    }
    let port = free_port();
    let child = spawn_web(s, port).map_err(|e| format!("getLoginTicket --web: {e}"))?;
    let started = Instant::now();
    let mut conn = loop {
        match KeepAlive::connect(port).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(1)).await
            }
            Err(e) => return Err(format!("getLoginTicket --web never listened: {e}")),
        }
    };
    let mut warm = Vec::with_capacity(s.args.warm);
    for i in 0..s.args.warm {
        let body = json!({ "code": format!("benchwebwarm{i}.1") }).to_string();
        let t = Instant::now();
        let (status, b) = conn.post(&body).await.map_err(|e| format!("web: {e}"))?;
        warm.push(t.elapsed());
        if status != 200 {
            return Err(format!(
                "web warm: HTTP {status}: {}",
                String::from_utf8_lossy(&b)
            ));
        }
    }
    let rss = child
        .id()
        .and_then(|pid| proc_status_kb(pid, "VmHWM"))
        .unwrap_or(0);
    stop_web(child).await;
    Ok((cold, warm, rss))
}

/// The two servers of the load section: our web mode and the Node HTTP function, with the
/// functions' settings (the load section gives each run its own mock WeChat and port).
fn load_servers(s: &Setup) -> [ServerCommand; 2] {
    [
        ServerCommand {
            label: "Rust",
            program: s.args.rust_dir.join("getLoginTicket"),
            args: vec!["--web".into()],
            env: s.env.clone(),
        },
        ServerCommand {
            label: "Node",
            program: "node".into(),
            args: vec![
                s.args
                    .node_dir
                    .join("web/getLoginTicket/index.js")
                    .display()
                    .to_string(),
            ],
            env: s.env.clone(),
        },
    ]
}

fn node_zip_bytes(node_dir: &Path, function: &str) -> Option<u64> {
    let out =
        std::env::temp_dir().join(format!("bench-node-{function}-{}.zip", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let ok = Command::new("zip")
        .current_dir(node_dir)
        .args(["-q", "-r", "-9"])
        .arg(&out)
        .arg(format!("functions/{function}"))
        .args(["runtime.js", "package.json", "node_modules"])
        .status()
        .ok()?
        .success();
    let size = std::fs::metadata(&out).ok().map(|m| m.len());
    let _ = std::fs::remove_file(&out);
    ok.then_some(size).flatten()
}

/// criterion's mean for `name`, in ns per iteration.
fn criterion_ns(dir: &Path, name: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(name).join("new/estimates.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["mean"]["point_estimate"].as_f64()
}

fn node_mint(node_dir: &Path, key: &Path, seconds: f64) -> Option<f64> {
    let out = Command::new("node")
        .arg(node_dir.join("mint.js"))
        .arg(key)
        .arg(seconds.to_string())
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["per_sec"].as_f64()
}

/// `openssl speed` sign/s for rsa1024 and rsa2048.
fn openssl_sign(seconds: f64) -> (Option<f64>, Option<f64>, String) {
    let secs = seconds.ceil().max(1.0).to_string();
    let Ok(out) = Command::new("openssl")
        .args(["speed", "-seconds", &secs, "rsa1024", "rsa2048"])
        .output()
    else {
        return (None, None, "openssl not found".into());
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let sign = |bits: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&format!("rsa {bits} bits"))
                    || l.starts_with(&format!("rsa  {bits} bits"))
            })
            .and_then(|l| l.split_whitespace().nth(5))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    (sign("1024"), sign("2048"), version)
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "not found".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "- CPU: {cpu}, {cores} cores available, {mem} RAM\n- kernel: {}\n- {}\n- node {}\n",
        command_line("uname", &["-sr"]),
        command_line("rustc", &["--version"]),
        command_line("node", &["--version"]),
    )
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages: other work on the machine makes every figure
/// here noisier, so the report says how busy it was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_else(|_| "unknown".into())
}

fn kb(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.2} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{:.0} KB", bytes as f64 / 1000.0)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => {
            if !m.is_empty() {
                eprintln!("bench: {m}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let load_at_start = loadavg();
    // The mock WeChat and a 1024-bit key (the console's size, used by the functions); a 2048-bit
    // key beside it for minting. All in a temp folder, removed at the end.
    let fx = LoginFixture::new().await;
    let key_2048 = fx.dir().join("key-2048.json");
    let made = wxlogin_devtools::keys::generate(2048, ENV).and_then(|k| {
        wxlogin_devtools::keys::write_key_file(&key_2048, &k).map_err(|e| e.to_string())
    });
    if let Err(e) = made {
        eprintln!("bench: key: {e}");
        return ExitCode::from(2);
    }
    let mut env = fx.env();
    // Both sides log at their defaults minus per-invocation info lines.
    env.push(("RUST_LOG".into(), "warn".into()));
    let s = Setup {
        args,
        env,
        key_1024: fx.key_path.clone(),
        key_2048,
    };

    let mut all: Vec<(&str, [Figures; 2])> = Vec::new();
    for function in FUNCTIONS {
        let mut figs = [Figures::default(), Figures::default()];
        eprintln!(
            "bench: {function}: {} cold starts each, interleaved",
            s.args.cold
        );
        if let Err(e) = cold_starts(&s, function, &mut figs).await {
            eprintln!("bench: {e}");
            return ExitCode::from(1);
        }
        eprintln!(
            "bench: {function}: {} warm invocations each, in alternating blocks",
            s.args.warm
        );
        if let Err(e) = warm(&s, function, &mut figs).await {
            eprintln!("bench: {e}");
            return ExitCode::from(1);
        }
        figs[0].zip_bytes = std::fs::metadata(s.args.dist.join(format!("{function}.zip")))
            .ok()
            .map(|m| m.len());
        figs[1].zip_bytes = node_zip_bytes(&s.args.node_dir, function);
        all.push((function, figs));
    }

    eprintln!("bench: web mode (getLoginTicket --web)");
    let web = match web_mode(&s).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(1);
        }
    };

    eprintln!("bench: load (getLoginTicket --web against the Node HTTP function, wrk)");
    let cores = load::pick_cores();
    let [rust_web, node_web] = load_servers(&s);
    let load_rows = match load::run_all(&rust_web, &node_web, &s.args.load, cores, &fx.secret).await
    {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("bench: load: {e}");
            return ExitCode::from(2);
        }
    };

    eprintln!("bench: ticket minting");
    let ours = [
        criterion_ns(&s.args.criterion, "mint_1024").map(|ns| 1e9 / ns),
        criterion_ns(&s.args.criterion, "mint_2048").map(|ns| 1e9 / ns),
    ];
    let fast = s.args.criterion_fast_rsa.as_ref().map(|d| {
        [
            criterion_ns(d, "mint_1024").map(|ns| 1e9 / ns),
            criterion_ns(d, "mint_2048").map(|ns| 1e9 / ns),
        ]
    });
    let node = [
        node_mint(&s.args.node_dir, &s.key_1024, s.args.mint_seconds),
        node_mint(&s.args.node_dir, &s.key_2048, s.args.mint_seconds),
    ];
    let (o1024, o2048, openssl_version) = openssl_sign(s.args.mint_seconds);
    let openssl = [o1024, o2048];

    // The report.
    let mut r = String::new();
    let cmd = if s.args.quick {
        "make bench-smoke"
    } else {
        "make bench"
    };
    r.push_str(&format!(
        "# Benchmarks: Rust bootstraps against Node with the official SDKs\n\n\
         Produced by `{cmd}` on {}; {} cold starts and {} warm invocations per function and runtime, \
         interleaved. The emulator and mock WeChat run on 127.0.0.1 in the same process as the harness.\n\n\
         Machine:\n{}- {openssl_version}\n- load average (1 / 5 / 15 min) at the start: {load_at_start}; at the end: {}\n\n",
        wxlogin::ticket::format_ms(wxlogin::ticket::now_ms()),
        s.args.cold,
        s.args.warm,
        machine(),
        loadavg(),
    ));
    r.push_str("Node: `@cloudbase/node-sdk` 3.18.3 and `wx-server-sdk` 4.0.2 (`scripts/bench/node`), each function a long-lived process that loads its SDK at init, on a thin SCF runtime client. Rust: the musl release binaries as shipped. Keys: 1024-bit (the console's size) for the functions.\n\n");
    r.push_str(
        "## Functions\n\n| function | figure | Rust | Node | Rust/Node |\n|---|---|---|---|---|\n",
    );
    for (function, [rust, node]) in &all {
        let row = |r: &mut String, what: &str, a: Duration, b: Duration| {
            r.push_str(&format!(
                "| {function} | {what} | {} | {} | {} |\n",
                ms(a),
                ms(b),
                ratio(a.as_secs_f64(), b.as_secs_f64())
            ));
        };
        row(
            &mut r,
            "cold start, median",
            percentile(&rust.cold, 0.5),
            percentile(&node.cold, 0.5),
        );
        row(
            &mut r,
            "cold start, p90",
            percentile(&rust.cold, 0.9),
            percentile(&node.cold, 0.9),
        );
        row(
            &mut r,
            "warm, p50",
            percentile(&rust.warm, 0.5),
            percentile(&node.warm, 0.5),
        );
        row(
            &mut r,
            "warm, p99",
            percentile(&rust.warm, 0.99),
            percentile(&node.warm, 0.99),
        );
        r.push_str(&format!(
            "| {function} | peak RSS | {:.1} MB | {:.1} MB | {} |\n",
            rust.peak_rss_kb as f64 / 1024.0,
            node.peak_rss_kb as f64 / 1024.0,
            ratio(rust.peak_rss_kb as f64, node.peak_rss_kb as f64)
        ));
        let z = |b: Option<u64>| b.map(kb).unwrap_or_else(|| "n/a".into());
        r.push_str(&format!(
            "| {function} | package (zip) | {} | {} | {} |\n",
            z(rust.zip_bytes),
            z(node.zip_bytes),
            ratio(
                rust.zip_bytes.unwrap_or(0) as f64,
                node.zip_bytes.unwrap_or(0) as f64
            )
        ));
    }
    r.push_str(&format!(
        "\n## Web mode (getLoginTicket --web, Rust only)\n\nThe same binary as a CloudBase HTTP function: spawn → first HTTP 200 (WeChat mock round trip and one signature included), then warm requests on one keep-alive connection.\n\n| figure | value |\n|---|---|\n| cold start, median | {} |\n| cold start, p90 | {} |\n| warm, p50 | {} |\n| warm, p99 | {} |\n| peak RSS | {:.1} MB |\n",
        ms(percentile(&web.0, 0.5)),
        ms(percentile(&web.0, 0.9)),
        ms(percentile(&web.1, 0.5)),
        ms(percentile(&web.1, 0.99)),
        web.2 as f64 / 1024.0
    ));
    let (load_report, load_valid) = load::report(&load_rows, &s.args.load, cores, openssl[0]);
    r.push_str(&load_report);
    r.push_str("\n## Ticket minting, one process, tickets per second\n\n| key | Rust (criterion) | node-sdk createTicket | openssl speed (sign/s) | Rust/openssl | Rust/Node |\n|---|---|---|---|---|---|\n");
    for (i, bits) in [1024, 2048].into_iter().enumerate() {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "n/a".into());
        let rr = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}", a / b),
            _ => "n/a".into(),
        };
        r.push_str(&format!(
            "| RSA {bits} | {} | {} | {} | {} | {} |\n",
            f(ours[i]),
            f(node[i]),
            f(openssl[i]),
            rr(ours[i], openssl[i]),
            rr(ours[i], node[i])
        ));
    }
    if let Some(fast) = fast {
        for (i, bits) in [1024, 2048].into_iter().enumerate() {
            if let (Some(a), Some(o)) = (fast[i], openssl[i]) {
                r.push_str(&format!(
                    "| RSA {bits}, aws-lc at -O2 (`FAST_RSA=1`) | {a:.0} | | | {:.2} | |\n",
                    a / o
                ));
            }
        }
    }
    r.push_str("\nThe shipped build compiles aws-lc at the release profile's -Os, which keeps getLoginTicket's zip about 400 KB smaller; `make package FAST_RSA=1` compiles it at -O2 instead (the `-O2` rows).\n");

    // Targets.
    r.push_str("\n## Targets\n\n");
    let mut target = |ok: bool, text: String| {
        r.push_str(&format!(
            "- {} {text}\n",
            if ok { "met:" } else { "**missed:**" }
        ));
    };
    for (function, [rust, node]) in &all {
        let (a, b) = (percentile(&rust.cold, 0.5), percentile(&node.cold, 0.5));
        target(
            a.as_secs_f64() * 20.0 <= b.as_secs_f64(),
            format!(
                "{function} cold start at most 1/20 of Node's: {} vs {} ({})",
                ms(a),
                ms(b),
                ratio(a.as_secs_f64(), b.as_secs_f64())
            ),
        );
        target(
            rust.peak_rss_kb <= 10 * 1024,
            format!(
                "{function} peak RSS at most 10 MB: {:.1} MB",
                rust.peak_rss_kb as f64 / 1024.0
            ),
        );
        if let Some(z) = rust.zip_bytes {
            target(
                z <= 1_500_000,
                format!("{function} zip at most 1.5 MB: {}", kb(z)),
            );
        }
    }
    if let Some((_, [rust, _])) = all.iter().find(|(f, _)| *f == "getUserInfo") {
        let p50 = percentile(&rust.warm, 0.5);
        target(
            p50 <= Duration::from_micros(200),
            format!(
                "getUserInfo warm p50 at most 200 µs through the emulator: {}",
                ms(p50)
            ),
        );
    }
    for (i, bits) in [1024, 2048].into_iter().enumerate() {
        if let (Some(a), Some(b)) = (ours[i], openssl[i]) {
            target(
                a >= 0.8 * b,
                format!(
                    "RSA {bits} minting at least 0.8 × openssl sign/s: {a:.0}/s vs {b:.0}/s ({:.2})",
                    a / b
                ),
            );
        }
    }
    r.push_str(&format!(
        "\nThe whole run took {:.0} s.\n",
        started.elapsed().as_secs_f64()
    ));
    print!("{r}");
    if let Some(out) = &s.args.out {
        if let Some(parent) = out.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(out, &r) {
            eprintln!("bench: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
        eprintln!("bench: wrote {}", out.display());
    }
    if !load_valid {
        eprintln!("bench: some logins failed under load (see the load table)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
