//! The access_token and getuserphonenumber against a scripted WeChat on 127.0.0.1: caching,
//! the single flight, the refresh rules, retries, and secrecy. The server is a few lines of
//! HTTP/1.1 (one request per connection) so that each answer, and each fetch, is under the
//! test's control and counted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scf_runtime::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wxlogin::{WeChatClient, WxError};

const PHONE_OK: &str = r#"{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":86,"watermark":{"timestamp":1,"appid":"wxapp"}}}"#;

fn token(t: &str, expires_in: u64) -> (u16, String) {
    (
        200,
        format!(r#"{{"access_token":"{t}","expires_in":{expires_in}}}"#),
    )
}

fn errcode(code: i64, msg: &str) -> (u16, String) {
    (200, format!(r#"{{"errcode":{code},"errmsg":"{msg}"}}"#))
}

/// What the scripted WeChat answers, and what it saw.
#[derive(Default)]
struct Script {
    /// stable_token answers, in order; then `T1` for 7200 s.
    tokens: VecDeque<(u16, String)>,
    /// getuserphonenumber answers, in order; then [`PHONE_OK`].
    phones: VecDeque<(u16, String)>,
    /// Delay before each stable_token answer.
    token_delay: Duration,
    /// `force_refresh` of each stable_token request.
    fetches: Vec<bool>,
    /// The access_token query of each getuserphonenumber request.
    phone_tokens: Vec<String>,
}

type Shared = Arc<Mutex<Script>>;

async fn serve(script: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Head and body, bounded: 64 KB at most.
                let request = loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 || buf.len() > 64 * 1024 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break text;
                        }
                    }
                };
                let target = request.split(' ').nth(1).unwrap_or("").to_owned();
                let (status, body, delay) = {
                    let mut s = script.lock().unwrap();
                    if target.starts_with("/cgi-bin/stable_token") {
                        s.fetches.push(request.contains(r#""force_refresh":true"#));
                        let (st, b) = s.tokens.pop_front().unwrap_or_else(|| token("T1", 7200));
                        (st, b, s.token_delay)
                    } else if let Some(q) =
                        target.strip_prefix("/wxa/business/getuserphonenumber?access_token=")
                    {
                        s.phone_tokens.push(q.to_owned());
                        let (st, b) = s.phones.pop_front().unwrap_or((200, PHONE_OK.into()));
                        (st, b, Duration::ZERO)
                    } else {
                        (404, "not found".into(), Duration::ZERO)
                    }
                };
                tokio::time::sleep(delay).await;
                let extra = if status == 302 {
                    "Location: http://127.0.0.1:9/\r\n"
                } else {
                    ""
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    base
}

async fn setup(f: impl FnOnce(&mut Script)) -> (WeChatClient, Shared) {
    let script: Shared = Shared::default();
    f(&mut script.lock().unwrap());
    let base = serve(script.clone()).await;
    let client = WeChatClient::new("wxapp".into(), Secret::new("APPSECRET"), &base).unwrap();
    (client, script)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(3)
}

fn seen(script: &Shared) -> (Vec<bool>, Vec<String>) {
    let s = script.lock().unwrap();
    (s.fetches.clone(), s.phone_tokens.clone())
}

#[tokio::test(flavor = "current_thread")]
async fn a_warm_instance_fetches_the_token_once() {
    let (client, script) = setup(|_| {}).await;
    for _ in 0..3 {
        let p = client.phone_number("phone.1", deadline()).await.unwrap();
        assert_eq!(
            (p.phone_number.as_str(), p.country_code.as_str()),
            ("13800138000", "86")
        );
    }
    assert_eq!(seen(&script), (vec![false], vec!["T1".to_string(); 3]));
    // The token is in no Debug output of the client.
    assert!(!format!("{client:?}").contains("T1"));
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_calls_share_one_fetch() {
    let (client, script) = setup(|s| s.token_delay = Duration::from_millis(150)).await;
    let d = deadline();
    let other = client.clone();
    let (a, b, c, e) = tokio::join!(
        client.phone_number("phone.1", d),
        client.phone_number("phone.2", d),
        client.access_token(d),
        other.phone_number("phone.3", d),
    );
    assert!(a.is_ok() && b.is_ok() && e.is_ok());
    assert_eq!(c.unwrap().expose(), "T1");
    assert_eq!(seen(&script).0, vec![false]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_fetch_leaves_nothing_behind() {
    let (client, script) = setup(|s| s.token_delay = Duration::from_millis(300)).await;
    let r = tokio::time::timeout(Duration::from_millis(50), client.access_token(deadline())).await;
    assert!(r.is_err(), "the fetch should still be running");
    script.lock().unwrap().token_delay = Duration::ZERO;
    assert_eq!(
        client.access_token(deadline()).await.unwrap().expose(),
        "T1"
    );
    assert_eq!(seen(&script).0.len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_rejected_token_is_refetched_once_and_the_call_retried_once() {
    let (client, script) = setup(|s| {
        s.tokens.extend([token("T1", 7200), token("T2", 7200)]);
        s.phones.push_back(errcode(
            40001,
            "invalid credential, access_token is invalid",
        ));
    })
    .await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    assert_eq!(
        seen(&script),
        (vec![false, false], vec!["T1".into(), "T2".into()])
    );
    // The new token is cached.
    client.phone_number("phone.2", deadline()).await.unwrap();
    assert_eq!(seen(&script).0.len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn every_bad_token_code_refreshes_and_a_second_rejection_is_returned() {
    for code in [40001, 40014, 42001] {
        let (client, script) = setup(|s| {
            s.tokens.extend([token("T1", 7200), token("T2", 7200)]);
            s.phones
                .extend([errcode(code, "bad token"), errcode(code, "bad token")]);
        })
        .await;
        let err = client
            .phone_number("phone.1", deadline())
            .await
            .unwrap_err();
        assert!(
            matches!(err, WxError::Api { errcode, .. } if errcode == code),
            "{err:?}"
        );
        assert_eq!(
            seen(&script),
            (vec![false, false], vec!["T1".into(), "T2".into()])
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refetch_of_the_rejected_token_forces_a_refresh() {
    let (client, script) = setup(|s| {
        s.tokens
            .extend([token("T1", 7200), token("T1", 7200), token("T3", 7200)]);
        s.phones.push_back(errcode(40001, "invalid credential"));
    })
    .await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    assert_eq!(
        seen(&script),
        (vec![false, false, true], vec!["T1".into(), "T3".into()])
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_token_expiring_mid_run_is_fetched_again() {
    // expires_in 1 s: used for half of it (the 5-minute margin does not fit).
    let (client, script) = setup(|s| {
        s.tokens.extend([token("T1", 1), token("T2", 7200)]);
    })
    .await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    client.phone_number("phone.2", deadline()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.phone_number("phone.3", deadline()).await.unwrap();
    assert_eq!(
        seen(&script),
        (
            vec![false, false],
            vec!["T1".into(), "T1".into(), "T2".into()]
        )
    );
}

#[tokio::test(flavor = "current_thread")]
async fn stable_token_busy_is_retried_once() {
    let (client, script) = setup(|s| s.tokens.push_back(errcode(-1, "system error"))).await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    assert_eq!(seen(&script).0.len(), 2);

    let (client, script) = setup(|s| {
        s.tokens
            .extend([errcode(-1, "system error"), errcode(-1, "system error")]);
    })
    .await;
    let err = client
        .phone_number("phone.1", deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, WxError::Api { errcode: -1, .. }), "{err:?}");
    assert_eq!(seen(&script), (vec![false, false], vec![]));
}

#[tokio::test(flavor = "current_thread")]
async fn stable_token_configuration_and_quota_errors_are_not_retried() {
    for code in [40013, 40125, 41002, 45009] {
        let (client, script) = setup(|s| {
            s.tokens
                .push_back(errcode(code, "invalid appsecret APPSECRET"));
        })
        .await;
        let err = client.access_token(deadline()).await.unwrap_err();
        let WxError::Api { errcode, errmsg } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*errcode, code);
        assert!(!errmsg.contains("APPSECRET"), "{errmsg}");
        assert_eq!(seen(&script).0.len(), 1);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn stable_token_transport_faults() {
    // 5xx twice: unreachable after the one retry.
    let (client, script) =
        setup(|s| s.tokens.extend([(502, "bad gw".into()), (503, "".into())])).await;
    let err = client.access_token(deadline()).await.unwrap_err();
    assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
    assert_eq!(seen(&script).0.len(), 2);
    // HTML, truncated, a redirect: unusable, not retried, not followed.
    for answer in [
        (200, "<html>busy</html>".to_string()),
        (200, r#"{"access_token":"T1","expi"#.to_string()),
        (302, "".to_string()),
    ] {
        let (client, script) = setup(|s| s.tokens.push_back(answer.clone())).await;
        let err = client.access_token(deadline()).await.unwrap_err();
        assert!(matches!(err, WxError::BadResponse(_)), "{err:?}");
        assert!(!err.to_string().contains("T1"), "{err}");
        assert_eq!(seen(&script).0.len(), 1);
    }
    // Slow: the fetch gives up before the deadline.
    let (client, _script) = setup(|s| s.token_delay = Duration::from_secs(5)).await;
    let started = Instant::now();
    let err = client
        .access_token(Instant::now() + Duration::from_millis(800))
        .await
        .unwrap_err();
    assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = WeChatClient::new(
        "wxapp".into(),
        Secret::new("APPSECRET"),
        &format!("http://127.0.0.1:{port}"),
    )
    .unwrap();
    let err = client.access_token(deadline()).await.unwrap_err();
    assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("APPSECRET"));
}

#[tokio::test(flavor = "current_thread")]
async fn phone_errors_keep_the_token_and_code_out() {
    let (client, _script) = setup(|s| {
        s.phones.push_back(errcode(
            40029,
            "invalid code phone.x, hints: access_token=T1 T1",
        ));
    })
    .await;
    let err = client
        .phone_number("phone.x", deadline())
        .await
        .unwrap_err();
    let WxError::Api {
        errcode: got,
        errmsg,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*got, 40029);
    assert!(
        !errmsg.contains("T1") && !errmsg.contains("phone.x"),
        "{errmsg}"
    );

    // -1 once: retried on the same token.
    let (client, script) = setup(|s| s.phones.push_back(errcode(-1, "system error"))).await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    assert_eq!(seen(&script), (vec![false], vec!["T1".into(), "T1".into()]));

    // Another app's watermark: unusable.
    let (client, _script) = setup(|s| {
        s.phones
            .push_back((200, PHONE_OK.replace("\"wxapp\"", "\"wxother\"")));
    })
    .await;
    let err = client
        .phone_number("phone.1", deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, WxError::BadResponse(_)), "{err:?}");
    assert!(!err.to_string().contains("13800138000"));
}

/// A failed fetch is remembered for 10 s: during an outage, ten requests make one fetch and its
/// one retry, not twenty fetches (before: each request fetched and retried on its own).
#[tokio::test(flavor = "current_thread")]
async fn an_outage_is_remembered_not_fetched_again_by_every_request() {
    let (client, script) = setup(|s| {
        s.tokens.extend((0..40).map(|_| (503, "down".to_string())));
    })
    .await;
    for _ in 0..10 {
        let err = client.access_token(deadline()).await.unwrap_err();
        assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
    }
    assert_eq!(seen(&script).0.len(), 2, "one fetch and its one retry");
    // A configuration error is remembered as it is (the errcode stays).
    let (client, script) = setup(|s| s.tokens.push_back(errcode(40125, "invalid appsecret"))).await;
    for _ in 0..5 {
        let err = client.access_token(deadline()).await.unwrap_err();
        assert!(
            matches!(err, WxError::Api { errcode: 40125, .. }),
            "{err:?}"
        );
    }
    assert_eq!(seen(&script).0.len(), 1);
    // A call with no time to try is not remembered: the next one fetches.
    let (client, script) = setup(|_| {}).await;
    let err = client.access_token(Instant::now()).await.unwrap_err();
    assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
    assert!(client.access_token(deadline()).await.is_ok());
    assert_eq!(seen(&script).0.len(), 1);
}
