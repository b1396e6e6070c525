//! The runtime loop in-process against the emulator, with handlers that misbehave on purpose.

use std::time::Duration;

use serde_json::{Value, json};
use wxlogin::runtime::{RetryPolicy, run_with};
use wxlogin::{Context, Event, FnError};
use wxlogin_devtools::emulator::{Emulator, EmulatorConfig, Outcome};

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
async fn emulator_rejects_empty_ready_and_second_results() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", emu.port());
    let client = reqwest_like_post(&base, "/runtime/init/ready", "").await;
    assert_eq!(client, 400);
    assert!(!emu.is_ready());
    assert_eq!(
        reqwest_like_post(&base, "/runtime/init/ready", " ").await,
        200
    );
    assert!(emu.is_ready());
    // A result with nothing in flight is rejected.
    assert_eq!(
        reqwest_like_post(&base, "/runtime/invocation/response", "{}").await,
        400
    );
    assert_eq!(emu.rejected().len(), 2);
}

/// A minimal HTTP/1.1 POST over a TcpStream, returning the status code.
async fn reqwest_like_post(base: &str, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A minimal HTTP/1.1 GET, returning (status, body).
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn emulator_refuses_results_over_6_mb_and_repeats_next() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", emu.port());
    let (_, rx) = emu.enqueue(br#"{"a":1}"#.to_vec(), vec![]);
    assert_eq!(
        raw_get(&base, "/runtime/invocation/next").await,
        (200, r#"{"a":1}"#.to_owned())
    );
    // A repeated GET during the same invocation returns the same event.
    assert_eq!(
        raw_get(&base, "/runtime/invocation/next").await.1,
        r#"{"a":1}"#
    );
    let big = "x".repeat(wxlogin_devtools::emulator::RESULT_LIMIT + 1);
    // (A first result is final; see below for the second.)
    assert_eq!(
        reqwest_like_post(&base, "/runtime/invocation/response", &big).await,
        413
    );
    let Outcome::Error(b) = rx.await.unwrap() else {
        panic!("not refused")
    };
    assert!(String::from_utf8_lossy(&b).contains("RESULT_TOO_LARGE"));

    // A second result for one invocation is rejected, and the first one stands.
    let (_, rx) = emu.enqueue(b"{}".to_vec(), vec![]);
    assert_eq!(raw_get(&base, "/runtime/invocation/next").await.0, 200);
    assert_eq!(
        reqwest_like_post(&base, "/runtime/invocation/response", r#"{"n":1}"#).await,
        200
    );
    assert_eq!(
        reqwest_like_post(&base, "/runtime/invocation/error", r#"{"n":2}"#).await,
        400
    );
    assert_eq!(rx.await.unwrap(), Outcome::Response(br#"{"n":1}"#.to_vec()));
}

#[tokio::test(flavor = "current_thread")]
async fn exec_timeout_kills_a_bootstrap_that_never_answers() {
    // Gets ready, fetches nothing, never answers.
    let script = wxlogin_devtools::testkit::script_bootstrap(
        "never-answers",
        "post /runtime/init/ready ' '; sleep 30",
    );
    let cfg = EmulatorConfig {
        time_limit: Duration::from_millis(300),
        ..EmulatorConfig::default()
    };
    let rt = wxlogin_devtools::emulator::Runner::start(&script, &[], cfg, false)
        .await
        .unwrap();
    let t = std::time::Instant::now();
    assert_eq!(rt.invoke(&json!({})).await, Outcome::Timeout);
    assert!(t.elapsed() < Duration::from_secs(2));
    let status = rt.wait_exit(Duration::from_secs(2)).await.expect("killed");
    assert!(status.contains("signal"), "{status}");
    std::fs::remove_dir_all(script.parent().unwrap()).unwrap();
}
