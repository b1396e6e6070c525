//! `make soak`: 100,000 invocations of a real bootstrap through the emulator, good and bad events
//! mixed, checking that every event gets exactly one result of the expected kind and that the
//! resident set stays flat after warm-up.
//!
//! ```text
//! soak --bootstrap PATH [--function NAME] [--invocations N] [--warmup N] [--max-growth-kb KB]
//! ```
//! Any function runs: its handler, timeout and memory come from `cloudbaserc.json`
//! ([`scf_emulator::functions`]). getLoginTicket, getPhoneNumber, getUserInfo and test have
//! their own event mixes; any other function gets the generic mix (bad JSON, not JSON, null, no `request_id`,
//! and `{}`), whose checks hold for every function on the runtime.
//! Prints the figures; exits 1 when a check fails, 2 on bad usage or a failed start.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{CommandFactory as _, Parser};
use scf_emulator::emulator::{EmulatorConfig, Outcome, Runner};
use scf_emulator::events::{call_function, http_access};
use scf_emulator::functions::FunctionList;
use scf_emulator::measure::{percentile, proc_status_kb};
use serde_json::{Value, json};
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{APPID, ENV, LoginFixture};

/// Soak one function binary on the SCF emulator: good and bad events mixed, exactly one result of
/// the expected kind for each, and a flat resident set after warm-up.
#[derive(Parser, Debug)]
#[command(name = "soak", bin_name = "soak")]
struct Args {
    /// The function binary to run (e.g. target/x86_64-unknown-linux-musl/release/getUserInfo)
    #[arg(long, value_name = "PATH")]
    bootstrap: PathBuf,
    /// The function's name in cloudbaserc.json (default: the bootstrap's file name)
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// How many invocations in all
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    invocations: u64,
    /// How many invocations before the resident set is measured (fewer than --invocations)
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    warmup: u64,
    /// How much the resident set may grow after warm-up
    #[arg(long, value_name = "KB", default_value_t = 1024)]
    max_growth_kb: u64,
}

impl Args {
    /// `--function`, else the bootstrap's file name.
    fn function(&self) -> String {
        self.function.clone().unwrap_or_else(|| {
            self.bootstrap
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }
}

/// Which event mix a function gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mix {
    /// getLoginTicket: logins by code, retried codes, WeChat errors, bad codes.
    Login,
    /// getPhoneNumber: phone codes (each single-use), a used code, WeChat errors, bad codes, on
    /// the instance's one access_token.
    Phone,
    /// getUserInfo and test: identified calls; no identity is `UNAUTHENTICATED`.
    Identity,
    /// Any other function: only what the runtime decides is checked.
    Generic,
}

impl Mix {
    fn of(function: &str) -> Mix {
        match function {
            "getLoginTicket" => Mix::Login,
            "getPhoneNumber" => Mix::Phone,
            "getUserInfo" | "test" => Mix::Identity,
            _ => Mix::Generic,
        }
    }
}

/// What an event should produce.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A `/response` whose body (or integrated-response body) has no `error`.
    Ok,
    /// A `/response` carrying this error code.
    Err(&'static str),
    /// An `/error` (invocation error) with this errorCode.
    InvocationError(&'static str),
    /// A `/response`, whatever it holds (the function decides; the generic mix).
    Answered,
}

/// The i-th event of the mix: `(kind, raw event, extra /next headers, expected result)`.
fn event(mix: Mix, i: u64) -> (&'static str, Vec<u8>, Vec<(String, String)>, Expect) {
    let json = |v: Value| v.to_string().into_bytes();
    let login = mix == Mix::Login;
    let phone = mix == Mix::Phone;
    // What a function answers to input it cannot use: its own error, or (generic) any answer.
    let refused = |login_error| match mix {
        Mix::Login | Mix::Phone => Expect::Err(login_error),
        Mix::Identity => Expect::Err("UNAUTHENTICATED"),
        Mix::Generic => Expect::Answered,
    };
    // Fresh codes from 5000 users; slot 2 retries slot 1's code (the cache answers).
    let group = i / 10;
    let slot = i % 10;
    let code = format!(
        "soak{}.{group}{}",
        group % 5000,
        ["a", "b", "b", "c"].get(slot as usize).unwrap_or(&"")
    );
    let openid = openid_for(APPID, &code);
    // A phone code is single-use: slot 2 uses slot 1's again (40029).
    let phone_code = format!("phone.soak{}", if slot == 2 { i - 1 } else { i });
    match slot {
        0..=2 if phone => (
            if slot == 2 {
                "used phone code"
            } else {
                "phone number"
            },
            json(call_function(
                json!({"code": phone_code}),
                Some(&openid),
                Some(APPID),
            )),
            vec![],
            if slot == 2 {
                Expect::Err("WX_API_ERROR")
            } else {
                Expect::Ok
            },
        ),
        3 if phone => (
            "phone number over HTTP",
            json(http_access(
                "POST",
                "/phone",
                Some(&json!({"code": phone_code}).to_string()),
                ENV,
            )),
            vec![],
            Expect::Ok,
        ),
        4 if phone => (
            "WeChat 40029",
            json(call_function(
                json!({"code": "err-40029"}),
                Some("o1"),
                Some(APPID),
            )),
            vec![],
            Expect::Err("WX_API_ERROR"),
        ),
        5 if phone => (
            "code too long",
            json(json!({"code": "c".repeat(600)})),
            vec![],
            Expect::Err("BAD_REQUEST"),
        ),
        0..=2 if login => (
            if slot == 2 {
                "retried code"
            } else {
                "good call"
            },
            json(call_function(
                json!({"code": code}),
                Some(&openid),
                Some(APPID),
            )),
            vec![],
            Expect::Ok,
        ),
        3 if login => (
            "good HTTP",
            json(http_access(
                "POST",
                "/login",
                Some(&json!({"code": code}).to_string()),
                ENV,
            )),
            vec![],
            Expect::Ok,
        ),
        4 if login => (
            "WeChat 40029",
            json(call_function(
                json!({"code": "err-40029"}),
                Some("o1"),
                Some(APPID),
            )),
            vec![],
            Expect::Err("WX_API_ERROR"),
        ),
        5 if login => (
            "code too long",
            json(json!({"code": "c".repeat(600)})),
            vec![],
            Expect::Err("BAD_REQUEST"),
        ),
        0..=5 if mix == Mix::Generic => ("empty object", b"{}".to_vec(), vec![], Expect::Answered),
        0..=5 => (
            "identified call",
            json(call_function(json!({}), Some(&openid), Some(APPID))),
            vec![],
            Expect::Ok,
        ),
        6 => (
            "HTTP bad JSON",
            json(http_access("POST", "/login", Some("{nope"), ENV)),
            vec![],
            refused("BAD_REQUEST"),
        ),
        7 => (
            "not JSON",
            b"\x00{garbage".to_vec(),
            vec![],
            Expect::InvocationError("EVENT_NOT_JSON"),
        ),
        8 => (
            "null event",
            b"null".to_vec(),
            vec![],
            refused("BAD_REQUEST"),
        ),
        _ => (
            "no request_id",
            b"{}".to_vec(),
            vec![("request_id".into(), String::new())],
            Expect::InvocationError("MISSING_HEADER"),
        ),
    }
}

fn check(outcome: &Outcome, expect: Expect) -> Result<(), String> {
    let body = |b: &[u8]| -> Result<Value, String> {
        let v: Value = serde_json::from_slice(b).map_err(|e| format!("not JSON: {e}"))?;
        // An integrated response: look inside.
        match v
            .get("statusCode")
            .and(v.get("body"))
            .and_then(Value::as_str)
        {
            Some(inner) => serde_json::from_str(inner).map_err(|e| format!("body not JSON: {e}")),
            None => Ok(v),
        }
    };
    match (outcome, expect) {
        (Outcome::Response(_), Expect::Answered) => Ok(()),
        (Outcome::Response(b), Expect::Ok) => match body(b)?.get("error") {
            None => Ok(()),
            Some(e) => Err(format!("expected success, got error {e}")),
        },
        (Outcome::Response(b), Expect::Err(code)) => {
            let v = body(b)?;
            (v["error"] == json!(code))
                .then_some(())
                .ok_or(format!("expected {code}, got {v}"))
        }
        (Outcome::Error(b), Expect::InvocationError(code)) => {
            let v: Value = serde_json::from_slice(b).map_err(|e| format!("not JSON: {e}"))?;
            (v["errorCode"] == json!(code))
                .then_some(())
                .ok_or(format!("expected {code}, got {v}"))
        }
        (other, expect) => Err(format!("expected {expect:?}, got {other:?}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.warmup >= args.invocations {
        Args::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                "--warmup must be smaller than --invocations",
            )
            .exit();
    }
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

/// Start the function with the mock WeChat and a key, soak it, print the report. `Ok(passed)`;
/// `Err` when it cannot start.
async fn run(args: &Args) -> Result<bool, String> {
    let function = args.function();
    // The mock WeChat and a 1024-bit key (the console's size) in a temp folder, removed at the end.
    let fx = LoginFixture::new().await;
    let mut env = fx.env();
    // Logs at warn: a soak measures the function, not the log pipe.
    env.push(("RUST_LOG".into(), "warn".into()));
    let config = config_for(&function)?;
    let rt = Runner::start(&args.bootstrap, &env, config, false)
        .await
        .map_err(|f| format!("init failed: {}\n{}", f.reason, f.logs))?;
    eprintln!(
        "soak: {function} ({}), {} invocations, warm-up {}, {:?} mix",
        args.bootstrap.display(),
        args.invocations,
        args.warmup,
        Mix::of(&function)
    );
    let soaked = soak(&rt, args, Mix::of(&function)).await;
    let rejected = rt.emulator.rejected();
    let (status, _) = rt.stop().await;
    let passed = report(
        &function,
        args,
        &soaked,
        fx.mock.total_calls(),
        &rejected,
        status.as_deref(),
    );
    // The access_token is shared by the whole instance: one fetch for the whole run (it lives
    // 7200 s; a soak lasts minutes).
    let fetches = fx.mock.token_fetches();
    if Mix::of(&function) == Mix::Phone {
        println!("access_token fetches (mock): {fetches} (expected 1)");
        if fetches != 1 {
            println!("FAIL: the access_token was fetched {fetches} times");
            return Ok(false);
        }
    }
    Ok(passed)
}

/// The emulator's settings for `function`: its cloudbaserc.json entry, else a 3 s default.
fn config_for(function: &str) -> Result<EmulatorConfig, String> {
    let list = FunctionList::load().map_err(|e| e.to_string())?;
    let mut config = EmulatorConfig {
        time_limit: Duration::from_secs(3),
        namespace: ENV.into(),
        function_name: function.to_owned(),
        ..EmulatorConfig::default()
    };
    match list.get(function) {
        Some(spec) => {
            config.time_limit = spec.timeout();
            config.memory_limit_in_mb = spec.memory_mb;
            config.handler = spec.handler.clone();
        }
        None => eprintln!(
            "soak: {function} is not in {}: default settings",
            list.path().display()
        ),
    }
    Ok(config)
}

/// What a soak measured.
struct Soaked {
    latencies: Vec<Duration>,
    kinds: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
    rss_after_warmup: u64,
    rss_end: u64,
    hwm: u64,
    elapsed: Duration,
}

/// Run the invocations (stopping early if the process dies or hangs), measuring as it goes.
async fn soak(rt: &Runner, args: &Args, mix: Mix) -> Soaked {
    let pid = rt.pid();
    let mut s = Soaked {
        latencies: Vec::with_capacity(args.invocations as usize),
        kinds: BTreeMap::new(),
        failures: Vec::new(),
        rss_after_warmup: 0,
        rss_end: 0,
        hwm: 0,
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    for i in 0..args.invocations {
        if i == args.warmup {
            s.rss_after_warmup = proc_status_kb(pid, "VmRSS").unwrap_or_default();
        }
        let (kind, raw, headers, expect) = event(mix, i);
        let t = Instant::now();
        let outcome = rt.invoke_raw(raw, headers).await;
        s.latencies.push(t.elapsed());
        *s.kinds.entry(kind).or_default() += 1;
        if let Err(e) = check(&outcome, expect) {
            s.failures.push(format!("#{i} {kind}: {e}"));
            if matches!(outcome, Outcome::Timeout | Outcome::Crashed(_)) {
                break;
            }
        }
    }
    s.elapsed = started.elapsed();
    s.rss_end = proc_status_kb(pid, "VmRSS").unwrap_or_default();
    s.hwm = proc_status_kb(pid, "VmHWM").unwrap_or_default();
    s.latencies.sort_unstable();
    s
}

/// Print the figures and the verdict; `true` when every check passed.
fn report(
    function: &str,
    args: &Args,
    s: &Soaked,
    wechat_calls: u32,
    rejected: &[String],
    status: Option<&str>,
) -> bool {
    let n = s.latencies.len() as u64;
    let growth = s.rss_end.saturating_sub(s.rss_after_warmup);
    println!("## soak: {function}");
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| invocations | {n} |");
    println!(
        "| wall time | {:.1} s ({:.0} invocations/s) |",
        s.elapsed.as_secs_f64(),
        n as f64 / s.elapsed.as_secs_f64()
    );
    println!(
        "| latency p50 / p99 / max | {:?} / {:?} / {:?} |",
        percentile(&s.latencies, 0.5),
        percentile(&s.latencies, 0.99),
        s.latencies.last().copied().unwrap_or_default()
    );
    println!(
        "| RSS after {} warm-up invocations | {} kB |",
        args.warmup, s.rss_after_warmup
    );
    println!("| RSS at the end | {} kB |", s.rss_end);
    println!(
        "| RSS growth after warm-up | {growth} kB (limit {} kB) |",
        args.max_growth_kb
    );
    println!("| peak RSS (VmHWM) | {} kB |", s.hwm);
    println!("| WeChat calls (mock) | {wechat_calls} |");
    println!(
        "| results rejected by the emulator (second results) | {} |",
        rejected.len()
    );
    println!("| wrong or missing results | {} |", s.failures.len());
    println!("| exit | {} |", status.unwrap_or("still running"));
    println!();
    for (kind, count) in &s.kinds {
        println!("- {kind}: {count}");
    }
    let mut fails: Vec<String> = s.failures.iter().take(10).cloned().collect();
    if n != args.invocations {
        fails.push(format!("only {n} of {} invocations ran", args.invocations));
    }
    if !rejected.is_empty() {
        fails.push(format!(
            "the emulator rejected results: {:?}",
            &rejected[..rejected.len().min(5)]
        ));
    }
    if growth > args.max_growth_kb {
        fails.push(format!(
            "RSS grew {growth} kB after warm-up (limit {} kB)",
            args.max_growth_kb
        ));
    }
    if status != Some("exit status: 0") {
        fails.push(format!(
            "the bootstrap did not exit 0 on SIGTERM: {status:?}"
        ));
    }
    for f in &fails {
        println!("FAIL {f}");
    }
    if fails.is_empty() {
        println!("PASS");
    }
    fails.is_empty()
}
