//! The runtime loop in-process against the emulator, with handlers that misbehave on purpose.

use std::time::Duration;

use scf_emulator::emulator::{Emulator, EmulatorConfig, Outcome, SeenRequest};
use scf_emulator::http;
use scf_runtime::{Context, Event, FnError};
use scf_runtime::{RetryPolicy, run_with};
use serde_json::{Value, json};

async fn handler(event: Event, ctx: Context) -> Result<Value, FnError> {
    match event {
        Event::Call(v) if v["panic"] == json!(true) => panic!("boom on purpose"),
        Event::Call(v) if v["huge"] == json!(true) => Ok(json!("x".repeat(7 * 1024 * 1024))),
        Event::Call(v) if v["fail"] == json!(true) => {
            Err(FnError::new("NOPE", 418, "business error"))
        }
        _ => Ok(
            json!({"request_id": ctx.request_id, "remaining_ms_positive": ctx.remaining() > Duration::ZERO}),
        ),
    }
}

async fn outcome(emu: &Emulator, event: Value) -> Outcome {
    let (_, rx) = emu.enqueue(event.to_string().into_bytes(), vec![]);
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("no outcome")
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn panics_and_oversized_results_are_reported_and_the_loop_goes_on() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", emu.port());
    // /next answers 500 twice first: bounded retry, and no invocation is lost.
    emu.fail_next_requests(2);
    let local = tokio::task::LocalSet::new();
    local.spawn_local(run_with(base, RetryPolicy::default(), handler));
    local
        .run_until(async {
            let o = outcome(&emu, json!({"panic": true})).await;
            assert_eq!(emu.injected_failures_served(), 2);
            let Outcome::Error(b) = &o else {
                panic!("{o:?}")
            };
            let e: Value = serde_json::from_slice(b).unwrap();
            assert_eq!(e["errorCode"], json!("HANDLER_PANIC"));
            assert!(
                e["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("boom on purpose")
            );

            let o = outcome(&emu, json!({"huge": true})).await;
            let Outcome::Error(b) = &o else {
                panic!("{o:?}")
            };
            assert_eq!(
                serde_json::from_slice::<Value>(b).unwrap()["errorCode"],
                json!("RESULT_TOO_LARGE")
            );

            let o = outcome(&emu, json!({"fail": true})).await;
            assert_eq!(
                o.json().unwrap(),
                json!({"error": "NOPE", "message": "business error"})
            );

            let o = outcome(&emu, json!({})).await;
            let v = o.json().unwrap();
            assert!(v["request_id"].as_str().unwrap().starts_with("local-"));
            assert_eq!(v["remaining_ms_positive"], json!(true));
        })
        .await;
    assert!(emu.rejected().is_empty(), "{:?}", emu.rejected());
}

#[tokio::test(flavor = "current_thread")]
async fn the_runtime_sends_ready_and_next_without_a_content_type() {
    // Tencent's bash example posts ready as `curl -d " "`; no SCF client sends a JSON content type
    // on ready or /next, so neither do we. Results keep `application/json`.
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", emu.port());
    let local = tokio::task::LocalSet::new();
    local.spawn_local(run_with(base, RetryPolicy::default(), handler));
    local
        .run_until(async {
            let o = outcome(&emu, json!({})).await;
            assert!(matches!(o, Outcome::Response(_)), "{o:?}");
            let o = outcome(&emu, json!({"fail": true})).await;
            assert!(matches!(o, Outcome::Response(_)), "{o:?}");
            let o = outcome(&emu, json!({"panic": true})).await;
            assert!(matches!(o, Outcome::Error(_)), "{o:?}");
        })
        .await;
    // run_with installed a panic hook that logs through tracing (no subscriber here): put the
    // default back so a failed assertion below prints its message.
    drop(std::panic::take_hook());
    let seen = emu.seen();
    let of = |path: &str| -> Vec<&SeenRequest> { seen.iter().filter(|r| r.path == path).collect() };
    let ready = of("/runtime/init/ready");
    assert_eq!(ready.len(), 1, "{seen:#?}");
    assert_eq!(ready[0].body, b" ", "ready's body is one space");
    assert_eq!(ready[0].content_type, None, "{:?}", ready[0]);
    assert_eq!(ready[0].content_length.as_deref(), Some("1"));
    let next = of("/runtime/invocation/next");
    assert!(next.len() >= 3, "{seen:#?}");
    for r in &next {
        assert_eq!(r.method, "GET");
        assert_eq!(r.content_type, None, "{r:?}");
        assert!(r.body.is_empty(), "{r:?}");
    }
    let results: Vec<_> = of("/runtime/invocation/response")
        .into_iter()
        .chain(of("/runtime/invocation/error"))
        .collect();
    assert_eq!(results.len(), 3, "{seen:#?}");
    for r in results {
        assert_eq!(r.content_type.as_deref(), Some("application/json"), "{r:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn emulator_serves_empty_ready_bodies_and_rejects_second_results() {
    // `Content-Length: 0` (public Go, Python and Node clients): served.
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let port = emu.port();
    assert_eq!(post(port, "/runtime/init/ready", "").await, 200);
    assert!(emu.is_ready());
    // An empty chunked body: served.
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let port = emu.port();
    assert_eq!(
        raw_request(
            port,
            "POST /runtime/init/ready HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
        )
        .await,
        200
    );
    assert!(emu.is_ready());
    // No body and no Content-Length at all (the one reported rejection): refused.
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let port = emu.port();
    assert_eq!(
        raw_request(
            port,
            "POST /runtime/init/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .await,
        400
    );
    assert!(!emu.is_ready());
    assert_eq!(post(port, "/runtime/init/ready", " ").await, 200);
    assert!(emu.is_ready());
    // A result with nothing in flight is rejected.
    assert_eq!(post(port, "/runtime/invocation/response", "{}").await, 400);
    assert_eq!(emu.rejected().len(), 2, "{:?}", emu.rejected());
}

/// Send `raw`, a whole HTTP/1.1 request written by hand because it is framed in a way a real
/// client would not write (no `Content-Length` at all, or an empty chunked body), and return the
/// status code.
async fn raw_request(port: u16, raw: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A well-framed POST (`Content-Length`, even when zero) with the one client: its status.
async fn post(port: u16, path: &str, body: &str) -> u16 {
    http::request(port, "POST", path, &[], body.as_bytes())
        .await
        .unwrap()
        .status
}

/// A GET with the one client: `(status, body)`.
async fn get(port: u16, path: &str) -> (u16, String) {
    let a = http::request(port, "GET", path, &[], b"").await.unwrap();
    (a.status, String::from_utf8(a.body).unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn emulator_refuses_results_over_6_mb_and_repeats_next() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let port = emu.port();
    let (_, rx) = emu.enqueue(br#"{"a":1}"#.to_vec(), vec![]);
    assert_eq!(
        get(port, "/runtime/invocation/next").await,
        (200, r#"{"a":1}"#.to_owned())
    );
    // A repeated GET during the same invocation returns the same event.
    assert_eq!(get(port, "/runtime/invocation/next").await.1, r#"{"a":1}"#);
    let big = "x".repeat(scf_emulator::emulator::RESULT_LIMIT + 1);
    // (A first result is final; see below for the second.)
    assert_eq!(post(port, "/runtime/invocation/response", &big).await, 413);
    let Outcome::Error(b) = rx.await.unwrap() else {
        panic!("not refused")
    };
    assert!(String::from_utf8_lossy(&b).contains("RESULT_TOO_LARGE"));

    // A second result for one invocation is rejected, and the first one stands.
    let (_, rx) = emu.enqueue(b"{}".to_vec(), vec![]);
    assert_eq!(get(port, "/runtime/invocation/next").await.0, 200);
    assert_eq!(
        post(port, "/runtime/invocation/response", r#"{"n":1}"#).await,
        200
    );
    assert_eq!(
        post(port, "/runtime/invocation/error", r#"{"n":2}"#).await,
        400
    );
    assert_eq!(rx.await.unwrap(), Outcome::Response(br#"{"n":1}"#.to_vec()));
}

#[tokio::test(flavor = "current_thread")]
async fn exec_timeout_kills_a_bootstrap_that_never_answers() {
    // Gets ready, fetches nothing, never answers.
    let script =
        scf_emulator::script_bootstrap("never-answers", "post /runtime/init/ready ' '; sleep 30");
    let cfg = EmulatorConfig {
        time_limit: Duration::from_millis(300),
        ..EmulatorConfig::default()
    };
    let rt = scf_emulator::emulator::Runner::start(&script, &[], cfg, false)
        .await
        .unwrap();
    let t = std::time::Instant::now();
    assert_eq!(rt.invoke(&json!({})).await, Outcome::Timeout);
    assert!(t.elapsed() < Duration::from_secs(2));
    let status = rt.wait_exit(Duration::from_secs(2)).await.expect("killed");
    assert!(status.contains("signal"), "{status}");
    std::fs::remove_dir_all(script.parent().unwrap()).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_bootstrap_gets_scf_environment_and_nothing_of_the_hosts() {
    // The script answers its first event with its own initial environment (NAME=VALUE lines),
    // read from /proc so bash's own variables (SHLVL, _) do not count.
    let script = scf_emulator::script_bootstrap(
        "env",
        r#"post /runtime/init/ready ' '; get /runtime/invocation/next; post /runtime/invocation/response "$(tr '\0' '\n' < /proc/$$/environ)"; sleep 30"#,
    );
    let cfg = EmulatorConfig {
        handler: "custom.entry".into(),
        function_name: "envcheck".into(),
        ..EmulatorConfig::default()
    };
    let extra = [("FUNCTION_VAR".to_owned(), "configured".to_owned())];
    let rt = scf_emulator::emulator::Runner::start(&script, &extra, cfg, false)
        .await
        .unwrap();
    let Outcome::Response(body) = rt.invoke(&json!({})).await else {
        panic!("no environment: {}", rt.logs())
    };
    let text = String::from_utf8(body).unwrap();
    let env: std::collections::BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once('=')).collect();
    let names: Vec<&str> = env.keys().copied().collect();
    assert_eq!(
        names,
        [
            "FUNCTION_VAR",
            "HOME",
            "LANG",
            "PATH",
            "PWD",
            "SCF_FUNCTIONNAME",
            "SCF_FUNCTIONVERSION",
            "SCF_NAMESPACE",
            "SCF_RUNTIME_API",
            "SCF_RUNTIME_API_PORT",
            "TENCENTCLOUD_APPID",
            "TENCENTCLOUD_REGION",
            "TENCENTCLOUD_RUNENV",
            "TENCENTCLOUD_SECRETID",
            "TENCENTCLOUD_SECRETKEY",
            "TENCENTCLOUD_SESSIONTOKEN",
            "TENCENTCLOUD_UIN",
            "USER",
            "USER_CODE_ROOT",
            "_HANDLER",
        ],
        "{text}"
    );
    let code_dir = script.parent().unwrap().canonicalize().unwrap();
    assert_eq!(env["_HANDLER"], "custom.entry");
    assert_eq!(env["SCF_FUNCTIONNAME"], "envcheck");
    assert_eq!(env["PATH"], scf_emulator::emulator::BOOTSTRAP_PATH);
    assert_eq!(env["HOME"], "/home/qcloud");
    assert_eq!(env["USER"], "qcloud");
    assert_eq!(env["LANG"], "en_US.UTF8");
    assert_eq!(env["USER_CODE_ROOT"], format!("{}/", code_dir.display()));
    assert_eq!(env["PWD"], code_dir.display().to_string());
    assert_eq!(
        env["TENCENTCLOUD_SECRETKEY"],
        scf_emulator::emulator::FAKE_SECRET_KEY
    );
    assert_eq!(env["FUNCTION_VAR"], "configured");
    rt.shutdown().await;
    std::fs::remove_dir_all(script.parent().unwrap()).unwrap();
}
