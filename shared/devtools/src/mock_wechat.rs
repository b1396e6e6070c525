//! A local mock of WeChat's `GET /sns/jscode2session`, `POST /cgi-bin/stable_token` and
//! `POST /wxa/business/getuserphonenumber`, for `scripts/invoke` and the tests.
//!
//! Answers are `text/plain` JSON, like the real API. It checks `appid`, `secret` and
//! `grant_type`, and behaves like WeChat for a code used twice: the second use answers 40163.
//!
//! Behaviour by code (documented in docs/emulator.md, "Local mock"):
//!
//! | code | answer |
//! |---|---|
//! | `err-40029` | `{"errcode":40029,"errmsg":"invalid code"}` |
//! | `err-40163` | `{"errcode":40163,"errmsg":"code been used"}` |
//! | `err-40226` | `{"errcode":40226,"errmsg":"code blocked"}` |
//! | `err-45011` | `{"errcode":45011,"errmsg":"api minute-quota reach limit"}` |
//! | `err--1` | `{"errcode":-1,"errmsg":"system error"}` every time |
//! | `busy-once...` | `-1` on the first call, success after |
//! | `union...` | success with a `unionid` |
//! | `slow-<ms>...` | waits `<ms>` milliseconds, then success |
//! | `http-500` | HTTP 500 with an HTML page |
//! | `html` | HTTP 200 with an HTML page |
//! | `empty` | HTTP 200, empty body |
//! | `no-openid` | `{"session_key":"..."}` without openid or errcode |
//! | `truncated` | HTTP 200, JSON cut off in the middle (after the session_key) |
//! | `reset` | HTTP 200, half the body, then the connection is dropped mid-body |
//! | `redirect` | HTTP 302 to the mock's `/evil`, which would answer success for `oAttacker` |
//! | `huge` | HTTP 200 with a 100 MB body (`Content-Length` declared) |
//! | `flood` | HTTP 200, a chunked body of 64 KB chunks without end (up to 4 GB) |
//! | `echo-<errcode>` | that errcode, with an `errmsg` that echoes our request: the query string, the AppSecret and the code, plain and percent-encoded, a newline, and 2,000 more characters |
//! | anything else | success: `{"openid", "session_key"}`; a second use of the same code → 40163 |
//!
//! `stable_token` checks the JSON body's appid, secret and `grant_type`, and hands out
//! `MOCKACCESSTOKEN-<n>` ([`ACCESS_TOKEN_MARKER`]): the same token while it is valid (as
//! WeChat's stable_token does without `force_refresh`), a new one with `force_refresh: true` or
//! once the current one was rejected or expired. It counts fetches ([`MockWeChat::token_fetches`]).
//! Its faults are set per mock with [`MockWeChat::set_token_fault`] (`err--1-once`, `err--1`,
//! `err-<errcode>`, `http-500`, `html`, `truncated`, `slow-<ms>`, `same-token-once`).
//!
//! getuserphonenumber checks the `access_token` query (another token answers 40001), and by code:
//!
//! | code | answer |
//! |---|---|
//! | `phone.<anything>` | `13800138000`, country code `86`, a watermark with the appid; a second use → 40029 |
//! | `err-40029`, `err-45011` | that errcode |
//! | `err--1` | errcode -1 every time |
//! | `token-expired-once…` | 40001 on the first call (the token is then invalid), success after a refetch |
//! | `other-appid…` | success with another appid in the watermark |
//! | `phone-slow-<ms>…` | waits `<ms>` milliseconds, then success |
//! | `phone-http-500`, `phone-html`, `phone-truncated`, `phone-redirect` | HTTP 500 HTML, HTTP 200 HTML, JSON cut off after the number, HTTP 302 to `/evil` |
//! | anything else | 40029 |
//!
//! The openid is stable per *user*: the part of the code before the first `.` (so `alice.1` and
//! `alice.2` are the same user), hashed with the appid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use futures_util::StreamExt as _;

/// Marker inside every mock session_key, so tests can assert it never leaks.
pub const SESSION_KEY_MARKER: &str = "MOCKSESSIONKEY";
/// Marker inside every mock access_token, so tests can assert it never leaks.
pub const ACCESS_TOKEN_MARKER: &str = "MOCKACCESSTOKEN";
/// The phone number the mock hands out.
pub const MOCK_PHONE: &str = "13800138000";

/// The mock's access_token state.
#[derive(Default)]
struct Tokens {
    /// Generation of the current token; `None`: no valid token (never issued, rejected, expired).
    current: Option<u32>,
    /// Generations issued so far.
    issued: u32,
    /// stable_token requests (all, including failed ones).
    fetches: u32,
    /// stable_token requests with `force_refresh: true`.
    forced: u32,
    /// The fault mode (see the module docs); empty: none.
    fault: String,
    /// `expires_in` handed out, seconds.
    expires_in: u64,
}

#[derive(Default)]
struct Calls {
    by_code: HashMap<String, u32>,
    total: u32,
    /// Requests that reached `/evil` (a redirect that was followed).
    evil: u32,
    /// `Referer` headers received, on any route.
    referers: Vec<String>,
    /// getuserphonenumber calls by code.
    phone_by_code: HashMap<String, u32>,
}

struct Shared {
    appid: String,
    secret: String,
    session_key_marker: String,
    calls: Mutex<Calls>,
    tokens: Mutex<Tokens>,
}

/// A running mock. Dropping it stops the server.
pub struct MockWeChat {
    server: scf_emulator::LocalServer,
    shared: Arc<Shared>,
}

/// The openid the mock gives for `code` under `appid`.
pub fn openid_for(appid: &str, code: &str) -> String {
    let user = code.split('.').next().unwrap_or(code);
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{appid}|{user}").as_bytes(),
    );
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref());
    format!("o{}", &b[..27])
}

/// The unionid the mock gives for `union...` codes.
pub fn unionid_for(appid: &str, code: &str) -> String {
    format!("u{}", &openid_for(appid, code)[1..])
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn errcode(code: i64, msg: &str) -> Response {
    text(
        StatusCode::OK,
        format!(r#"{{"errcode":{code},"errmsg":"{msg}, hints: [ req_id: mock ]"}}"#),
    )
}

/// Where `redirect` sends the client: a "WeChat" that would hand out a victim's session.
async fn evil(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut calls = s.calls.lock().unwrap();
    calls.evil += 1;
    calls.referers.extend(referer(&headers));
    text(
        StatusCode::OK,
        r#"{"openid":"oAttacker","session_key":"ZXZpbA=="}"#.into(),
    )
}

fn referer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::REFERER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// An errmsg that echoes our own request back, as a broken or hostile upstream might.
fn echo(errcode: i64, raw_query: &str, q: &HashMap<String, String>) -> Response {
    let secret = q.get("secret").map(String::as_str).unwrap_or_default();
    let code = q.get("js_code").map(String::as_str).unwrap_or_default();
    let encoded = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let errmsg = format!(
        "bad request {raw_query} (secret {secret}, js_code {code}, {}, {})\nforged: line {}",
        encoded(secret),
        encoded(code),
        "x".repeat(2000)
    );
    let body = serde_json::json!({"errcode": errcode, "errmsg": errmsg}).to_string();
    text(StatusCode::OK, body)
}

async fn jscode2session(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let code = q.get("js_code").cloned().unwrap_or_default();
    let seen = {
        let mut calls = s.calls.lock().unwrap();
        calls.referers.extend(referer(&headers));
        calls.total += 1;
        let n = calls.by_code.entry(code.clone()).or_default();
        *n += 1;
        *n
    };
    if q.get("appid") != Some(&s.appid) {
        return errcode(40013, "invalid appid");
    }
    if q.get("secret") != Some(&s.secret) {
        return errcode(40125, "invalid appsecret");
    }
    if q.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return errcode(40002, "invalid grant_type");
    }
    if code.is_empty() {
        return errcode(41008, "missing code");
    }
    match code.as_str() {
        "err-40029" => return errcode(40029, "invalid code"),
        "err-40163" => return errcode(40163, "code been used"),
        "err-40226" => return errcode(40226, "code blocked"),
        "err-45011" => {
            return errcode(
                45011,
                "api minute-quota reach limit  mustslower  retry next minute",
            );
        }
        "err--1" => return errcode(-1, "system error"),
        "http-500" => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>500 Internal Server Error</body></html>",
            )
                .into_response();
        }
        "html" => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>maintenance</body></html>",
            )
                .into_response();
        }
        "empty" => return text(StatusCode::OK, String::new()),
        "redirect" => {
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(
                    header::LOCATION,
                    format!("/evil?{}", raw_query.unwrap_or_default()),
                )
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        "huge" | "flood" => {
            // 64 KB chunks: 1,600 of them (100 MB, declared) or 65,536 (4 GB, chunked). The
            // stream ends when the client hangs up.
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let n = if code == "huge" { 1600 } else { 65_536 };
            let body = Body::from_stream(
                futures_util::stream::repeat(chunk)
                    .take(n)
                    .map(Ok::<_, std::io::Error>),
            );
            let mut resp = Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/plain");
            if code == "huge" {
                resp = resp.header(header::CONTENT_LENGTH, (n * 64 * 1024).to_string());
            }
            return resp
                .body(body)
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        "no-openid" => {
            return text(
                StatusCode::OK,
                format!(r#"{{"session_key":"{}"}}"#, s.session_key_marker),
            );
        }
        "truncated" => {
            return text(
                StatusCode::OK,
                format!(
                    r#"{{"session_key":"{}==","openid":"o6_bmjrPTlm6_2sgVt7hMZ"#,
                    s.session_key_marker
                ),
            );
        }
        "reset" => {
            // Content-Length promises more than is sent; the stream then fails, so hyper drops
            // the connection in mid-body.
            let half = format!(r#"{{"session_key":"{}==","op"#, s.session_key_marker);
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from(half)),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "mock: reset in mid-body",
                )),
            ];
            return Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/plain")
                .header(header::CONTENT_LENGTH, "200")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        _ => {}
    }
    if let Some(errcode) = code.strip_prefix("echo-").and_then(|c| c.parse().ok()) {
        return echo(errcode, &raw_query.unwrap_or_default(), &q);
    }
    if code.starts_with("busy-once") && seen == 1 {
        return errcode(-1, "system error");
    }
    if let Some(ms) = code
        .strip_prefix("slow-")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    // WeChat: a code is single-use. (busy-once's first call failed, so its first success is call 2.)
    let first_success = if code.starts_with("busy-once") { 2 } else { 1 };
    if seen > first_success {
        return errcode(40163, "code been used");
    }
    let openid = openid_for(&s.appid, &code);
    let session_key = format!("{}{}==", s.session_key_marker, &openid[1..9]);
    let body = if code.starts_with("union") {
        format!(
            r#"{{"session_key":"{session_key}","openid":"{openid}","unionid":"{}"}}"#,
            unionid_for(&s.appid, &code)
        )
    } else {
        format!(r#"{{"session_key":"{session_key}","openid":"{openid}"}}"#)
    };
    text(StatusCode::OK, body)
}

fn token_name(generation: u32) -> String {
    format!("{ACCESS_TOKEN_MARKER}-{generation}")
}

async fn stable_token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    s.calls.lock().unwrap().referers.extend(referer(&headers));
    let q: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (fault, delay) = {
        let mut t = s.tokens.lock().unwrap();
        t.fetches += 1;
        let fault = t.fault.clone();
        if fault.ends_with("-once") {
            t.fault.clear();
        }
        let delay = fault
            .strip_prefix("slow-")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(Duration::from_millis);
        (fault, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if q["appid"].as_str() != Some(s.appid.as_str()) {
        return errcode(40013, "invalid appid");
    }
    if q["secret"].as_str() != Some(s.secret.as_str()) {
        return errcode(40125, "invalid appsecret");
    }
    if q["grant_type"].as_str() != Some("client_credential") {
        return errcode(40002, "invalid grant_type");
    }
    match fault.as_str() {
        "err--1-once" | "err--1" => return errcode(-1, "system error"),
        "http-500" => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>500 Internal Server Error</body></html>",
            )
                .into_response();
        }
        "html" => {
            return text(
                StatusCode::OK,
                "<html><body>maintenance</body></html>".into(),
            );
        }
        "truncated" => {
            return text(
                StatusCode::OK,
                format!(r#"{{"access_token":"{ACCESS_TOKEN_MARKER}-trunc"#),
            );
        }
        _ => {}
    }
    if let Some(code) = fault
        .strip_prefix("err-")
        .and_then(|c| c.parse::<i64>().ok())
    {
        return errcode(code, "mock token fault");
    }
    let force = q["force_refresh"].as_bool() == Some(true);
    let mut t = s.tokens.lock().unwrap();
    if force {
        t.forced += 1;
    }
    let generation = match t.current {
        // `same-token-once`: hand back the token last issued, even though it was rejected.
        _ if fault == "same-token-once" && t.issued > 0 && !force => t.issued,
        Some(g) if !force => g,
        _ => {
            t.issued += 1;
            t.issued
        }
    };
    if fault != "same-token-once" {
        t.current = Some(generation);
    }
    let expires_in = if t.expires_in == 0 {
        7200
    } else {
        t.expires_in
    };
    text(
        StatusCode::OK,
        format!(
            r#"{{"access_token":"{}","expires_in":{expires_in}}}"#,
            token_name(generation)
        ),
    )
}

async fn phone_number(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // A call on a bad token is refused before the code is looked at, so it does not use the code.
    let token_ok = {
        let t = s.tokens.lock().unwrap();
        let valid = t.current.map(token_name);
        valid.is_some() && q.get("access_token") == valid.as_ref()
    };
    let seen = {
        let mut calls = s.calls.lock().unwrap();
        calls.referers.extend(referer(&headers));
        calls.total += 1;
        let n = calls.phone_by_code.entry(code.clone()).or_default();
        *n += 1;
        *n
    };
    let invalid_token = || {
        errcode(
            40001,
            "invalid credential, access_token is invalid or not latest",
        )
    };
    if !token_ok {
        s.calls
            .lock()
            .unwrap()
            .phone_by_code
            .entry(code)
            .and_modify(|n| *n -= 1);
        return invalid_token();
    }
    if code.starts_with("token-expired-once") && seen == 1 {
        s.tokens.lock().unwrap().current = None;
        return invalid_token();
    }
    match code.as_str() {
        "err-40029" => return errcode(40029, "invalid code"),
        "err-45011" => {
            return errcode(
                45011,
                "api minute-quota reach limit  mustslower  retry next minute",
            );
        }
        "err--1" => return errcode(-1, "system error"),
        "phone-http-500" => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>500 Internal Server Error</body></html>",
            )
                .into_response();
        }
        "phone-html" => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>maintenance</body></html>",
            )
                .into_response();
        }
        "phone-truncated" => {
            return text(
                StatusCode::OK,
                format!(r#"{{"errcode":0,"phone_info":{{"phoneNumber":"{MOCK_PHONE}","pure"#),
            );
        }
        "phone-redirect" => {
            return Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, "/evil")
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        _ => {}
    }
    if let Some(ms) = code
        .strip_prefix("phone-slow-")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let first_success = if code.starts_with("token-expired-once") {
        2
    } else {
        1
    };
    let known = code.starts_with("phone.")
        || code.starts_with("phone-slow-")
        || code.starts_with("token-expired-once")
        || code.starts_with("other-appid");
    if !known || seen > first_success {
        return errcode(40029, "invalid code");
    }
    let appid = if code.starts_with("other-appid") {
        "wxotherapp"
    } else {
        s.appid.as_str()
    };
    let body = serde_json::json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": MOCK_PHONE,
            "purePhoneNumber": MOCK_PHONE,
            "countryCode": 86,
            "watermark": {"timestamp": 1_700_000_000, "appid": appid}
        }
    });
    text(StatusCode::OK, body.to_string())
}

impl MockWeChat {
    /// Start on `127.0.0.1`, a free port, expecting `appid` / `secret`.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(appid: &str, secret: &str) -> std::io::Result<Self> {
        Self::start_with(appid, secret, SESSION_KEY_MARKER).await
    }

    /// As [`MockWeChat::start`], with every session_key it hands out starting with
    /// `session_key_marker` (a sentinel the secret-hygiene tests look for).
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start_with(
        appid: &str,
        secret: &str,
        session_key_marker: &str,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            appid: appid.into(),
            secret: secret.into(),
            session_key_marker: session_key_marker.into(),
            calls: Mutex::default(),
            tokens: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/sns/jscode2session", get(jscode2session))
            .route("/evil", get(evil))
            .route("/cgi-bin/stable_token", post(stable_token))
            .route("/wxa/business/getuserphonenumber", post(phone_number))
            .with_state(shared.clone());
        let server = scf_emulator::LocalServer::start(app).await?;
        Ok(MockWeChat { server, shared })
    }

    /// `http://127.0.0.1:PORT`, for `WECHAT_API_BASE`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// How many times `code` was asked for.
    pub fn calls(&self, code: &str) -> u32 {
        self.shared
            .calls
            .lock()
            .unwrap()
            .by_code
            .get(code)
            .copied()
            .unwrap_or(0)
    }

    /// Calls in total.
    pub fn total_calls(&self) -> u32 {
        self.shared.calls.lock().unwrap().total
    }

    /// Requests that reached `/evil`, the target of the `redirect` code: a followed redirect.
    pub fn evil_calls(&self) -> u32 {
        self.shared.calls.lock().unwrap().evil
    }

    /// Every `Referer` header the mock received, on any route.
    pub fn referers(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().referers.clone()
    }

    /// stable_token requests received (failed ones included).
    pub fn token_fetches(&self) -> u32 {
        self.shared.tokens.lock().unwrap().fetches
    }

    /// stable_token requests with `force_refresh: true`.
    pub fn forced_refreshes(&self) -> u32 {
        self.shared.tokens.lock().unwrap().forced
    }

    /// Set stable_token's fault mode (see the module docs; `""`: none). A mode ending in
    /// `-once` applies to the next request only.
    pub fn set_token_fault(&self, fault: &str) {
        self.shared.tokens.lock().unwrap().fault = fault.into();
    }

    /// Set the `expires_in` stable_token hands out, seconds (default 7200).
    pub fn set_token_expires_in(&self, secs: u64) {
        self.shared.tokens.lock().unwrap().expires_in = secs;
    }

    /// Expire the current access_token now: calls with it answer 40001 until a refetch.
    pub fn expire_token(&self) {
        self.shared.tokens.lock().unwrap().current = None;
    }

    /// getuserphonenumber calls for `code` that carried the valid access_token (a call on a bad
    /// token answers 40001 and, as at WeChat, does not use the code).
    pub fn phone_calls(&self, code: &str) -> u32 {
        self.shared
            .calls
            .lock()
            .unwrap()
            .phone_by_code
            .get(code)
            .copied()
            .unwrap_or(0)
    }
}
