//! The probe function (`functions/probe`, docs/probe.md) as a real binary: in event mode on the
//! emulator (a callFunction with `userInfo` and an `environ` header, and an HTTP event), and in
//! web mode over HTTP. Every value it is given (ids, tokens, secrets, environment variables) holds
//! `SENTINEL`: the answers must name keys and give lengths, and neither an answer nor a log line
//! may hold any sentinel, nor the caller's marker. The key set is a local port: closed (the error
//! kind is reported) or a tiny server with two keys. 127.0.0.1 only.

use std::io::Write as _;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use wxlogin_devtools::testkit::{WebProcess, function_bin, http_parts, response_json, start};

const LIMIT_MS: u64 = 3000;
/// `STDOUT_LINE` and `STDERR_LINE` (the function crate is not a dependency here).
const STDOUT_LINE: &str = "PROBE-STDOUT-LINE: stdout is collected";
const STDERR_LINE: &str = "PROBE-STDERR-LINE: stderr is collected";

fn b64url(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT-shaped token (the signature is junk: the probe only reads shapes).
fn jwt(tag: &str) -> String {
    let header = json!({"alg": "RS256", "kid": format!("SENTINEL-kid-{tag}"), "typ": "JWT"});
    let claims = json!({
        "sub": format!("SENTINEL-uid-{tag}"), "iss": format!("SENTINEL-iss-{tag}"),
        "exp": 1_763_700_000, "iat": 1_763_699_000, "scope": "SENTINEL-scope",
    });
    format!("{}.{}.SENTINEL-sig", b64url(&header), b64url(&claims))
}

/// A forged `X-Cloudbase-Context`: base64(gzip(JSON)) with an access token, temporary secrets,
/// a `wechatContext` and `meta`, and the caller's marker in a value.
fn cloudbase_context(marker: &str) -> String {
    let ctx = json!({
        "uid": "SENTINEL-uid-ctx",
        "accessToken": jwt("ctx"),
        "tmpSecret": {"secretId": "SENTINEL-sid", "secretKey": "SENTINEL-secret-key", "token": "SENTINEL-tmp-token"},
        "wechatContext": {"openId": format!("SENTINEL-openid-{marker}"), "appId": "SENTINEL-appid", "unionId": "SENTINEL-unionid"},
        "meta": {"envId": "SENTINEL-env", "requestId": "SENTINEL-req", "region": "SENTINEL-region"},
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(ctx.to_string().as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
}

fn headers(marker: &str) -> Vec<(String, String)> {
    vec![
        ("X-Cloudbase-Context".into(), cloudbase_context(marker)),
        ("Authorization".into(), format!("Bearer {}", jwt("bearer"))),
        ("x-wx-openid".into(), format!("SENTINEL-openid-{marker}")),
        ("x-probe-marker".into(), marker.into()),
        ("x-custom".into(), "SENTINEL-custom".into()),
    ]
}

/// The process environment: secrets and ids, sentinels but for the env id, which the runtime
/// logs at start by design (README "Configuration": env ids go to the function's log).
fn env(jwks_url: &str) -> Vec<(String, String)> {
    [
        ("WX_SECRET", "SENTINEL-secret-wx"),
        ("WX_APPID", "SENTINEL-appid-env"),
        ("TCB_ENV", "probe-env-1"),
        ("TCB_CUSTOM_LOGIN_KEY", "SENTINEL-key"),
        ("TCB_JWKS_URL", jwks_url),
        // the Caller extractor's fallback, away from the real gateway (there is no network here).
        (
            "TCB_INTROSPECT_URL",
            "http://127.0.0.1:9/auth/v1/token/introspect",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
    // dropped here: nothing listens on it any more
}

/// A key-set server on 127.0.0.1 that answers `{"keys": [two keys]}` to at most 4 requests.
async fn jwks_server() -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(20), l.accept()).await
            else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
            let body =
                r#"{"keys":[{"kid":"SENTINEL-k1","kty":"RSA"},{"kid":"SENTINEL-k2","kty":"RSA"}]}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    port
}

/// No sentinel and no marker anywhere in `text`.
fn assert_clean(what: &str, text: &str, marker: &str) {
    assert!(
        !text.contains("SENTINEL"),
        "a value leaked in {what}:\n{text}"
    );
    assert!(
        !text.contains(marker),
        "the marker leaked in {what}:\n{text}"
    );
}

/// What an HTTP request's report must say, in either mode. (`SENTINEL-openid-MARK-` and 16 hex
/// digits: 37 characters.)
fn assert_http_report(r: &Value) {
    assert_eq!(r["event"]["kind"], "http", "{r}");
    let names = r["event"]["headerNames"].as_array().unwrap();
    for h in [
        "authorization",
        "x-cloudbase-context",
        "x-custom",
        "x-wx-openid",
    ] {
        assert!(names.contains(&json!(h)), "{h}: {r}");
    }
    let copy = &r["cloudbaseContext"]["copies"][0];
    assert_eq!(copy["keys"]["uid"], "present, 16 characters", "{r}");
    assert_eq!(copy["keys"]["accessToken"], "string");
    assert_eq!(copy["keys"]["tmpSecret"]["secretKey"], "string");
    assert_eq!(
        copy["keys"]["wechatContext"]["openId"],
        "present, 37 characters"
    );
    assert_eq!(copy["keys"]["meta"]["envId"], "present, 12 characters");
    assert!(copy["keys"]["meta"]["region"].is_string());
    for token in [&copy["accessTokenJwt"], &r["authorization"]["jwt"]] {
        assert_eq!(token["alg"], "RS256", "{r}");
        assert_eq!(token["kid"], "present");
        assert_eq!(token["claims"]["exp"], "number, 10 digits");
        assert!(
            token["claims"]["sub"]
                .as_str()
                .unwrap()
                .starts_with("present, ")
        );
        assert_eq!(token["claims"]["scope"], "string");
    }
    assert_eq!(r["x-wx-openid"], "present, 37 characters");
    // The sentinel tokens are no CloudBase tokens: the caller is refused, with a reason.
    assert!(r["caller"]["error"].is_string(), "{r}");
    assert_eq!(
        r["marker"],
        json!({"inCloudbaseContext": true, "inXWxOpenid": true, "inOtherHeaders": []}),
        "{r}"
    );
    let env = r["envNames"].as_array().unwrap();
    for name in [
        "WX_SECRET",
        "TCB_ENV",
        "TCB_JWKS_URL",
        "TCB_CUSTOM_LOGIN_KEY",
    ] {
        assert!(env.contains(&json!(name)), "{name}: {r}");
    }
    assert_eq!(r["folders"]["writable"]["/tmp"], true, "{r}");
    assert!(r["caBundles"].is_object());
    assert_eq!(r["logs"]["stderr"], STDERR_LINE);
}

#[tokio::test(flavor = "current_thread")]
async fn event_mode_reports_names_and_lengths_only() {
    let marker = format!("MARK-{:016x}", rand::random::<u64>());
    let jwks_url = format!("http://127.0.0.1:{}/auth/v1/certs", closed_port());
    let rt = start(&function_bin("probe"), &env(&jwks_url), LIMIT_MS).await;
    let mut answers = Vec::new();

    // A callFunction the platform vouches for twice: userInfo and an environ header.
    let event = json!({
        "jwks": true, "note": "SENTINEL-data",
        "userInfo": {"openId": "SENTINEL-openid-call", "appId": "SENTINEL-appid"},
    });
    let environ = "WX_OPENID=SENTINEL-openid-call;WX_APPID=SENTINEL-appid;WX_UNIONID=SENTINEL-unionid;WX_API_TOKEN=SENTINEL-token";
    let o = rt
        .invoke_raw(
            event.to_string().into_bytes(),
            vec![("environ".into(), environ.into())],
        )
        .await;
    let r = response_json(&o);
    answers.push(r.to_string());
    assert_eq!(r["mode"], "event", "{r}");
    let next = r["next"]["headerNames"].as_array().unwrap();
    for h in ["environ", "request_id", "time_limit_in_ms"] {
        assert!(next.contains(&json!(h)), "{h}: {r}");
    }
    assert_eq!(
        r["contextHeader"]["keys"],
        json!(["WX_API_TOKEN", "WX_APPID", "WX_OPENID", "WX_UNIONID"])
    );
    assert_eq!(r["event"]["kind"], "call");
    assert_eq!(
        r["event"]["topLevelKeys"],
        json!(["jwks", "note", "userInfo"])
    );
    assert_eq!(r["event"]["userInfoKeys"], json!(["appId", "openId"]));
    assert_eq!(r["identity"]["channel"], "contextHeader");
    assert_eq!(r["identity"]["openid"], "present, 20 characters");
    assert_eq!(r["identity"]["unionid"], "present, 16 characters");
    assert_eq!(r["limits"]["timeLimitMs"], LIMIT_MS);
    assert_eq!(r["jwks"]["source"], "TCB_JWKS_URL", "{r}");
    assert_eq!(r["jwks"]["error"], "cannot connect", "{r}");
    assert_eq!(
        r["marker"]
            .as_str()
            .map(|s| s.starts_with("not applicable")),
        Some(true)
    );

    // An HTTP access event with the forged headers.
    let http = json!({
        "httpMethod": "POST", "path": "/probe",
        "headers": headers(&marker).into_iter().map(|(k, v)| (k, json!(v))).collect::<serde_json::Map<String, Value>>(),
        "multiValueHeaders": {},
        "queryStringParameters": {"q": "SENTINEL-q"},
        "requestContext": {"requestId": "SENTINEL-req", "envId": "SENTINEL-env", "appId": 1250000000, "uin": "SENTINEL-uin"},
        "body": r#"{"x":"SENTINEL-body"}"#, "isBase64Encoded": false,
    });
    let o = rt.invoke(&http).await;
    let (status, _, r) = http_parts(&o);
    answers.push(r.to_string());
    assert_eq!(status, 200, "{r}");
    assert_http_report(&r);
    assert!(
        r["event"]["topLevelKeys"]
            .as_array()
            .unwrap()
            .contains(&json!("multiValueHeaders"))
    );
    assert_eq!(
        r["event"]["requestContext"]["uin"],
        "present, 12 characters"
    );
    assert_eq!(r["event"]["requestContext"]["appId"], "number, 10 digits");
    assert_eq!(r["event"]["queryNames"], json!(["q"]));
    assert!(r["jwks"].as_str().unwrap().starts_with("not checked"));

    // Not an object: a structured error, not a report.
    let r = response_json(&rt.invoke(&json!([1])).await);
    assert_eq!(r["error"], "BAD_REQUEST", "{r}");

    let (status, logs) = rt.stop().await;
    assert_eq!(status.as_deref(), Some("exit status: 0"), "{logs}");
    assert!(logs.contains(STDOUT_LINE), "{logs}");
    assert!(logs.contains(STDERR_LINE), "{logs}");
    assert_clean("the logs", &logs, &marker);
    for a in &answers {
        assert_clean("an answer", a, &marker);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn web_mode_reports_names_and_lengths_only() {
    let marker = format!("MARK-{:016x}", rand::random::<u64>());
    let jwks_url = format!("http://127.0.0.1:{}/auth/v1/certs", jwks_server().await);
    let web = WebProcess::start(&function_bin("probe"), &env(&jwks_url)).await;
    let owned = headers(&marker);
    let mut sent: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sent.push(("X-Scf-Timeout", "3000"));
    sent.push(("X-Scf-Memory", "128"));
    let (status, _, body) = web.request("GET", "/probe?jwks=1", &sent, b"").await;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{text}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["mode"], "web", "{r}");
    assert!(r["next"].as_str().unwrap().starts_with("not applicable"));
    assert_http_report(&r);
    assert!(
        r["event"]["headerNames"]
            .as_array()
            .unwrap()
            .contains(&json!("x-scf-timeout"))
    );
    assert_eq!(r["limits"]["timeLimitMs"], 3000);
    assert_eq!(r["limits"]["memoryLimitInMb"], 128);
    assert_eq!(
        r["jwks"],
        json!({"source": "TCB_JWKS_URL", "status": 200, "keys": 2}),
        "{r}"
    );
    // Without the marker header the report says how to send one.
    let (_, _, body) = web.request("GET", "/probe", &[], b"").await;
    let r2: Value = serde_json::from_slice(&body).unwrap();
    assert!(r2["marker"].as_str().unwrap().starts_with("no marker sent"));
    let (status, logs) = web.stop().await;
    assert_eq!(status, "exit status: 0", "{logs}");
    assert!(logs.contains(STDERR_LINE), "{logs}");
    assert_clean("the logs", &logs, &marker);
    assert_clean("the answer", &text, &marker);
}
