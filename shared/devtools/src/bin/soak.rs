//! `make soak`: 100,000 invocations of a real bootstrap through the emulator, good and bad events
//! mixed, checking that every event gets exactly one result of the expected kind and that the
//! resident set stays flat after warm-up.
//!
//! ```text
//! soak --bootstrap PATH [--function getLoginTicket|getUserInfo|test] [--invocations N]
//!      [--warmup N] [--max-growth-kb KB]
//! ```
//! Prints the figures; exits 1 when a check fails, 2 on bad usage or a failed start.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wxlogin_devtools::emulator::{EmulatorConfig, Outcome, Runner};
use wxlogin_devtools::events::{call_function, http_access};
use wxlogin_devtools::measure::{percentile, proc_status_kb};
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{APPID, ENV, LoginFixture};

const USAGE: &str = "usage: soak --bootstrap PATH [--function getLoginTicket|getUserInfo|test] [--invocations N] [--warmup N] [--max-growth-kb KB]";

struct Args {
    bootstrap: PathBuf,
    function: String,
    invocations: u64,
    warmup: u64,
    max_growth_kb: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        bootstrap: PathBuf::new(),
        function: String::new(),
        invocations: 100_000,
        warmup: 10_000,
        max_growth_kb: 1024,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number"))
        };
        match flag.as_str() {
            "--bootstrap" => a.bootstrap = PathBuf::from(value()?),
            "--function" => a.function = value()?,
            "--invocations" => a.invocations = number(value()?)?,
            "--warmup" => a.warmup = number(value()?)?,
            "--max-growth-kb" => a.max_growth_kb = number(value()?)?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.bootstrap.as_os_str().is_empty() {
        return Err("--bootstrap is required".into());
    }
    if a.function.is_empty() {
        a.function = a
            .bootstrap
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    if a.warmup >= a.invocations {
        return Err("--warmup must be smaller than --invocations".into());
    }
    Ok(a)
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
}

/// The i-th event of the mix: `(kind, raw event, extra /next headers, expected result)`.
fn event(function: &str, i: u64) -> (&'static str, Vec<u8>, Vec<(String, String)>, Expect) {
    let json = |v: Value| v.to_string().into_bytes();
    let login = function == "getLoginTicket";
    // Fresh codes from 5000 users; slot 2 retries slot 1's code (the cache answers).
    let group = i / 10;
    let slot = i % 10;
    let code = format!(
        "soak{}.{group}{}",
        group % 5000,
        ["a", "b", "b", "c"].get(slot as usize).unwrap_or(&"")
    );
    let openid = openid_for(APPID, &code);
    match slot {
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
            Expect::Err(if login {
                "BAD_REQUEST"
            } else {
                "UNAUTHENTICATED"
            }),
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
            Expect::Err(if login {
                "BAD_REQUEST"
            } else {
                "UNAUTHENTICATED"
            }),
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
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("soak: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The mock WeChat and a 1024-bit key (the console's size) in a temp folder, removed at the end.
    let fx = LoginFixture::new().await;
    let mut env = fx.env();
    // Logs at warn: a soak measures the function, not the log pipe.
    env.push(("RUST_LOG".into(), "warn".into()));
    let config = EmulatorConfig {
        time_limit: Duration::from_secs(3),
        namespace: ENV.into(),
        function_name: args.function.clone(),
        ..EmulatorConfig::default()
    };
    let rt = match Runner::start(&args.bootstrap, &env, config, false).await {
        Ok(r) => r,
        Err(f) => {
            eprintln!("soak: init failed: {}\n{}", f.reason, f.logs);
            return ExitCode::from(2);
        }
    };
    let pid = rt.pid();
    eprintln!(
        "soak: {} ({}), {} invocations, warm-up {}",
        args.function,
        args.bootstrap.display(),
        args.invocations,
        args.warmup
    );
    let mut latencies = Vec::with_capacity(args.invocations as usize);
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut rss_after_warmup = 0;
    let started = Instant::now();
    for i in 0..args.invocations {
        if i == args.warmup {
            rss_after_warmup = proc_status_kb(pid, "VmRSS").unwrap_or_default();
        }
        let (kind, raw, headers, expect) = event(&args.function, i);
        let t = Instant::now();
        let outcome = rt.invoke_raw(raw, headers).await;
        latencies.push(t.elapsed());
        *kinds.entry(kind).or_default() += 1;
        if let Err(e) = check(&outcome, expect) {
            failures.push(format!("#{i} {kind}: {e}"));
            if matches!(outcome, Outcome::Timeout | Outcome::Crashed(_)) {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let rss_end = proc_status_kb(pid, "VmRSS").unwrap_or_default();
    let hwm = proc_status_kb(pid, "VmHWM").unwrap_or_default();
    let rejected = rt.emulator.rejected();
    let (status, _) = rt.stop().await;

    latencies.sort_unstable();
    let n = latencies.len() as u64;
    let growth = rss_end.saturating_sub(rss_after_warmup);
    println!("## soak: {}", args.function);
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| invocations | {n} |");
    println!(
        "| wall time | {:.1} s ({:.0} invocations/s) |",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "| latency p50 / p99 / max | {:?} / {:?} / {:?} |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "| RSS after {} warm-up invocations | {} kB |",
        args.warmup, rss_after_warmup
    );
    println!("| RSS at the end | {rss_end} kB |");
    println!(
        "| RSS growth after warm-up | {growth} kB (limit {} kB) |",
        args.max_growth_kb
    );
    println!("| peak RSS (VmHWM) | {hwm} kB |");
    println!("| WeChat calls (mock) | {} |", fx.mock.total_calls());
    println!(
        "| results rejected by the emulator (second results) | {} |",
        rejected.len()
    );
    println!("| wrong or missing results | {} |", failures.len());
    println!(
        "| exit | {} |",
        status.as_deref().unwrap_or("still running")
    );
    println!();
    for (kind, count) in &kinds {
        println!("- {kind}: {count}");
    }
    let mut ok = true;
    for f in failures.iter().take(10) {
        println!("FAIL {f}");
        ok = false;
    }
    if n != args.invocations {
        println!("FAIL only {n} of {} invocations ran", args.invocations);
        ok = false;
    }
    if !rejected.is_empty() {
        println!(
            "FAIL the emulator rejected results: {:?}",
            &rejected[..rejected.len().min(5)]
        );
        ok = false;
    }
    if growth > args.max_growth_kb {
        println!(
            "FAIL RSS grew {growth} kB after warm-up (limit {} kB)",
            args.max_growth_kb
        );
        ok = false;
    }
    if status.as_deref() != Some("exit status: 0") {
        println!("FAIL the bootstrap did not exit 0 on SIGTERM: {status:?}");
        ok = false;
    }
    if ok {
        println!("PASS");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
