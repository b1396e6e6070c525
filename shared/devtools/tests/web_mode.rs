//! Web mode (`--web`, CloudBase HTTP functions): the real binaries on a loopback port, driven
//! over HTTP: success, every HTTP error status, the 6 MB cap, the X-Scf-* headers, concurrency
//! (one jscode2session for the same code at once), identity, SIGTERM, and no secret in any log
//! or answer.

use std::time::Duration;

use scf_emulator::emulator::Outcome;
use serde_json::{Value, json};
use wxlogin_devtools::mock_wechat::openid_for;
use wxlogin_devtools::testkit::{
    APPID, ENV, LoginFixture, Sentinels, Transcript, WebProcess, function_bin,
};

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn json_body(b: &[u8]) -> Value {
    serde_json::from_slice(b)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(b)))
}

/// `(what, method, headers, body, HTTP status, error)`.
type Row<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Vec<u8>,
    u16,
    &'a str,
);

/// Keep an HTTP answer in the transcript.
fn keep(t: &mut Transcript, what: &str, body: &[u8]) {
    t.outcome(what, &Outcome::Response(body.to_vec()));
}

#[tokio::test(flavor = "current_thread")]
async fn get_login_ticket_over_http_every_status() {
    let s = Sentinels::new();
    let fx = LoginFixture::with_sentinels(&s).await;
    let mut t = Transcript {
        pem_lines: fx.pem_lines(),
        ..Transcript::default()
    };
    let web = WebProcess::start(&function_bin("getLoginTicket"), &fx.env()).await;

    // Success, with the platform's request id and timeout headers.
    let (status, headers, body) = web
        .request(
            "POST",
            "/",
            &[
                JSON,
                ("X-Scf-Request-Id", "req-web-1"),
                ("X-Scf-Timeout", "3000"),
            ],
            br#"{"code":"webby.1"}"#,
        )
        .await;
    keep(&mut t, "success", &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    let ok = json_body(&body);
    assert_eq!(ok["openid"], json!(openid_for(APPID, "webby.1")));
    assert!(
        fx.key
            .inspect(ok["ticket"].as_str().unwrap(), wxlogin::now_ms())
            .ok()
    );

    let big = format!(r#"{{"code":"{}"}}"#, "x".repeat(6 * 1024 * 1024 + 1));
    let rows: Vec<Row> = vec![
        (
            "bad JSON",
            "POST",
            vec![JSON],
            b"{nope".to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "bad UTF-8",
            "POST",
            vec![JSON],
            b"{\"code\":\"\xff\"}".to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "no code",
            "POST",
            vec![JSON],
            b"{}".to_vec(),
            400,
            "MISSING_CODE",
        ),
        ("GET", "GET", vec![], vec![], 405, "METHOD_NOT_ALLOWED"),
        (
            "neither JSON nor a form",
            "POST",
            vec![("Content-Type", "text/plain")],
            b"code=x".to_vec(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "over 6 MB",
            "POST",
            vec![JSON],
            big.into_bytes(),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "40029",
            "POST",
            vec![JSON],
            br#"{"code":"err-40029"}"#.to_vec(),
            401,
            "WX_API_ERROR",
        ),
        (
            "45011",
            "POST",
            vec![JSON],
            br#"{"code":"err-45011"}"#.to_vec(),
            429,
            "WX_API_ERROR",
        ),
        (
            "WeChat 5xx",
            "POST",
            vec![JSON],
            br#"{"code":"http-500"}"#.to_vec(),
            502,
            "WX_API_UNREACHABLE",
        ),
        (
            "WeChat HTML",
            "POST",
            vec![JSON],
            br#"{"code":"html"}"#.to_vec(),
            502,
            "WX_API_BAD_RESPONSE",
        ),
    ];
    for (what, method, headers, body, want, error) in rows {
        let (status, h, b) = web.request(method, "/login", &headers, &body).await;
        keep(&mut t, what, &b);
        assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&b));
        assert_eq!(json_body(&b)["error"], json!(error), "{what}");
        assert_eq!(
            h.get("retry-after").map(String::as_str),
            (want == 429).then_some("60"),
            "{what}"
        );
        if want == 405 {
            assert_eq!(h["allow"], "POST");
        }
    }

    // X-Scf-Timeout is the deadline: WeChat slower than it gets a 502, not a hang.
    let (status, _, b) = web
        .request(
            "POST",
            "/",
            &[JSON, ("X-Scf-Timeout", "800")],
            br#"{"code":"slow-5000.w"}"#,
        )
        .await;
    keep(&mut t, "slow", &b);
    assert_eq!(
        (status, json_body(&b)["error"].clone()),
        (502, json!("WX_API_UNREACHABLE"))
    );

    let (status, logs) = web.stop().await;
    assert_eq!(status, "exit status: 0", "{logs}");
    assert!(
        logs.contains("req-web-1"),
        "the request id from X-Scf-Request-Id is logged: {logs}"
    );
    t.logs("getLoginTicket --web", logs);
    t.assert_no_leak(&s);

    // Misconfigured: 500 MISCONFIGURED over HTTP too, and the server stays up.
    let mut env = fx.env();
    env.retain(|(k, _)| k != "WX_SECRET");
    let web = WebProcess::start(&function_bin("getLoginTicket"), &env).await;
    for _ in 0..2 {
        let (status, _, b) = web
            .request("POST", "/", &[JSON], br#"{"code":"a.1"}"#)
            .await;
        assert_eq!(
            (status, json_body(&b)["error"].clone()),
            (500, json!("MISCONFIGURED"))
        );
    }
    assert_eq!(web.stop().await.0, "exit status: 0");
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_requests_and_one_exchange_per_code() {
    let fx = LoginFixture::new().await;
    let web = WebProcess::start(&function_bin("getLoginTicket"), &fx.env()).await;
    let port = web.port;
    // Every request of one login attempt carries that attempt's idempotency key.
    const KEY: (&str, &str) = ("Idempotency-Key", "attempt-0123456789abcdef");
    let call = |code: String| async move {
        let body = json!({ "code": code }).to_string();
        wxlogin_devtools::testkit::web_request(port, "POST", "/", &[JSON, KEY], body.as_bytes())
            .await
    };
    // Different codes at once, each slow enough to overlap the others.
    let answers =
        futures_util::future::join_all((0..12).map(|i| call(format!("slow-150.c{i}")))).await;
    for (i, (status, _, b)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(b));
        assert_eq!(
            json_body(b)["openid"],
            json!(openid_for(APPID, &format!("slow-150.c{i}")))
        );
    }
    // The same code five times at once: one jscode2session call, one ticket for all.
    let same = futures_util::future::join_all((0..5).map(|_| call("slow-300.same".into()))).await;
    let tickets: Vec<Value> = same
        .iter()
        .map(|(status, _, b)| {
            assert_eq!(*status, 200, "{}", String::from_utf8_lossy(b));
            json_body(b)["ticket"].clone()
        })
        .collect();
    assert!(
        tickets.iter().all(|t| t == &tickets[0] && t.is_string()),
        "{tickets:?}"
    );
    assert_eq!(
        fx.mock.calls("slow-300.same"),
        1,
        "one exchange for the same code"
    );
    // And later, from the cache.
    let (status, _, b) = call("slow-300.same".into()).await;
    assert_eq!(
        (status, json_body(&b)["ticket"].clone()),
        (200, tickets[0].clone())
    );
    assert_eq!(fx.mock.calls("slow-300.same"), 1);
    // Concurrent requests of another attempt (no key, or another key) share the exchange but
    // get no ticket: the code is used, as WeChat would say.
    let body = br#"{"code":"slow-300.race"}"#;
    let first = tokio::spawn(wxlogin_devtools::testkit::web_request(
        port,
        "POST",
        "/",
        &[JSON, KEY],
        body,
    ));
    // The keyed request is the first (WeChat takes 300 ms to answer it); the others join it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut racers = futures_util::future::join_all([
        wxlogin_devtools::testkit::web_request(port, "POST", "/", &[JSON], body),
        wxlogin_devtools::testkit::web_request(
            port,
            "POST",
            "/",
            &[JSON, ("Idempotency-Key", "another-attempt-0123456789")],
            body,
        ),
    ])
    .await;
    racers.insert(0, first.await.unwrap());
    let statuses: Vec<u16> = racers.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        statuses,
        [200, 401, 401],
        "the first request's attempt only"
    );
    for (_, _, b) in &racers[1..] {
        assert_eq!(json_body(b)["errcode"], json!(40163));
    }
    assert_eq!(fx.mock.calls("slow-300.race"), 1);

    // An idle keep-alive connection (a gateway holds them open) does not delay SIGTERM: the
    // server closes it at once instead of waiting out the drain limit.
    let idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();

    // SIGTERM with a request in flight: it completes, then exit 0.
    let slow = tokio::spawn(call("slow-400.term".into()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = std::time::Instant::now();
    let (status, logs) = web.stop().await;
    let took = stopping.elapsed();
    drop(idle);
    let (code, _, b) = slow.await.unwrap();
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(status, "exit status: 0", "{logs}");
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(
        !logs.contains("still in flight"),
        "the idle connection held the shutdown for {took:?}: {logs}"
    );
}

/// A header that comes twice reaches the handler with both copies, and the handler reads the
/// **last** (a proxy appends its own after the client's), the rule `X-Scf-*` already had. Web
/// mode used to comma-join the copies into one value, so a retry whose key came twice matched
/// no attempt: this test failed with 401 before the request became an `http::Request`.
#[tokio::test(flavor = "current_thread")]
async fn a_repeated_header_is_read_by_its_last_copy() {
    let fx = LoginFixture::new().await;
    let web = WebProcess::start(&function_bin("getLoginTicket"), &fx.env()).await;
    const KEY: &str = "attempt-0123456789abcdef";
    const OTHER: &str = "another-attempt-0123456789";
    let body = br#"{"code":"repeat.1"}"#;
    let send = |keys: &'static [&'static str]| {
        let mut headers = vec![JSON];
        headers.extend(keys.iter().map(|k| ("Idempotency-Key", *k)));
        async move {
            wxlogin_devtools::testkit::web_request(web.port, "POST", "/", &headers, body).await
        }
    };
    let (status, _, first) = send(&[KEY]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&first));
    // The retry of the same attempt, its key last: the same ticket, from the cache.
    let (status, _, again) = send(&[OTHER, KEY]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&again));
    assert_eq!(json_body(&again)["ticket"], json_body(&first)["ticket"]);
    // Another attempt's key last: not this attempt.
    let (status, _, other) = send(&[KEY, OTHER]).await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&other));
    assert_eq!(fx.mock.calls("repeat.1"), 1);
    web.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn web_functions_have_no_identity() {
    let s = Sentinels::new();
    let mut t = Transcript::default();
    for name in ["getUserInfo", "test"] {
        let web = WebProcess::start(&function_bin(name), &[]).await;
        for (method, headers, body) in [
            ("GET", vec![], String::new()),
            (
                "POST",
                vec![
                    JSON,
                    ("x-wx-openid", "oVictim"),
                    ("x-wx-appid", "wxvictim"),
                    ("x-wx-unionid", "uVictim"),
                    ("environ", "WX_OPENID=oVictim"),
                ],
                json!({"userInfo": {"openId": "oVictim"}, "openid": "oVictim"}).to_string(),
            ),
        ] {
            let (status, _, b) = web
                .request(method, "/?openid=oVictim", &headers, body.as_bytes())
                .await;
            keep(&mut t, name, &b);
            assert_eq!(status, 401, "{name}: {}", String::from_utf8_lossy(&b));
            assert_eq!(json_body(&b)["error"], json!("UNAUTHENTICATED"), "{name}");
        }
        let (status, logs) = web.stop().await;
        assert_eq!(status, "exit status: 0", "{logs}");
        t.logs(name, logs);
    }
    t.assert_no_leak(&s);
    let _ = ENV;
}

/// `X-Scf-*` headers are the platform's: a proxy appends its own copy after whatever the client
/// sent, so the last copy is the one that counts. A request id that is not a short token of safe
/// characters is replaced by a generated one, so a client cannot write fields into log lines.
#[tokio::test(flavor = "current_thread")]
async fn x_scf_headers_use_the_last_copy_and_request_ids_are_tokens() {
    let fx = LoginFixture::new().await;
    let mut env = fx.env();
    env.push(("LOG_FORMAT".into(), "text".into()));
    let web = WebProcess::start(&function_bin("getLoginTicket"), &env).await;
    // The client's copies first, the platform's last: the 800 ms limit applies, so a WeChat that
    // takes 5 s gets a 502 (with the client's 60 s limit it would have been a 200).
    let (status, _, b) = web
        .request(
            "POST",
            "/",
            &[
                JSON,
                ("X-Scf-Request-Id", "client-chosen-id"),
                ("X-Scf-Timeout", "60000"),
                ("X-Scf-Request-Id", "platform-id-1"),
                ("X-Scf-Timeout", "800"),
            ],
            br#"{"code":"slow-5000.lastcopy"}"#,
        )
        .await;
    assert_eq!(
        (status, json_body(&b)["error"].clone()),
        (502, json!("WX_API_UNREACHABLE")),
        "{}",
        String::from_utf8_lossy(&b)
    );
    // Request ids that could forge log fields or break a log line are not used.
    for (n, forged) in [
        "x forged=1",
        "x\"forged=2",
        "idé-forged=3",
        &"forged4".repeat(40),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({ "code": format!("ids.{n}") }).to_string();
        let (status, _, b) = web
            .request(
                "POST",
                "/",
                &[JSON, ("X-Scf-Request-Id", forged)],
                body.as_bytes(),
            )
            .await;
        assert_eq!(status, 200, "{forged}: {}", String::from_utf8_lossy(&b));
    }
    let (status, logs) = web.stop().await;
    assert_eq!(status, "exit status: 0", "{logs}");
    assert!(logs.contains("platform-id-1"), "{logs}");
    assert!(!logs.contains("client-chosen-id"), "{logs}");
    for n in 1..=4 {
        assert!(!logs.contains(&format!("forged={n}")), "{logs}");
    }
    assert!(!logs.contains("forged4forged4"), "{logs}");
    assert!(
        logs.contains("X-Scf-Request-Id is not a short token"),
        "a refused request id is logged (by name, not value): {logs}"
    );
    assert!(logs.contains("request_id=web-"), "{logs}");
}

/// A handler panic in web mode goes through the same pipeline as in event mode: `500 INTERNAL`
/// for the client (no panic message), one JSON log line with the location and the request id,
/// and the next request is served. (Before the one pipeline, the panic hook was installed in
/// event mode only, so a web-mode panic went to stderr as plain text, without a request id.)
#[tokio::test(flavor = "current_thread")]
async fn a_web_mode_panic_is_logged_with_its_request_id() {
    let env = [("LOG_FORMAT".to_owned(), "json".to_owned())];
    let web = WebProcess::start(&function_bin("examples/faulty"), &env).await;
    let (status, _, b) = web
        .request(
            "POST",
            "/",
            &[JSON, ("X-Scf-Request-Id", "req-panic-1")],
            br#"{"panic":true}"#,
        )
        .await;
    assert_eq!(
        (status, json_body(&b)["error"].clone()),
        (500, json!("INTERNAL"))
    );
    assert!(
        !String::from_utf8_lossy(&b).contains("boom"),
        "the panic message stays in the log"
    );
    let (status, _, b) = web.request("POST", "/", &[JSON], b"{}").await;
    assert_eq!((status, json_body(&b)["ok"].clone()), (200, json!(true)));
    let (status, logs) = web.stop().await;
    assert_eq!(status, "exit status: 0", "{logs}");
    let panic_line = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("handler panicked: boom on purpose"))
        })
        .unwrap_or_else(|| panic!("no JSON panic line: {logs}"));
    assert_eq!(
        panic_line["span"]["request_id"],
        json!("req-panic-1"),
        "{panic_line}"
    );
    assert!(
        panic_line["fields"]["location"]
            .as_str()
            .is_some_and(|l| l.contains("faulty.rs"))
    );
}
