//! getLoginTicket, as a real bootstrap on the emulator against the mock WeChat.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use wxlogin_devtools::emulator::Outcome;
use wxlogin_devtools::events::{call_function, http_access};
use wxlogin_devtools::mock_wechat::{SESSION_KEY_MARKER, openid_for, unionid_for};
use wxlogin_devtools::testkit::{
    APPID, ENV, LoginFixture, SECRET, http_parts, response_json, start, try_start,
};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_getLoginTicket"))
}

/// A callFunction from the code's own user (the mock's openid for that code).
fn call(code: &str) -> Value {
    call_function(
        json!({ "code": code }),
        Some(&openid_for(APPID, code)),
        Some(APPID),
    )
}

fn post(body: &str) -> Value {
    http_access("POST", "/login", Some(body), ENV)
}

fn assert_clean_logs(fx: &LoginFixture, logs: &str, tickets: &[&str]) {
    for needle in [SECRET, SESSION_KEY_MARKER, &fx.pem_fragment()] {
        assert!(!logs.contains(needle), "logs leak {needle:?}:\n{logs}");
    }
    for t in tickets {
        assert!(
            !logs.contains(t.split("/@@/").nth(1).unwrap()),
            "logs leak a ticket"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn call_function_success_mints_a_valid_ticket() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let body = response_json(&rt.invoke(&call("alice.1")).await);
    let openid = openid_for(APPID, "alice.1");
    assert_eq!(body["openid"], json!(openid));
    assert!(body.get("unionid").is_none(), "{body}");
    let ticket = body["ticket"].as_str().unwrap();
    let report = fx.key.inspect(ticket, wxlogin::ticket::now_ms());
    assert!(report.ok(), "{report:?}");
    let claims = report.claims.unwrap();
    assert_eq!(
        (claims["uid"].as_str(), claims["env"].as_str()),
        (Some(openid.as_str()), Some(ENV))
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600_000
    );

    let union = response_json(&rt.invoke(&call("union.7")).await);
    assert_eq!(union["unionid"], json!(unionid_for(APPID, "union.7")));

    assert!(
        rt.emulator.rejected().is_empty(),
        "{:?}",
        rt.emulator.rejected()
    );
    let (status, logs) = rt.stop().await;
    assert_eq!(status.as_deref(), Some("exit status: 0"));
    assert_clean_logs(&fx, &logs, &[ticket, union["ticket"].as_str().unwrap()]);
    assert!(logs.contains("ticket issued"), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn http_success_plain_and_base64() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let (status, headers, body) = http_parts(&rt.invoke(&post(r#"{"code":"carol.1"}"#)).await);
    assert_eq!(status, 200);
    assert_eq!(
        headers["Content-Type"],
        json!("application/json; charset=utf-8")
    );
    assert!(
        fx.key
            .inspect(body["ticket"].as_str().unwrap(), wxlogin::ticket::now_ms())
            .ok()
    );

    let mut ev = post("");
    ev["body"] = json!(base64::engine::general_purpose::STANDARD.encode(r#"{"code":"carol.2"}"#));
    ev["isBase64Encoded"] = json!(true);
    let (status, _, body) = http_parts(&rt.invoke(&ev).await);
    assert_eq!(
        (status, &body["openid"]),
        (200, &json!(openid_for(APPID, "carol.2")))
    );
    rt.shutdown().await;
}

fn with_content_type(mut event: Value, ct: &str) -> Value {
    event["headers"]["content-type"] = json!(ct);
    event
}

/// Every error row of the README table, over HTTP and as a callFunction result object.
#[tokio::test(flavor = "current_thread")]
async fn error_table() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    // (event, status, error, errcode)
    let rows: Vec<(Value, u16, &str, Option<i64>)> = vec![
        (
            http_access("GET", "/login", None, ENV),
            405,
            "METHOD_NOT_ALLOWED",
            None,
        ),
        (
            http_access("PUT", "/login", Some(r#"{"code":"x"}"#), ENV),
            405,
            "METHOD_NOT_ALLOWED",
            None,
        ),
        (
            http_access("OPTIONS", "/login", None, ENV),
            405,
            "METHOD_NOT_ALLOWED",
            None,
        ),
        (post("{not json"), 400, "BAD_REQUEST", None),
        (post(""), 400, "BAD_REQUEST", None),
        (post("{}"), 400, "MISSING_CODE", None),
        (post(r#"{"code":""}"#), 400, "MISSING_CODE", None),
        (post(r#"{"code":42}"#), 400, "BAD_REQUEST", None),
        (
            post(r#"{"code":"err-40029"}"#),
            401,
            "WX_API_ERROR",
            Some(40029),
        ),
        (
            post(r#"{"code":"err-40163"}"#),
            401,
            "WX_API_ERROR",
            Some(40163),
        ),
        (
            post(r#"{"code":"err-40226"}"#),
            401,
            "WX_API_ERROR",
            Some(40226),
        ),
        (
            post(r#"{"code":"err-45011"}"#),
            429,
            "WX_API_ERROR",
            Some(45011),
        ),
        (post(r#"{"code":"err--1"}"#), 502, "WX_API_ERROR", Some(-1)),
        (
            post(r#"{"code":"http-500"}"#),
            502,
            "WX_API_UNREACHABLE",
            None,
        ),
        (post(r#"{"code":"html"}"#), 502, "WX_API_BAD_RESPONSE", None),
        (
            post(r#"{"code":"empty"}"#),
            502,
            "WX_API_BAD_RESPONSE",
            None,
        ),
        (
            post(r#"{"code":"no-openid"}"#),
            502,
            "WX_API_BAD_RESPONSE",
            None,
        ),
        (
            with_content_type(post(r#"{"code":"x"}"#), "text/plain"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
        ),
        (
            post(&format!(r#"{{"code":"{}"}}"#, "x".repeat(7 * 1024 * 1024))),
            413,
            "PAYLOAD_TOO_LARGE",
            None,
        ),
    ];
    for (event, status, error, errcode) in rows {
        let outcome = rt.invoke(&event).await;
        let (got_status, headers, body) = http_parts(&outcome);
        assert_eq!(
            (got_status, body["error"].as_str()),
            (status, Some(error)),
            "{event}: {body}"
        );
        assert_eq!(body["errcode"].as_i64(), errcode, "{body}");
        assert_eq!(
            headers["Content-Type"],
            json!("application/json; charset=utf-8")
        );
        assert_eq!(
            headers.get("Retry-After").and_then(Value::as_str),
            (status == 429).then_some("60")
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Same errors through callFunction: a result object on /response, not an invocation error.
    let body = response_json(&rt.invoke(&call("err-40029")).await);
    assert_eq!(
        (body["error"].as_str(), body["errcode"].as_i64()),
        (Some("WX_API_ERROR"), Some(40029))
    );
    assert!(body["errmsg"].as_str().unwrap().contains("invalid code"));
    let body = response_json(&rt.invoke(&call_function(json!({}), Some("o"), None)).await);
    assert_eq!(body["error"], json!("MISSING_CODE"));
    let body = response_json(&rt.invoke(&json!([1, 2])).await);
    assert_eq!(body["error"], json!("BAD_REQUEST"));
    // -1 is retried exactly once.
    assert_eq!(fx.mock.calls("err--1"), 2);
    assert_eq!(
        fx.mock.calls("err-40029"),
        1,
        "a final error is cached, not asked again"
    );
    let (_, logs) = rt.stop().await;
    assert_clean_logs(&fx, &logs, &[]);
    assert!(logs.contains("retrying once"), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn busy_once_is_retried_and_succeeds() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let body = response_json(&rt.invoke(&call("busy-once.1")).await);
    assert_eq!(body["openid"], json!(openid_for(APPID, "busy-once.1")));
    assert_eq!(fx.mock.calls("busy-once.1"), 2);
    rt.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_code_gets_the_first_answer_without_a_second_wechat_call() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let dave = openid_for(APPID, "dave.1");
    let as_dave = |code: &str| call_function(json!({ "code": code }), Some(&dave), Some(APPID));
    let first = response_json(&rt.invoke(&as_dave("dave.1")).await);
    let (status, _, second) = http_parts(&rt.invoke(&post(r#"{"code":"dave.1"}"#)).await);
    assert_eq!(status, 200, "{second}");
    assert_eq!(first, second, "the first result, ticket included");
    // A verified caller who is not the code's user gets no ticket from the replay.
    let stolen = response_json(
        &rt.invoke(&call_function(
            json!({"code": "dave.1"}),
            Some("oMallory"),
            Some(APPID),
        ))
        .await,
    );
    assert_eq!(stolen["error"], json!("CODE_USER_MISMATCH"), "{stolen}");
    assert!(stolen.get("ticket").is_none());
    // Nor from a fresh code of someone else.
    let fresh = response_json(
        &rt.invoke(&call_function(
            json!({"code": "erin.1"}),
            Some("oMallory"),
            Some(APPID),
        ))
        .await,
    );
    assert_eq!(fresh["error"], json!("CODE_USER_MISMATCH"), "{fresh}");
    assert!(
        fx.key
            .inspect(
                second["ticket"].as_str().unwrap(),
                wxlogin::ticket::now_ms()
            )
            .ok()
    );
    assert_eq!(
        fx.mock.calls("dave.1"),
        1,
        "jscode2session must be called once"
    );
    rt.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn wechat_unreachable_or_slow_answers_before_the_deadline() {
    let fx = LoginFixture::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WECHAT_API_BASE");
    env.push(("WECHAT_API_BASE".into(), format!("http://127.0.0.1:{port}")));
    let rt = start(bin(), &env, 3000).await;
    let (status, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"eve.1"}"#)).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("WX_API_UNREACHABLE"))
    );
    let (_, logs) = rt.stop().await;
    assert_clean_logs(&fx, &logs, &[]);

    // WeChat slower than the whole invocation: a 502 before SCF's exec timeout, and the instance lives on.
    let rt = start(bin(), &fx.env(), 1500).await;
    let t = Instant::now();
    let outcome = rt.invoke(&post(r#"{"code":"slow-5000.1"}"#)).await;
    assert!(
        !matches!(outcome, Outcome::Timeout),
        "killed by the exec timeout"
    );
    let (status, _, body) = http_parts(&outcome);
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("WX_API_UNREACHABLE")),
        "{body}"
    );
    assert!(t.elapsed() < Duration::from_millis(1500));
    let body = response_json(&rt.invoke(&call("frank.1")).await);
    assert!(body["ticket"].is_string(), "{body}");
    rt.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn misconfiguration_is_a_500_naming_the_setting() {
    let fx = LoginFixture::new().await;
    for (drop_key, setting) in [
        ("WX_SECRET", "WX_SECRET"),
        ("WX_APPID", "WX_APPID"),
        ("TCB_CUSTOM_LOGIN_KEY_FILE", "TCB_CUSTOM_LOGIN_KEY"),
    ] {
        let mut env = fx.env();
        env.retain(|(k, _)| k != drop_key);
        let rt = start(bin(), &env, 3000).await;
        let (status, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"gina.1"}"#)).await);
        assert_eq!(
            (status, body["error"].as_str()),
            (500, Some("MISCONFIGURED")),
            "{body}"
        );
        assert!(
            body["message"].as_str().unwrap().starts_with(setting),
            "{body}"
        );
        assert!(!body.to_string().contains(SECRET));
        let call_body = response_json(&rt.invoke(&call("gina.2")).await);
        assert_eq!(call_body["error"], json!("MISCONFIGURED"));
        let (_, logs) = rt.stop().await;
        assert_clean_logs(&fx, &logs, &[]);
        assert!(logs.contains("misconfigured"), "{logs}");
    }
    // WeChat rejects the AppSecret: a 500, the settings are wrong.
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WX_SECRET");
    env.push(("WX_SECRET".into(), "wrong-secret".into()));
    let rt = start(bin(), &env, 3000).await;
    let (status, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"ivan.1"}"#)).await);
    assert_eq!(
        (status, body["errcode"].as_i64()),
        (500, Some(40125)),
        "{body}"
    );
    rt.shutdown().await;
    // env_id mismatch.
    let mut env = fx.env();
    env.retain(|(k, _)| k != "TCB_ENV");
    env.push(("TCB_ENV".into(), "another-env".into()));
    let rt = start(bin(), &env, 3000).await;
    let body = response_json(&rt.invoke(&call("hank.1")).await);
    assert_eq!(body["error"], json!("MISCONFIGURED"));
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("TCB_ENV")
            && !message.contains("another-env")
            && !message.contains(ENV),
        "{body}"
    );
    let (_, logs) = rt.stop().await;
    assert!(
        logs.contains("another-env"),
        "the detail belongs in the log: {logs}"
    );
    assert_eq!(
        fx.mock.total_calls(),
        1,
        "no WeChat call while misconfigured (one for the wrong secret)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_during_an_invocation_finishes_it_then_exits_0() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let event = call("slow-400.1");
    let invoke = rt.invoke(&event);
    let term = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        rt.sigterm();
    };
    let (outcome, ()) = tokio::join!(invoke, term);
    assert!(response_json(&outcome)["ticket"].is_string());
    let (status, logs) = rt.stop().await;
    assert_eq!(status.as_deref(), Some("exit status: 0"));
    assert!(logs.contains("SIGTERM received"), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn init_timeout_kills_a_bootstrap_that_never_gets_ready() {
    // A bootstrap that never calls /runtime/init/ready.
    let script = wxlogin_devtools::testkit::script_bootstrap("never-ready", "exec sleep 30");
    let sleep = script.as_path();
    let cfg = wxlogin_devtools::emulator::EmulatorConfig {
        init_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let t = Instant::now();
    let err = match wxlogin_devtools::emulator::Runner::start(sleep, &[], cfg, false).await {
        Err(e) => e,
        Ok(_) => panic!("sleep got ready?"),
    };
    assert!(err.reason.contains("init timeout"), "{}", err.reason);
    assert!(t.elapsed() < Duration::from_secs(3));
    std::fs::remove_dir_all(script.parent().unwrap()).unwrap();
    // And a bootstrap that exits at once is an init failure too.
    let err = try_start(Path::new("/bin/false"), &[], 1000)
        .await
        .err()
        .unwrap();
    assert!(err.reason.contains("exited before ready"), "{}", err.reason);
}
