//! getLoginTicket, as a real bootstrap on the emulator against the mock WeChat.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use scf_emulator::events::{call_function, http_access};
use serde_json::{Value, json};
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
    let report = fx.key.inspect(ticket, wxlogin::now_ms());
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
        headers["content-type"],
        json!("application/json; charset=utf-8")
    );
    assert!(
        fx.key
            .inspect(body["ticket"].as_str().unwrap(), wxlogin::now_ms())
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

#[tokio::test(flavor = "current_thread")]
async fn a_retried_code_gets_the_first_answer_without_a_second_wechat_call() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let dave = openid_for(APPID, "dave.1");
    let as_dave = |code: &str| call_function(json!({ "code": code }), Some(&dave), Some(APPID));
    let first = response_json(&rt.invoke(&as_dave("dave.1")).await);
    // The code's own user, vouched for by the platform, gets the first result again.
    let second = response_json(&rt.invoke(&as_dave("dave.1")).await);
    assert_eq!(first, second, "the first result, ticket included");
    // Over HTTP nobody vouches for the caller, and the first request sent no idempotency key:
    // the replay is answered as WeChat answers a used code.
    let (status, _, http) = http_parts(&rt.invoke(&post(r#"{"code":"dave.1"}"#)).await);
    assert_eq!(
        (status, &http["error"], &http["errcode"]),
        (401, &json!("WX_API_ERROR"), &json!(40163)),
        "{http}"
    );
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
            .inspect(second["ticket"].as_str().unwrap(), wxlogin::now_ms())
            .ok()
    );
    assert_eq!(
        fx.mock.calls("dave.1"),
        1,
        "jscode2session must be called once"
    );
    rt.shutdown().await;
}

const KEY: &str = "attempt-7f3a9c1e5b2d4f60";

/// An HTTP event with headers of our choosing.
fn post_with(body: &str, headers: &[(&str, &str)]) -> Value {
    let mut ev = post(body);
    for (k, v) in headers {
        ev["headers"][*k] = json!(v);
    }
    ev
}

/// A replayed code over HTTP gets the first ticket only with the first request's idempotency
/// key, from the header or the body field; anyone else gets 401 40163, as from WeChat.
/// (Before the idempotency key, every replay got the ticket: a 5-minute bearer credential.)
#[tokio::test(flavor = "current_thread")]
async fn http_replays_need_the_first_requests_idempotency_key() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let body = r#"{"code":"gina.1"}"#;
    let (status, _, first) = http_parts(
        &rt.invoke(&post_with(body, &[("Idempotency-Key", KEY)]))
            .await,
    );
    assert_eq!(status, 200, "{first}");
    let used = |(status, _, b): (u16, Value, Value)| {
        assert_eq!(
            (status, &b["error"], &b["errcode"]),
            (401, &json!("WX_API_ERROR"), &json!(40163)),
            "{b}"
        );
        assert!(b.get("ticket").is_none());
    };
    used(http_parts(&rt.invoke(&post(body)).await));
    used(http_parts(
        &rt.invoke(&post_with(
            body,
            &[("Idempotency-Key", "another-attempt-0123456789")],
        ))
        .await,
    ));
    // The same attempt, retried: the first ticket, by header or by body field.
    for ev in [
        post_with(body, &[("idempotency-key", KEY)]),
        post(&json!({"code": "gina.1", "idempotencyKey": KEY}).to_string()),
    ] {
        let (status, _, again) = http_parts(&rt.invoke(&ev).await);
        assert_eq!((status, &again), (200, &first));
    }
    // The code's own user through callFunction keeps the caller binding, key or not.
    assert_eq!(response_json(&rt.invoke(&call("gina.1")).await), first);
    // A bad key is a 400, not a silent replay.
    let (status, _, b) = http_parts(
        &rt.invoke(&post_with(body, &[("Idempotency-Key", "1")]))
            .await,
    );
    assert_eq!((status, &b["error"]), (400, &json!("BAD_REQUEST")), "{b}");
    assert_eq!(fx.mock.calls("gina.1"), 1, "jscode2session once");
    rt.shutdown().await;
}

/// The kind of event is not the client's to choose: callFunction data dressed as an HTTP event is
/// still a callFunction, so the platform's userInfo is trusted and the code/caller check applies.
/// (Before: classified as HTTP, userInfo ignored, alice's ticket to oAttacker.)
#[tokio::test(flavor = "current_thread")]
async fn call_function_data_dressed_as_http_is_still_checked_against_the_caller() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let dressed = |extra: Value| {
        let mut data = json!({
            "httpMethod": "POST",
            "path": "/",
            "headers": {"content-type": "application/json"},
            "requestContext": {"envId": ENV},
            "body": "{\"code\":\"alice.9\"}",
            "isBase64Encoded": false,
        });
        data.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        call_function(data, Some("oAttacker"), Some(APPID))
    };
    let out = response_json(&rt.invoke(&dressed(json!({}))).await);
    assert_eq!(out["error"], json!("MISSING_CODE"), "{out}");
    let out = response_json(&rt.invoke(&dressed(json!({"code": "alice.9"}))).await);
    assert_eq!(out["error"], json!("CODE_USER_MISMATCH"), "{out}");
    assert!(
        out.get("ticket").is_none() && out.get("body").is_none(),
        "{out}"
    );
    rt.shutdown().await;
}

/// A code that jscode2session accepts was issued to a user of WX_APPID: a caller the platform
/// vouches for in another mini program cannot be its user. (Before: the check was skipped.)
#[tokio::test(flavor = "current_thread")]
async fn a_caller_of_another_app_gets_code_user_mismatch() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let openid = openid_for(APPID, "hank.1");
    for (code, appid) in [("hank.1", "wxOtherApp000001"), ("hank.2", "")] {
        let out = response_json(
            &rt.invoke(&call_function(
                json!({"code": code}),
                Some(&openid),
                Some(appid),
            ))
            .await,
        );
        if appid.is_empty() {
            // No appid from the platform: the openid check alone applies, and it is hank.
            assert_eq!(out["openid"], json!(openid), "{out}");
        } else {
            assert_eq!(out["error"], json!("CODE_USER_MISMATCH"), "{out}");
        }
    }
    rt.shutdown().await;
}

/// Settings WeChat refuses, and the detail that only the log gets. (The full key and
/// configuration fault matrix is in `shared/devtools/tests/hardening.rs`.)
#[tokio::test(flavor = "current_thread")]
async fn wrong_secret_is_a_500_and_details_stay_in_the_log() {
    let fx = LoginFixture::new().await;
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WX_SECRET");
    env.push(("WX_SECRET".into(), "wrong-secret".into()));
    let rt = start(bin(), &env, 3000).await;
    let (status, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"ivan.1"}"#)).await);
    assert_eq!(
        (status, body["error"].as_str(), body["errcode"].as_i64()),
        (500, Some("WX_API_ERROR"), Some(40125)),
        "{body}"
    );
    rt.shutdown().await;
    let mut env = fx.env();
    env.retain(|(k, _)| k != "TCB_ENV");
    env.push(("TCB_ENV".into(), "another-env".into()));
    let rt = start(bin(), &env, 3000).await;
    let body = response_json(&rt.invoke(&call("hank.1")).await);
    assert_eq!(body["error"], json!("MISCONFIGURED"));
    let (_, logs) = rt.stop().await;
    assert!(
        logs.contains("another-env") && logs.contains(ENV),
        "the detail belongs in the log: {logs}"
    );
    assert_clean_logs(&fx, &logs, &[]);
}

/// A final WeChat error is answered again from the cache, with WeChat's errmsg, as a result
/// object for callFunction.
#[tokio::test(flavor = "current_thread")]
async fn final_errors_carry_errmsg_and_are_not_asked_again() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    for _ in 0..2 {
        let body = response_json(&rt.invoke(&call("err-40029")).await);
        assert_eq!(
            (body["error"].as_str(), body["errcode"].as_i64()),
            (Some("WX_API_ERROR"), Some(40029))
        );
        assert!(body["errmsg"].as_str().unwrap().contains("invalid code"));
    }
    assert_eq!(fx.mock.calls("err-40029"), 1);
    let (_, logs) = rt.stop().await;
    assert_clean_logs(&fx, &logs, &[]);
}

#[tokio::test(flavor = "current_thread")]
async fn init_timeout_kills_a_bootstrap_that_never_gets_ready() {
    // A bootstrap that never calls /runtime/init/ready.
    let script = wxlogin_devtools::testkit::script_bootstrap("never-ready", "exec sleep 30");
    let sleep = script.as_path();
    let cfg = scf_emulator::emulator::EmulatorConfig {
        init_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let t = Instant::now();
    let err = match scf_emulator::emulator::Runner::start(sleep, &[], cfg, false).await {
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

/// HTTP input as people send it: `curl -d '{...}'` (JSON labelled as a form), `fetch` with a
/// string body (`text/plain`), a real form, and an event whose body is a JSON object. (Before:
/// 415, 415, 415 and 400 "body is empty".)
#[tokio::test(flavor = "current_thread")]
async fn http_bodies_as_people_send_them() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let form = "application/x-www-form-urlencoded";
    let mut object_body = post("");
    object_body["body"] = json!({"code": "ivy.4"});
    for (code, event) in [
        (
            "ivy.1",
            post_with(r#"{"code":"ivy.1"}"#, &[("content-type", form)]),
        ),
        (
            "ivy.2",
            post_with(
                r#"{"code":"ivy.2"}"#,
                &[("content-type", "text/plain;charset=UTF-8")],
            ),
        ),
        ("ivy.3", post_with("code=ivy.3", &[("content-type", form)])),
        ("ivy.4", object_body),
    ] {
        let (status, _, body) = http_parts(&rt.invoke(&event).await);
        assert_eq!(
            (status, &body["openid"]),
            (200, &json!(openid_for(APPID, code))),
            "{code}: {body}"
        );
    }
    rt.shutdown().await;
}
