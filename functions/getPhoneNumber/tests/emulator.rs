//! getPhoneNumber as a real bootstrap on the local SCF runtime-API emulator, against the mock
//! WeChat (`stable_token`, `getuserphonenumber`): the answer, the fault rows of
//! docs/failure-behaviour.md, the shared access_token, and what the logs may hold.

use std::path::Path;

use scf_emulator::events::{call_function, http_access};
use serde_json::{Value, json};
use wxlogin_devtools::mock_wechat::{ACCESS_TOKEN_MARKER, MOCK_PHONE};
use wxlogin_devtools::testkit::{
    APPID, ENV, LoginFixture, SECRET, WebProcess, http_parts, response_json, start, web_request,
};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_getPhoneNumber"))
}

fn call(code: &str) -> Value {
    call_function(json!({ "code": code }), Some("oCaller1"), Some(APPID))
}

fn post(body: &str) -> Value {
    http_access("POST", "/phone", Some(body), ENV)
}

/// No secret, no token, no unmasked phone number in the logs.
fn assert_clean_logs(logs: &str) {
    for needle in [SECRET, ACCESS_TOKEN_MARKER, MOCK_PHONE] {
        assert!(!logs.contains(needle), "logs leak {needle:?}:\n{logs}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn phone_numbers_on_one_shared_token() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let body = response_json(&rt.invoke(&call("phone.1")).await);
    assert_eq!(
        body,
        json!({"phoneNumber": MOCK_PHONE, "purePhoneNumber": MOCK_PHONE, "countryCode": "86"})
    );
    // Over HTTP, JSON or a form.
    let (status, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"phone.2"}"#)).await);
    assert_eq!(
        (status, body["countryCode"].clone()),
        (200, json!("86")),
        "{body}"
    );
    for i in 3..6 {
        let body = response_json(&rt.invoke(&call(&format!("phone.{i}"))).await);
        assert_eq!(body["purePhoneNumber"], json!(MOCK_PHONE), "{body}");
    }
    assert_eq!(fx.mock.token_fetches(), 1, "a warm instance fetches once");
    // The token expiring in the middle of a run: one refetch.
    fx.mock.expire_token();
    let body = response_json(&rt.invoke(&call("phone.6")).await);
    assert_eq!(body["purePhoneNumber"], json!(MOCK_PHONE), "{body}");
    let body = response_json(&rt.invoke(&call("token-expired-once.1")).await);
    assert_eq!(body["purePhoneNumber"], json!(MOCK_PHONE), "{body}");
    assert_eq!(
        (fx.mock.token_fetches(), fx.mock.forced_refreshes()),
        (3, 0)
    );
    // A refetch that hands back the rejected token: one forced refresh.
    fx.mock.set_token_fault("same-token-once");
    let body = response_json(&rt.invoke(&call("token-expired-once.2")).await);
    assert_eq!(body["purePhoneNumber"], json!(MOCK_PHONE), "{body}");
    assert_eq!(
        (fx.mock.token_fetches(), fx.mock.forced_refreshes()),
        (5, 1)
    );
    let (_, logs) = rt.stop().await;
    assert!(
        logs.contains("oCaller1"),
        "the verified caller is logged:\n{logs}"
    );
    assert!(logs.contains("138****8000"), "{logs}");
    assert_clean_logs(&logs);
}

#[tokio::test(flavor = "current_thread")]
async fn phone_fault_rows() {
    let fx = LoginFixture::new().await;
    let rt = start(bin(), &fx.env(), 3000).await;
    let (status, headers, body) = http_parts(&rt.invoke(&post(r#"{"code":"err-45011"}"#)).await);
    assert_eq!(
        (status, body["error"].clone(), body["errcode"].clone()),
        (429, json!("WX_API_ERROR"), json!(45011))
    );
    assert_eq!(headers["retry-after"], json!("60"), "{headers}");
    for (code, status, error, errcode) in [
        ("err-40029", 401, "WX_API_ERROR", json!(40029)),
        ("phone.1", 200, "", Value::Null),
        ("phone.1", 401, "WX_API_ERROR", json!(40029)),
        ("err--1", 502, "WX_API_ERROR", json!(-1)),
        ("other-appid.1", 502, "WX_API_BAD_RESPONSE", Value::Null),
    ] {
        let (got, _, body) =
            http_parts(&rt.invoke(&post(&format!(r#"{{"code":"{code}"}}"#))).await);
        assert_eq!(got, status, "{code}: {body}");
        if status != 200 {
            assert_eq!(
                (body["error"].as_str(), body["errcode"].clone()),
                (Some(error), errcode),
                "{code}: {body}"
            );
        }
    }
    assert_eq!(fx.mock.phone_calls("err--1"), 2, "-1 is retried once");
    for (input, error) in [
        (json!({}), "MISSING_CODE"),
        (json!({"code": 5}), "BAD_REQUEST"),
        (json!({"code": "a b"}), "BAD_REQUEST"),
    ] {
        let body = response_json(&rt.invoke(&call_function(input, None, None)).await);
        assert_eq!(body["error"], json!(error), "{body}");
    }
    let (status, _, body) = http_parts(&rt.invoke(&http_access("GET", "/", None, ENV)).await);
    assert_eq!(
        (status, body["error"].clone()),
        (405, json!("METHOD_NOT_ALLOWED"))
    );
    let (_, logs) = rt.stop().await;
    assert_clean_logs(&logs);
}

#[tokio::test(flavor = "current_thread")]
async fn token_fault_rows() {
    for (fault, status, error, errcode, fetches) in [
        ("err-45009", 429, "WX_API_ERROR", json!(45009), 1),
        ("err-40013", 500, "WX_API_ERROR", json!(40013), 1),
        ("err--1", 502, "WX_API_ERROR", json!(-1), 2),
        ("http-500", 502, "WX_API_UNREACHABLE", Value::Null, 2),
        ("html", 502, "WX_API_BAD_RESPONSE", Value::Null, 1),
        ("truncated", 502, "WX_API_BAD_RESPONSE", Value::Null, 1),
        ("slow-5000", 502, "WX_API_UNREACHABLE", Value::Null, 1),
    ] {
        let fx = LoginFixture::new().await;
        fx.mock.set_token_fault(fault);
        let rt = start(bin(), &fx.env(), 1000).await;
        let (got, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"phone.1"}"#)).await);
        assert_eq!(
            (got, body["error"].as_str(), body["errcode"].clone()),
            (status, Some(error), errcode),
            "{fault}: {body}"
        );
        assert_eq!(fx.mock.token_fetches(), fetches, "{fault}");
        assert_eq!(fx.mock.phone_calls("phone.1"), 0, "{fault}");
        let (_, logs) = rt.stop().await;
        assert_clean_logs(&logs);
    }
    // Refused: nothing listens at WECHAT_API_BASE.
    let fx = LoginFixture::new().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WECHAT_API_BASE");
    env.push(("WECHAT_API_BASE".into(), format!("http://127.0.0.1:{port}")));
    let rt = start(bin(), &env, 1000).await;
    let (got, _, body) = http_parts(&rt.invoke(&post(r#"{"code":"phone.1"}"#)).await);
    assert_eq!(
        (got, body["error"].clone()),
        (502, json!("WX_API_UNREACHABLE")),
        "{body}"
    );
    let (_, logs) = rt.stop().await;
    assert_clean_logs(&logs);
}

/// Web mode serves requests concurrently: on a cold instance they share one token fetch (the
/// mock's stable_token is slowed down so that they overlap).
#[tokio::test(flavor = "current_thread")]
async fn concurrent_web_requests_share_one_token_fetch() {
    let fx = LoginFixture::new().await;
    fx.mock.set_token_fault("slow-200");
    let web = WebProcess::start(bin(), &fx.env()).await;
    let port = web.port;
    let call = |i: usize| async move {
        let body = json!({ "code": format!("phone.web{i}") }).to_string();
        web_request(
            port,
            "POST",
            "/",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await
    };
    let answers = futures_util::future::join_all((0..8).map(call)).await;
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["purePhoneNumber"], json!(MOCK_PHONE));
    }
    assert_eq!(fx.mock.token_fetches(), 1);
    let (status, logs) = web.stop().await;
    assert_eq!(status, "exit status: 0", "{logs}");
    assert_clean_logs(&logs);
}
