//! The hardening matrix (issue 4): upstream faults, runtime-API faults, bad input, key and
//! configuration faults and identity forgery, each run against the real function binaries on the
//! SCF emulator and the mock WeChat. Every section runs with unique sentinel values for the
//! AppSecret, the session_key, the private key and `WX_API_TOKEN`, and its test asserts that none
//! appears in any response or log line, and that no ticket appears in a log line.
//! `no_secret_leaks_on_any_path` runs every section with one set of sentinels.
//!
//! The sections' generic rows (bad input every function must survive, runtime-API faults, forged
//! identity) run for every function in `cloudbaserc.json` ([`FunctionList`]), so a new function
//! is covered with no edit here; rows about one function's own contract name that function.
//!
//! docs/failure-behaviour.md's table is built from these rows.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use scf_emulator::emulator::{Outcome, Runner};
use scf_emulator::events::{call_function, http_access};
use scf_emulator::functions::FunctionList;
use scf_emulator::measure::proc_status_kb;
use serde_json::{Value, json};
use wxlogin_devtools::keys::{RefusedKey, refused_key_file};
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{
    APPID, ENV, LoginFixture, Sentinels, Transcript, function_bin, http_parts, pem_body_lines,
    response_json, start, try_start,
};

/// Exec timeout of every emulated invocation here, ms.
const LIMIT_MS: u64 = 2000;

/// Every function in `cloudbaserc.json`, for the generic rows.
fn functions() -> Vec<String> {
    let list = FunctionList::load().unwrap_or_else(|e| panic!("{e}"));
    list.names().into_iter().map(str::to_owned).collect()
}

/// The functions whose contract is "no verified caller, no answer" (`UNAUTHENTICATED`), with
/// rows of their own in the forgery section.
const IDENTITY_FUNCTIONS: &[&str] = &["getUserInfo", "test"];

fn login_bin() -> PathBuf {
    function_bin("getLoginTicket")
}

/// The example bootstrap whose handler panics or answers 7 MB on request.
fn faulty_bin() -> PathBuf {
    function_bin("examples/faulty")
}

fn post(body: &str) -> Value {
    http_access("POST", "/login", Some(body), ENV)
}

/// `/next` headers of a callFunction the platform vouches for through `environ`.
fn vouched(s: &Sentinels, openid: &str) -> Vec<(String, String)> {
    vec![("environ".into(), s.environ(openid, APPID))]
}

/// A callFunction for `code` from its own user (`userInfo` and `environ`), which must succeed.
async fn good_login(rt: &Runner, s: &Sentinels, t: &mut Transcript, code: &str) -> Value {
    let openid = openid_for(APPID, code);
    let event = call_function(json!({ "code": code }), Some(&openid), Some(APPID));
    let o = rt
        .invoke_raw(event.to_string().into_bytes(), vouched(s, &openid))
        .await;
    t.outcome(format!("good call {code}"), &o);
    let body = response_json(&o);
    assert_eq!(body["openid"], json!(openid), "{body}");
    assert!(body["ticket"].as_str().is_some_and(|t| t.contains("/@@/")));
    body
}

/// Stop the runner, assert a clean exit 0, keep its logs.
async fn stop_clean(rt: Runner, t: &mut Transcript, label: &str) -> String {
    let (status, logs) = rt.stop().await;
    assert_eq!(
        status.as_deref(),
        Some("exit status: 0"),
        "{label}:\n{logs}"
    );
    t.logs(label, logs.clone());
    logs
}

fn assert_error(body: &Value, error: &str, what: &str) {
    assert_eq!(body["error"].as_str(), Some(error), "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message: {body}"
    );
}

// ---------------------------------------------------------------------------------------------
// Upstream faults (WeChat)

/// One WeChat fault: the mock code that triggers it and the documented answer.
struct UpstreamRow {
    fault: &'static str,
    code: &'static str,
    status: u16,
    error: Option<&'static str>,
    errcode: Option<i64>,
    /// jscode2session calls the fault costs (a retry shows as 2).
    wechat_calls: u32,
}

const UPSTREAM: &[UpstreamRow] = &[
    UpstreamRow {
        fault: "slow response, longer than the remaining time",
        code: "slow-5000.a",
        status: 502,
        error: Some("WX_API_UNREACHABLE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "reset in mid-body",
        code: "reset",
        status: 502,
        error: Some("WX_API_UNREACHABLE"),
        errcode: None,
        wechat_calls: 2,
    },
    UpstreamRow {
        fault: "HTTP 5xx",
        code: "http-500",
        status: 502,
        error: Some("WX_API_UNREACHABLE"),
        errcode: None,
        wechat_calls: 2,
    },
    UpstreamRow {
        fault: "HTML error page",
        code: "html",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "empty body",
        code: "empty",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "truncated JSON",
        code: "truncated",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "JSON with no openid and no errcode",
        code: "no-openid",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "errcode -1, then success",
        code: "busy-once.a",
        status: 200,
        error: None,
        errcode: None,
        wechat_calls: 2,
    },
    UpstreamRow {
        fault: "errcode -1 twice",
        code: "err--1",
        status: 502,
        error: Some("WX_API_ERROR"),
        errcode: Some(-1),
        wechat_calls: 2,
    },
    UpstreamRow {
        fault: "40029 invalid code",
        code: "err-40029",
        status: 401,
        error: Some("WX_API_ERROR"),
        errcode: Some(40029),
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "40163 code already used",
        code: "err-40163",
        status: 401,
        error: Some("WX_API_ERROR"),
        errcode: Some(40163),
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "40226 risky user blocked",
        code: "err-40226",
        status: 401,
        error: Some("WX_API_ERROR"),
        errcode: Some(40226),
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "a redirect (to a host that would answer for another user)",
        code: "redirect",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "a 100 MB answer",
        code: "huge",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "an endless chunked answer",
        code: "flood",
        status: 502,
        error: Some("WX_API_BAD_RESPONSE"),
        errcode: None,
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "an errmsg that echoes the request (AppSecret, code, query string)",
        code: "echo-40029",
        status: 401,
        error: Some("WX_API_ERROR"),
        errcode: Some(40029),
        wechat_calls: 1,
    },
    UpstreamRow {
        fault: "errcode -1 twice, with an errmsg that echoes the request (logged on the retry)",
        code: "echo--1",
        status: 502,
        error: Some("WX_API_ERROR"),
        errcode: Some(-1),
        wechat_calls: 2,
    },
    UpstreamRow {
        fault: "45011 quota",
        code: "err-45011",
        status: 429,
        error: Some("WX_API_ERROR"),
        errcode: Some(45011),
        wechat_calls: 1,
    },
];

/// Invoke `event`, asserting an answer before the exec timeout (not a kill, not a crash).
async fn before_deadline(rt: &Runner, event: &Value, what: &str) -> Outcome {
    // The emulator kills the bootstrap at the exec timeout and reports `Timeout`, like SCF.
    let o = rt.invoke(event).await;
    assert!(
        !matches!(o, Outcome::Timeout | Outcome::Crashed(_)),
        "{what}: {o:?}"
    );
    o
}

async fn upstream_faults(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    let rt = start(&login_bin(), &fx.env(), LIMIT_MS).await;
    for (i, row) in UPSTREAM.iter().enumerate() {
        let o = before_deadline(
            &rt,
            &post(&json!({"code": row.code}).to_string()),
            row.fault,
        )
        .await;
        t.outcome(row.fault, &o);
        let (status, headers, body) = http_parts(&o);
        assert_eq!(status, row.status, "{}: {body}", row.fault);
        match row.error {
            Some(error) => assert_error(&body, error, row.fault),
            None => assert!(body["ticket"].is_string(), "{}: {body}", row.fault),
        }
        assert_eq!(
            body["errcode"].as_i64(),
            row.errcode,
            "{}: {body}",
            row.fault
        );
        assert_eq!(
            headers.get("retry-after").and_then(Value::as_str),
            (row.status == 429).then_some("60"),
            "{}",
            row.fault
        );
        assert_eq!(fx.mock.calls(row.code), row.wechat_calls, "{}", row.fault);
        // WeChat's errmsg is outside data: nothing of our request, one line, bounded.
        if let Some(errmsg) = body.get("errmsg").and_then(Value::as_str) {
            for echo in [row.code, APPID, "authorization_code", &s.app_secret] {
                assert!(!errmsg.contains(echo), "{}: {errmsg}", row.fault);
            }
            assert!(errmsg.chars().count() <= 200, "{}: {errmsg}", row.fault);
            assert!(!errmsg.contains('\n'), "{}: {errmsg}", row.fault);
        }
        // The instance lives on: the next invocation works.
        good_login(&rt, s, &mut t, &format!("next-{i}.1")).await;
    }
    // No redirect was followed, and no Referer (which would carry the secret) was ever sent.
    assert_eq!(fx.mock.evil_calls(), 0, "a redirect was followed");
    assert_eq!(fx.mock.referers(), Vec::<String>::new());
    // The 100 MB and endless answers were not read into memory (107 MB and 1.5 GB before the
    // cap; the function is configured with 128 MB).
    let peak_kb = proc_status_kb(rt.pid(), "VmHWM").unwrap_or(0);
    assert!(peak_kb < 40 * 1024, "peak RSS {peak_kb} kB");
    let logs = stop_clean(rt, &mut t, "getLoginTicket (upstream faults)").await;
    // The -1 retry's WARN line carries the cleaned errmsg: one line, nothing of the request.
    assert!(logs.contains("retrying once"), "{logs}");
    assert!(!logs.contains("authorization_code"), "{logs}");
    assert!(!logs.lines().any(|l| l.starts_with("forged")), "{logs}");

    // A refused connection: nothing listens on WECHAT_API_BASE.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WECHAT_API_BASE");
    env.push(("WECHAT_API_BASE".into(), format!("http://127.0.0.1:{port}")));
    let rt = start(&login_bin(), &env, LIMIT_MS).await;
    for _ in 0..2 {
        let o = before_deadline(&rt, &post(r#"{"code":"refused.1"}"#), "refused").await;
        t.outcome("refused connection", &o);
        let (status, _, body) = http_parts(&o);
        assert_eq!(status, 502, "{body}");
        assert_error(&body, "WX_API_UNREACHABLE", "refused");
    }
    stop_clean(rt, &mut t, "getLoginTicket (refused)").await;
    t
}

/// getPhoneNumber's WeChat rows (the access_token and getuserphonenumber), with the sentinel
/// AppSecret: the mock's tokens (`ACCESS_TOKEN_MARKER`) and its phone number must stay out of
/// every log line, and the tokens out of every response. Each fault is followed by a good call.
async fn phone_faults(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript::default();
    let rt = start(&function_bin("getPhoneNumber"), &fx.env(), LIMIT_MS).await;
    // (label, token fault, code, status, error)
    let rows: &[(&str, &str, &str, u16, Option<&str>)] = &[
        ("success", "", "phone.a", 200, None),
        ("40029", "", "err-40029", 401, Some("WX_API_ERROR")),
        ("45011", "", "err-45011", 429, Some("WX_API_ERROR")),
        ("-1 twice", "", "err--1", 502, Some("WX_API_ERROR")),
        ("40001 once", "", "token-expired-once.1", 200, None),
        (
            "another appid",
            "",
            "other-appid.1",
            502,
            Some("WX_API_BAD_RESPONSE"),
        ),
        ("token expired mid-run", "expire", "phone.b", 200, None),
        (
            "same token handed back",
            "same-token-once",
            "token-expired-once.2",
            200,
            None,
        ),
        ("stable_token -1 once", "err--1-once", "phone.c", 200, None),
        (
            "stable_token 45009",
            "err-45009",
            "phone.d",
            429,
            Some("WX_API_ERROR"),
        ),
        (
            "stable_token 5xx",
            "http-500",
            "phone.e",
            502,
            Some("WX_API_UNREACHABLE"),
        ),
        (
            "stable_token HTML",
            "html",
            "phone.f",
            502,
            Some("WX_API_BAD_RESPONSE"),
        ),
        (
            "getuserphonenumber slower than the time left",
            "",
            "phone-slow-5000.g",
            502,
            Some("WX_API_UNREACHABLE"),
        ),
        (
            "getuserphonenumber 5xx",
            "",
            "phone-http-500",
            502,
            Some("WX_API_UNREACHABLE"),
        ),
        (
            "getuserphonenumber HTML",
            "",
            "phone-html",
            502,
            Some("WX_API_BAD_RESPONSE"),
        ),
        (
            "getuserphonenumber truncated JSON",
            "",
            "phone-truncated",
            502,
            Some("WX_API_BAD_RESPONSE"),
        ),
        (
            "getuserphonenumber redirect",
            "",
            "phone-redirect",
            502,
            Some("WX_API_BAD_RESPONSE"),
        ),
    ];
    for (i, (label, fault, code, status, error)) in rows.iter().enumerate() {
        // A failed stable_token fetch is remembered for 10 s (wxlogin::FETCH_FAILURE_BACKOFF):
        // such a row gets an instance of its own, where the next call gets the same answer
        // without a fetch.
        let failed_fetch = !fault.is_empty() && *status != 200;
        let own = if failed_fetch {
            Some(start(&function_bin("getPhoneNumber"), &fx.env(), LIMIT_MS).await)
        } else {
            None
        };
        let row_rt = own.as_ref().unwrap_or(&rt);
        match *fault {
            "" => {}
            "expire" => fx.mock.expire_token(),
            // The code itself gets the 40001; the refetch then hands back that token.
            "same-token-once" => fx.mock.set_token_fault("same-token-once"),
            f => {
                // A fault that stays (not -once) needs the cached token gone: expire it.
                fx.mock.expire_token();
                fx.mock.set_token_fault(f);
            }
        }
        let o = before_deadline(row_rt, &post(&json!({ "code": code }).to_string()), label).await;
        t.outcome(format!("getPhoneNumber {label}"), &o);
        let (got, _, body) = http_parts(&o);
        assert_eq!(got, *status, "{label}: {body}");
        match error {
            Some(e) => assert_error(&body, e, label),
            None => assert_eq!(body["countryCode"], json!("86"), "{label}: {body}"),
        }
        fx.mock.set_token_fault("");
        let next = post(&json!({ "code": format!("phone.next-{i}") }).to_string());
        if let Some(own) = own {
            let fetches = fx.mock.token_fetches();
            let o = own.invoke(&next).await;
            t.outcome(format!("getPhoneNumber after {label}"), &o);
            let (got, _, body) = http_parts(&o);
            assert_eq!(got, *status, "after {label}, remembered: {body}");
            assert_eq!(
                fx.mock.token_fetches(),
                fetches,
                "{label}: fetched again too soon"
            );
            stop_clean(own, &mut t, &format!("getPhoneNumber ({label})")).await;
            continue;
        }
        // The instance lives on.
        let o = rt.invoke(&next).await;
        t.outcome(format!("getPhoneNumber after {label}"), &o);
        let (got, _, body) = http_parts(&o);
        assert_eq!(got, 200, "after {label}: {body}");
    }
    assert_eq!(fx.mock.forced_refreshes(), 1);
    assert_eq!(fx.mock.evil_calls(), 0, "a redirect was followed");
    stop_clean(rt, &mut t, "getPhoneNumber (WeChat faults)").await;
    t
}

#[tokio::test(flavor = "current_thread")]
async fn phone_faults_answer_and_the_next_call_works() {
    let s = Sentinels::new();
    phone_faults(&s).await.assert_no_leak(&s);
}

#[tokio::test(flavor = "current_thread")]
async fn upstream_faults_answer_before_the_deadline_and_the_next_call_works() {
    let s = Sentinels::new();
    upstream_faults(&s).await.assert_no_leak(&s);
}

// ---------------------------------------------------------------------------------------------
// Runtime API faults

/// A runtime-API fault: `(what, /next headers, event, errorCode)`.
type RuntimeFault = (&'static str, Vec<(String, String)>, Vec<u8>, &'static str);

/// Faults in what the runtime API delivers, which the runtime (not the function) answers with an
/// invocation error.
fn runtime_faults() -> [RuntimeFault; 3] {
    [
        (
            "no request_id",
            vec![("request_id".to_owned(), String::new())],
            b"{}".to_vec(),
            "MISSING_HEADER",
        ),
        (
            "bad time_limit_in_ms",
            vec![("time_limit_in_ms".to_owned(), "soon".to_owned())],
            b"{}".to_vec(),
            "BAD_HEADER",
        ),
        (
            "event not JSON",
            vec![],
            b"{not json".to_vec(),
            "EVENT_NOT_JSON",
        ),
    ]
}

async fn runtime_api_faults(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    let rt = start(&login_bin(), &fx.env(), LIMIT_MS).await;
    good_login(&rt, s, &mut t, "rt-0.1").await;

    // /next answers 500 three times after this invocation: retried, and the next event is served.
    rt.emulator.fail_next_requests(3);
    good_login(&rt, s, &mut t, "rt-1.1").await;
    good_login(&rt, s, &mut t, "rt-2.1").await;
    assert_eq!(rt.emulator.injected_failures_served(), 3);

    // No request_id, or an event that is not JSON: an invocation error, and the loop goes on.
    for (what, headers, event, code) in runtime_faults() {
        let o = rt.invoke_raw(event, headers).await;
        t.outcome(what, &o);
        let Outcome::Error(b) = &o else {
            panic!("{what}: expected /error, got {o:?}")
        };
        let e: Value = serde_json::from_slice(b).unwrap();
        assert_eq!(e["errorCode"], json!(code), "{what}: {e}");
        assert!(e["errorMessage"].as_str().is_some_and(|m| !m.is_empty()));
        good_login(&rt, s, &mut t, &format!("rt-after-{code}.1")).await;
    }

    // /response rejected (400): logged, the loop goes on.
    rt.emulator.reject_results(1, 400);
    let code = "rt-3.1";
    let openid = openid_for(APPID, code);
    let o = rt
        .invoke(&call_function(
            json!({"code": code}),
            Some(&openid),
            Some(APPID),
        ))
        .await;
    t.outcome("rejected /response", &o);
    assert_eq!(
        o.json().unwrap()["errorCode"],
        json!("RESULT_REJECTED"),
        "{o:?}"
    );
    good_login(&rt, s, &mut t, "rt-4.1").await;
    // /response answers 500 twice: retried until it lands.
    rt.emulator.reject_results(2, 500);
    good_login(&rt, s, &mut t, "rt-5.1").await;
    assert_eq!(rt.emulator.rejected_results_served(), 3);

    // SIGTERM during an invocation: it completes, then the process exits 0.
    let event = call_function(
        json!({"code": "slow-400.b"}),
        Some(&openid_for(APPID, "slow-400.b")),
        Some(APPID),
    );
    let term = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        rt.sigterm();
    };
    let (o, ()) = tokio::join!(rt.invoke(&event), term);
    t.outcome("SIGTERM mid-invocation", &o);
    assert!(response_json(&o)["ticket"].is_string(), "{o:?}");
    let logs = stop_clean(rt, &mut t, "getLoginTicket (runtime API faults)").await;
    assert!(logs.contains("runtime API rejected the result"), "{logs}");
    assert!(logs.contains("runtime API next failed, retrying"), "{logs}");
    assert!(logs.contains("SIGTERM received"), "{logs}");

    // The same runtime faults for every function: an invocation error each, the loop goes on,
    // and SIGTERM ends it with exit 0.
    for name in functions() {
        let rt = start(&function_bin(&name), &fx.env(), LIMIT_MS).await;
        for (what, headers, event, code) in runtime_faults() {
            let o = rt.invoke_raw(event, headers).await;
            t.outcome(format!("{name}: {what}"), &o);
            assert!(matches!(o, Outcome::Error(_)), "{name}: {what}: {o:?}");
            assert_eq!(
                o.json().unwrap()["errorCode"],
                json!(code),
                "{name}: {what}"
            );
        }
        let o = rt.invoke(&json!({})).await;
        t.outcome(format!("{name}: after the faults"), &o);
        assert!(matches!(o, Outcome::Response(_)), "{name}: {o:?}");
        stop_clean(rt, &mut t, &format!("{name} (runtime API faults)")).await;
    }

    // A handler panic: reported through /error; the next invocation succeeds.
    let rt = start(&faulty_bin(), &[], LIMIT_MS).await;
    let o = rt.invoke(&json!({"panic": true})).await;
    t.outcome("panic", &o);
    let Outcome::Error(b) = &o else {
        panic!("panic: {o:?}")
    };
    let e: Value = serde_json::from_slice(b).unwrap();
    assert_eq!(e["errorCode"], json!("HANDLER_PANIC"), "{e}");
    assert!(
        e["errorMessage"]
            .as_str()
            .unwrap()
            .contains("boom on purpose")
    );
    assert_eq!(
        response_json(&rt.invoke(&json!({})).await)["ok"],
        json!(true)
    );
    let logs = stop_clean(rt, &mut t, "faulty (panic)").await;
    assert!(logs.contains("handler panicked"), "{logs}");

    // The runtime API unreachable at start: bounded retries, then one clear line and exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = Instant::now();
    let out = tokio::process::Command::new(login_bin())
        .env_clear()
        .envs(fx.env())
        .env("SCF_RUNTIME_API", "127.0.0.1")
        .env("SCF_RUNTIME_API_PORT", port.to_string())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded retries"
    );
    let logs =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let fatal: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(fatal.len(), 1, "{logs}");
    assert!(
        fatal[0].contains("runtime API unreachable") && fatal[0].contains("/runtime/init/ready"),
        "{logs}"
    );
    t.logs("getLoginTicket (runtime API unreachable)", logs);

    // SIGTERM while ready is being retried: exit 0 at once (not exit 1 after the retries).
    let child = tokio::process::Command::new(login_bin())
        .env_clear()
        .envs(fx.env())
        .env("SCF_RUNTIME_API", "127.0.0.1")
        .env("SCF_RUNTIME_API_PORT", port.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    scf_emulator::process::sigterm(child.id().unwrap());
    let out = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{logs}");
    assert!(logs.contains("SIGTERM received before ready"), "{logs}");
    t.logs("getLoginTicket (SIGTERM before ready)", logs);

    // Started outside SCF entirely.
    let out = tokio::process::Command::new(login_bin())
        .env_clear()
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("SCF_RUNTIME_API is not set"), "{logs}");
    t
}

#[tokio::test(flavor = "current_thread")]
async fn runtime_api_faults_are_survived_or_end_cleanly() {
    let s = Sentinels::new();
    runtime_api_faults(&s).await.assert_no_leak(&s);
}

// ---------------------------------------------------------------------------------------------
// Bad input

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn http_with(method: &str, body: Option<&str>, base64: bool, content_type: &str) -> Value {
    let mut e = http_access(method, "/login", body, ENV);
    e["isBase64Encoded"] = json!(base64);
    e["headers"]["content-type"] = json!(content_type);
    e
}

async fn bad_input(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    let rt = start(&login_bin(), &fx.env(), LIMIT_MS).await;
    let json_ct = "application/json";
    let big = format!(r#"{{"code":"{}"}}"#, "x".repeat(6 * 1024 * 1024 + 1));
    // (what, event, HTTP status or None for a callFunction result object, error)
    let rows: Vec<(&str, Value, Option<u16>, &str)> = vec![
        ("a JSON array", json!([1, 2]), None, "BAD_REQUEST"),
        ("null", Value::Null, None, "BAD_REQUEST"),
        ("code as a number", json!({"code": 42}), None, "BAD_REQUEST"),
        (
            "code as an object",
            json!({"code": {"a": 1}}),
            None,
            "BAD_REQUEST",
        ),
        ("no code", json!({}), None, "MISSING_CODE"),
        ("an empty code", json!({"code": ""}), None, "MISSING_CODE"),
        (
            "a code over 512 bytes",
            json!({"code": "c".repeat(513)}),
            None,
            "BAD_REQUEST",
        ),
        (
            "a NUL in the code",
            json!({"code": "ab\u{0}cd"}),
            None,
            "BAD_REQUEST",
        ),
        (
            "a newline in the code",
            json!({"code": "ab\ncd"}),
            None,
            "BAD_REQUEST",
        ),
        (
            "an ESC in the code",
            json!({"code": "ab\u{1b}[2Jcd"}),
            None,
            "BAD_REQUEST",
        ),
        (
            "HTTP body: bad base64",
            http_with("POST", Some("!!not base64!!"), true, json_ct),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP body: bad UTF-8",
            http_with(
                "POST",
                Some(&b64(b"{\"code\":\"\xff\xfe\"}")),
                true,
                json_ct,
            ),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP body: bad JSON",
            http_with("POST", Some("{not json"), false, json_ct),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP body: empty",
            http_with("POST", None, false, json_ct),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP: neither JSON nor a form (a JSON object is read whatever its label)",
            http_with("POST", Some("code=x"), false, "text/plain"),
            Some(415),
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "HTTP: a form that gives code twice",
            http_with(
                "POST",
                Some("code=x&code=y"),
                false,
                "application/x-www-form-urlencoded",
            ),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP: an idempotency key too short to be random",
            http_with(
                "POST",
                Some(r#"{"code":"x","idempotencyKey":"1"}"#),
                false,
                json_ct,
            ),
            Some(400),
            "BAD_REQUEST",
        ),
        (
            "HTTP: body over 6 MB",
            http_with("POST", Some(&big), false, json_ct),
            Some(413),
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "HTTP: GET",
            http_with("GET", None, false, json_ct),
            Some(405),
            "METHOD_NOT_ALLOWED",
        ),
        (
            "HTTP: PUT",
            http_with("PUT", Some(r#"{"code":"x"}"#), false, json_ct),
            Some(405),
            "METHOD_NOT_ALLOWED",
        ),
        (
            "HTTP: OPTIONS",
            http_with("OPTIONS", None, false, json_ct),
            Some(405),
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (what, event, status, error) in rows {
        let o = rt.invoke(&event).await;
        t.outcome(what, &o);
        let body = match status {
            None => response_json(&o),
            Some(status) => {
                let (got, headers, body) = http_parts(&o);
                assert_eq!(got, status, "{what}: {body}");
                assert_eq!(
                    headers["content-type"],
                    json!("application/json; charset=utf-8"),
                    "{what}"
                );
                if status == 405 {
                    assert_eq!(headers["allow"], json!("POST"), "{what}");
                }
                body
            }
        };
        assert_error(&body, error, what);
    }
    assert_eq!(fx.mock.total_calls(), 0, "bad input never reaches WeChat");
    good_login(&rt, s, &mut t, "after-bad-input.1").await;
    stop_clean(rt, &mut t, "getLoginTicket (bad input)").await;

    // An event that is not JSON, an array and null, for every function.
    for name in functions() {
        let rt = start(&function_bin(&name), &fx.env(), LIMIT_MS).await;
        let o = rt.invoke_raw(b"\xff{not json".to_vec(), vec![]).await;
        t.outcome(format!("{name}: not JSON"), &o);
        assert_eq!(
            o.json().unwrap()["errorCode"],
            json!("EVENT_NOT_JSON"),
            "{name}"
        );
        assert!(matches!(o, Outcome::Error(_)), "{name}: {o:?}");
        for event in [json!([1]), Value::Null, json!("text")] {
            let o = rt.invoke(&event).await;
            t.outcome(format!("{name}: {event}"), &o);
            let body = response_json(&o);
            assert!(body["error"].is_string(), "{name} {event}: {body}");
        }
        stop_clean(rt, &mut t, &name).await;
    }

    // A result over SCF's 6 MB: an invocation error, and the next invocation works.
    let rt = start(&faulty_bin(), &[], LIMIT_MS).await;
    let o = rt.invoke(&json!({"huge": true})).await;
    t.outcome("huge result", &o);
    assert!(matches!(o, Outcome::Error(_)), "{o:?}");
    assert_eq!(o.json().unwrap()["errorCode"], json!("RESULT_TOO_LARGE"));
    assert_eq!(
        response_json(&rt.invoke(&json!({})).await)["ok"],
        json!(true)
    );
    stop_clean(rt, &mut t, "faulty (huge)").await;
    t
}

#[tokio::test(flavor = "current_thread")]
async fn bad_input_gets_a_structured_error_not_a_crash() {
    let s = Sentinels::new();
    bad_input(&s).await.assert_no_leak(&s);
}

// ---------------------------------------------------------------------------------------------
// Key and configuration faults

fn bad_key(kind: RefusedKey) -> String {
    refused_key_file(kind, ENV).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

/// One configuration fault: how to break the environment, and the setting and reason the
/// answer must name.
struct ConfigRow {
    fault: &'static str,
    /// Key file content to write (None: keep the fixture's key).
    key_file: Option<String>,
    /// Variables to remove, then to set.
    remove: &'static [&'static str],
    set: Vec<(&'static str, String)>,
    setting: &'static str,
    reason: &'static str,
}

fn config_rows(fx: &LoginFixture) -> Vec<ConfigRow> {
    let good: Value = serde_json::from_str(&fx.key_json).unwrap();
    let without = |field: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        v.to_string()
    };
    let with_pem = |pem: &str| {
        let mut v = good.clone();
        v["private_key"] = json!(pem);
        v.to_string()
    };
    let row = |fault, key_file: Option<String>, setting, reason| ConfigRow {
        fault,
        key_file,
        remove: &[],
        set: vec![],
        setting,
        reason,
    };
    vec![
        ConfigRow {
            remove: &["TCB_CUSTOM_LOGIN_KEY_FILE"],
            set: vec![(
                "TCB_CUSTOM_LOGIN_KEY_FILE",
                fx.dir().join("missing.json").display().to_string(),
            )],
            ..row("a missing key file", None, "TCB_CUSTOM_LOGIN_KEY", "no key")
        },
        row(
            "a key file that is not JSON",
            Some("private_key_id = nope\n".into()),
            "TCB_CUSTOM_LOGIN_KEY",
            "not the console's",
        ),
        row(
            "a key file with no private_key_id",
            Some(without("private_key_id")),
            "TCB_CUSTOM_LOGIN_KEY",
            "no private_key_id",
        ),
        row(
            "a private_key_id with the ticket separator /@@/",
            Some({
                let mut v = good.clone();
                v["private_key_id"] = json!("kid/@@/eyJ0eXAi");
                v.to_string()
            }),
            "TCB_CUSTOM_LOGIN_KEY",
            "private_key_id must be",
        ),
        row(
            "a bad PEM",
            Some(with_pem(&{
                let label = "RSA PRIVATE KEY";
                format!("-----BEGIN {label}-----\nnot base64 at all\n-----END {label}-----\n")
            })),
            "TCB_CUSTOM_LOGIN_KEY",
            "not a PEM RSA private key",
        ),
        row(
            "an encrypted PEM (PKCS#8)",
            Some(bad_key(RefusedKey::EncryptedPkcs8)),
            "TCB_CUSTOM_LOGIN_KEY",
            "encrypted",
        ),
        row(
            "an encrypted PEM (PKCS#1, Proc-Type)",
            Some(bad_key(RefusedKey::EncryptedPkcs1)),
            "TCB_CUSTOM_LOGIN_KEY",
            "encrypted",
        ),
        row(
            "an RSA key under 1024 bits",
            Some(bad_key(RefusedKey::Rsa512)),
            "TCB_CUSTOM_LOGIN_KEY",
            "512 bits",
        ),
        row(
            "an EC key (PKCS#8)",
            Some(bad_key(RefusedKey::EcPkcs8)),
            "TCB_CUSTOM_LOGIN_KEY",
            "not a PEM RSA private key",
        ),
        row(
            "an EC key (SEC1)",
            Some(bad_key(RefusedKey::EcSec1)),
            "TCB_CUSTOM_LOGIN_KEY",
            "not a PEM RSA private key",
        ),
        ConfigRow {
            remove: &["TCB_ENV"],
            set: vec![("TCB_ENV", "another-env".into())],
            ..row(
                "an env_id mismatch with TCB_ENV",
                None,
                "TCB_ENV",
                "does not match",
            )
        },
        row(
            "a key file with no env_id",
            Some(without("env_id")),
            "TCB_CUSTOM_LOGIN_KEY",
            "no env_id",
        ),
        ConfigRow {
            remove: &["WX_APPID"],
            ..row("no WX_APPID", None, "WX_APPID", "not set")
        },
        ConfigRow {
            remove: &["WX_SECRET"],
            ..row("no WX_SECRET", None, "WX_SECRET", "not set")
        },
        ConfigRow {
            remove: &["WX_SECRET"],
            set: vec![("WX_SECRET", "   ".into())],
            ..row("a blank WX_SECRET", None, "WX_SECRET", "not set")
        },
        ConfigRow {
            remove: &["TCB_CUSTOM_LOGIN_KEY_FILE"],
            set: vec![("TCB_CUSTOM_LOGIN_KEY", "%%%".into())],
            ..row(
                "TCB_CUSTOM_LOGIN_KEY neither JSON nor base64",
                None,
                "TCB_CUSTOM_LOGIN_KEY",
                "not the console's",
            )
        },
    ]
}

async fn config_faults(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    for (i, row) in config_rows(&fx).into_iter().enumerate() {
        let mut env = fx.env();
        env.retain(|(k, _)| !row.remove.contains(&k.as_str()));
        env.extend(row.set.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        if let Some(content) = &row.key_file {
            t.pem_lines.extend(pem_body_lines(content));
            let path = fx.dir().join(format!("bad-{i}.json"));
            std::fs::write(&path, content).unwrap();
            env.retain(|(k, _)| k != "TCB_CUSTOM_LOGIN_KEY_FILE");
            env.push((
                "TCB_CUSTOM_LOGIN_KEY_FILE".into(),
                path.display().to_string(),
            ));
        }
        // No crash loop: the bootstrap gets ready and stays up.
        let rt = try_start(&login_bin(), &env, LIMIT_MS)
            .await
            .unwrap_or_else(|f| panic!("{}: {}\n{}", row.fault, f.reason, f.logs));
        let init_log = rt.logs();
        assert!(
            init_log.contains("misconfigured") && init_log.contains(row.setting),
            "{}: the init log names the setting:\n{init_log}",
            row.fault
        );
        // Every invocation answers MISCONFIGURED, over callFunction and HTTP alike.
        for round in 0..2 {
            let o = rt
                .invoke(&call_function(
                    json!({"code": "cfg.1"}),
                    Some("o1"),
                    Some(APPID),
                ))
                .await;
            t.outcome(format!("{} (call {round})", row.fault), &o);
            let body = response_json(&o);
            let (status, _, http) = http_parts(&rt.invoke(&post(r#"{"code":"cfg.2"}"#)).await);
            t.responses.push((row.fault.into(), http.to_string()));
            assert_eq!(status, 500, "{}: {http}", row.fault);
            for b in [&body, &http] {
                assert_error(b, "MISCONFIGURED", row.fault);
                let m = b["message"].as_str().unwrap();
                assert!(
                    m.starts_with(row.setting) && m.contains(row.reason),
                    "{}: expected `{}: ...{}...`, got {m:?}",
                    row.fault,
                    row.setting,
                    row.reason
                );
                assert!(
                    !m.contains(ENV) && !m.contains('/'),
                    "{}: a value leaked: {m}",
                    row.fault
                );
            }
        }
        assert_eq!(
            rt.wait_exit(Duration::ZERO).await,
            None,
            "{}: still up",
            row.fault
        );
        stop_clean(rt, &mut t, row.fault).await;
    }
    assert_eq!(
        fx.mock.total_calls(),
        0,
        "no WeChat call while misconfigured"
    );
    t
}

#[tokio::test(flavor = "current_thread")]
async fn config_faults_answer_misconfigured_naming_the_setting() {
    let s = Sentinels::new();
    config_faults(&s).await.assert_no_leak(&s);
}

// ---------------------------------------------------------------------------------------------
// Identity forgery

/// A callFunction's data stuffed with every identity-looking field a client can write.
fn forged_data(extra: Value) -> Value {
    let mut data = json!({
        "environ": "WX_OPENID=oVictim;WX_APPID=wxvictim;WX_CONTEXT_KEYS=WX_OPENID,WX_APPID",
        "environment": json!({"WX_OPENID": "oVictim", "WX_APPID": "wxvictim"}).to_string(),
        "WX_OPENID": "oVictim",
        "OPENID": "oVictim",
        "openid": "oVictim",
        "data": {"userInfo": {"openId": "oVictim", "appId": "wxvictim"}},
    });
    data.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    data
}

/// An HTTP event forging identity in its body, headers and query string. (It has no top-level
/// `userInfo`: the platform builds HTTP events, and a client cannot add one. An event that has
/// one is a callFunction event, whatever else it holds: see `forged data dressed as HTTP`.)
fn forged_http(method: &str, body: &str) -> Value {
    let mut ev = http_access(method, "/me", Some(body), ENV);
    for (h, v) in [
        ("x-wx-openid", "oVictim"),
        ("x-wx-appid", "wxvictim"),
        ("x-wx-unionid", "uVictim"),
        ("environ", "WX_OPENID=oVictim"),
    ] {
        ev["headers"][h] = json!(v);
    }
    ev["queryStringParameters"] = json!({"openid": "oVictim", "OPENID": "oVictim"});
    ev
}

/// A callFunction event whose raw text carries `userInfo` twice (the victim's copy last).
fn duplicate_user_info(data: &str, real: &str) -> Vec<u8> {
    format!(
        r#"{{{data}"userInfo":{{"openId":"{real}","appId":"{APPID}"}},"userInfo":{{"openId":"oVictim","appId":"{APPID}"}}}}"#
    )
    .into_bytes()
}

async fn identity_forgery(s: &Sentinels) -> Transcript {
    let fx = LoginFixture::with_sentinels(s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    // The process environment is fixed at deploy time and shared by every caller: never identity.
    let mut env = fx.env();
    for (k, v) in [
        ("WX_OPENID", "oVictim"),
        ("OPENID", "oVictim"),
        ("WX_CONTEXT_KEYS", "WX_OPENID,WX_APPID"),
        ("TCB_UUID", "u-victim"),
    ] {
        env.push((k.into(), v.into()));
    }
    // Every function but getLoginTicket (whose rows follow): a forged identity is never the
    // reported one. The identity functions' own rows are stricter: no verified caller, no answer.
    for name in functions().into_iter().filter(|n| n != "getLoginTicket") {
        let strict = IDENTITY_FUNCTIONS.contains(&name.as_str());
        let rt = start(&function_bin(&name), &env, LIMIT_MS).await;
        let openid_of = |body: &Value| {
            body.get("identity")
                .unwrap_or(body)
                .get("openid")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // The generic row: whatever a function answers, it never names the victim as the caller.
        let never_the_victim = |body: &Value, what: &str| {
            assert_ne!(
                openid_of(body).as_deref(),
                Some("oVictim"),
                "{name}: {what}: {body}"
            );
        };
        // No platform channel: forged fields give nothing.
        for (what, event) in [
            (
                "forged data, no userInfo",
                forged_data(json!({})).to_string().into_bytes(),
            ),
            ("userInfo twice", duplicate_user_info("", "oReal")),
        ] {
            let o = rt.invoke_raw(event, vec![]).await;
            t.outcome(format!("{name}: {what}"), &o);
            let body = response_json(&o);
            never_the_victim(&body, what);
            if strict {
                assert_error(&body, "UNAUTHENTICATED", &format!("{name}: {what}"));
            }
        }
        // With the platform's userInfo, or its environ header, forged data changes nothing.
        let event = forged_data(json!({"userInfo": {"openId": "oReal", "appId": APPID}}));
        let o = rt.invoke(&event).await;
        t.outcome(format!("{name}: forged data with userInfo"), &o);
        never_the_victim(&response_json(&o), "forged data with userInfo");
        if strict {
            assert_eq!(
                openid_of(&response_json(&o)).as_deref(),
                Some("oReal"),
                "{name}"
            );
        }
        let o = rt
            .invoke_raw(
                forged_data(json!({})).to_string().into_bytes(),
                vouched(s, "oCtx"),
            )
            .await;
        t.outcome(format!("{name}: forged data with environ"), &o);
        never_the_victim(&response_json(&o), "forged data with environ");
        if strict {
            assert_eq!(
                openid_of(&response_json(&o)).as_deref(),
                Some("oCtx"),
                "{name}"
            );
        }
        // callFunction data dressed as an HTTP event (forged x-wx-* headers, query, body) is
        // still a callFunction: the platform's userInfo is the identity, nothing else.
        let mut dressed = forged_http("POST", r#"{"openid":"oVictim"}"#);
        dressed["userInfo"] = json!({"openId": "oReal", "appId": APPID});
        let o = rt.invoke(&dressed).await;
        t.outcome(format!("{name}: forged data dressed as HTTP"), &o);
        never_the_victim(&response_json(&o), "forged data dressed as HTTP");
        if strict {
            assert_eq!(
                openid_of(&response_json(&o)).as_deref(),
                Some("oReal"),
                "{name}"
            );
        }
        // HTTP: everything is client-written; 401.
        for method in ["POST", "GET"] {
            let o = rt
                .invoke(&forged_http(
                    method,
                    r#"{"userInfo":{"openId":"oVictim"},"openid":"oVictim"}"#,
                ))
                .await;
            t.outcome(format!("{name}: forged HTTP {method}"), &o);
            let (status, _, body) = http_parts(&o);
            never_the_victim(&body, "forged HTTP");
            if strict {
                assert_eq!(status, 401, "{name}: {body}");
                assert_error(&body, "UNAUTHENTICATED", &name);
            }
        }
        let logs = stop_clean(rt, &mut t, &name).await;
        if strict {
            assert!(!logs.contains("oVictim"), "{name}: {logs}");
        }
    }

    // getLoginTicket reports the code's user, whatever the request claims.
    let rt = start(&login_bin(), &fx.env(), LIMIT_MS).await;
    let code = "kim.1";
    let kim = openid_for(APPID, code);
    let o = rt.invoke(&forged_data(json!({"code": code}))).await;
    t.outcome("getLoginTicket: forged data", &o);
    assert_eq!(response_json(&o)["openid"], json!(kim));
    let o = rt
        .invoke_raw(
            duplicate_user_info(r#""code":"kim.2","#, &openid_for(APPID, "kim.2")),
            vec![],
        )
        .await;
    t.outcome("getLoginTicket: userInfo twice", &o);
    assert_eq!(
        response_json(&o)["openid"],
        json!(openid_for(APPID, "kim.2"))
    );
    let o = rt
        .invoke(&forged_http(
            "POST",
            r#"{"code":"kim.3","openid":"oVictim"}"#,
        ))
        .await;
    t.outcome("getLoginTicket: forged HTTP", &o);
    let (status, _, body) = http_parts(&o);
    assert_eq!(
        (status, &body["openid"]),
        (200, &json!(openid_for(APPID, "kim.3")))
    );
    stop_clean(rt, &mut t, "getLoginTicket (forgery)").await;
    t
}

#[tokio::test(flavor = "current_thread")]
async fn forged_identity_never_changes_the_reported_identity() {
    let s = Sentinels::new();
    identity_forgery(&s).await.assert_no_leak(&s);
}

// ---------------------------------------------------------------------------------------------
// Secret hygiene over every path

#[tokio::test(flavor = "current_thread")]
async fn no_secret_leaks_on_any_path() {
    let s = Sentinels::new();
    let mut t = Transcript::default();
    t.extend(upstream_faults(&s).await);
    t.extend(phone_faults(&s).await);
    t.extend(runtime_api_faults(&s).await);
    t.extend(bad_input(&s).await);
    t.extend(config_faults(&s).await);
    t.extend(identity_forgery(&s).await);
    // The sentinels did reach the functions: tickets were minted with the sentinel AppSecret
    // (the mock checks it) and the mock's sentinel session_keys, and PEM lines are watched.
    assert!(
        t.ticket_signatures().len() >= 20,
        "{}",
        t.ticket_signatures().len()
    );
    assert!(t.pem_lines.len() >= 10, "{}", t.pem_lines.len());
    assert!(t.responses.len() >= 100, "{}", t.responses.len());
    t.assert_no_leak(&s);
}

/// The leak check itself can fail.
#[test]
fn the_leak_check_catches_a_planted_sentinel() {
    let s = Sentinels::new();
    for planted in [
        s.app_secret.clone(),
        format!("{}==", s.session_key),
        s.wx_api_token.clone(),
        "MIICXAIBAAKBgQC1planted".into(),
    ] {
        let mut t = Transcript {
            pem_lines: vec!["MIICXAIBAAKBgQC1planted".into()],
            ..Transcript::default()
        };
        t.logs("log", format!("INFO something {planted} here"));
        let caught = std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err();
        assert!(caught, "{planted} not caught");
    }
    // A ticket is fine in a response, not in a log.
    let mut t = Transcript::default();
    t.outcome(
        "r",
        &Outcome::Response(br#"{"ticket":"kid/@@/aaa.bbb.SIGNATURE0123456789abc"}"#.to_vec()),
    );
    t.assert_no_leak(&s);
    t.logs("log", "issued SIGNATURE0123456789abc".into());
    assert!(std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err());
}
