//! Caller identity over HTTP from CloudBase access tokens (issue 13): the real `getUserInfo` and
//! `test` binaries, in web mode and in event mode, against the CloudBase auth mock on 127.0.0.1.
//!
//! The fault matrix: every forged token in `testkit::tokens` is refused with its reason; a token in
//! `X-Cloudbase-Context` works like a Bearer one and the two must agree; the key set down, slow,
//! garbage, empty, huge or of the wrong shape gives `503 AUTH_UNAVAILABLE` (with `Retry-After`)
//! when introspect is down too, and the caller when introspect answers; rotation takes one
//! refetch; a storm of unknown kids takes at most one; no token shows up in any answer or log line.

use std::io::Write;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use wxlogin_devtools::emulator::Outcome;
use wxlogin_devtools::events;
use wxlogin_devtools::mock_cloudbase::{IntrospectFault, JwksFault, MockCloudBase, UserClaims};
use wxlogin_devtools::testkit::{WebProcess, function_bin, http_parts, start, tokens};

const ENV_ID: &str = "env-tokens";

fn body_json(b: &[u8]) -> Value {
    serde_json::from_slice(b)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(b)))
}

/// `X-Cloudbase-Context` as the gateway writes it: base64(gzip(JSON)).
fn cloudbase_context(json: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json.to_string().as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
}

/// Everything a test saw, to check that no token leaked into it.
#[derive(Default)]
struct Seen(String);

impl Seen {
    fn keep(&mut self, b: &[u8]) {
        self.0.push_str(&String::from_utf8_lossy(b));
        self.0.push('\n');
    }
    /// No token, nor its signature segment, nor a JWT start (`eyJ`) anywhere.
    fn assert_no_token(&self, tokens: &[&str]) {
        for t in tokens {
            if let Some(sig) = t.rsplit('.').next().filter(|s| s.len() > 16) {
                assert!(!self.0.contains(sig), "a token signature leaked");
            }
        }
        assert!(
            !self.0.contains("eyJ"),
            "something JWT-shaped leaked:\n{}",
            self.0
        );
    }
}

async fn get(web: &WebProcess, headers: &[(&str, &str)]) -> (u16, Value, Vec<u8>) {
    let (status, _, body) = web.request("GET", "/", headers, b"").await;
    (status, body_json(&body), body)
}

async fn start_web(name: &str, mock: &MockCloudBase, extra: &[(&str, &str)]) -> WebProcess {
    let mut env = mock.env_vars();
    env.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    WebProcess::start(&function_bin(name), &env).await
}

#[tokio::test(flavor = "current_thread")]
async fn verified_tokens_name_the_caller_and_every_forgery_is_refused() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let web = start_web("getUserInfo", &mock, &[]).await;
    let mut seen = Seen::default();
    let mut all_tokens = Vec::new();

    // A signed-in user whose token carries WeChat ids, and one whose token carries none.
    let with_ids = mock.mint(
        UserClaims::new("uid-alice")
            .openid("o-alice")
            .unionid("u-alice"),
    );
    let bare = mock.mint(UserClaims::new("uid-bob"));
    let (status, body, raw) = get(&web, &[("Authorization", &format!("Bearer {with_ids}"))]).await;
    seen.keep(&raw);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["uid"], "uid-alice");
    assert_eq!(
        (body["openid"].clone(), body["unionid"].clone()),
        (json!("o-alice"), json!("u-alice"))
    );
    let (status, body, raw) = get(&web, &[("Authorization", &format!("bearer {bare}"))]).await;
    seen.keep(&raw);
    assert_eq!(status, 200, "{body}");
    // isAnonymous from the token's scope ("user" here; the anonymous scope's name is UNCONFIRMED).
    assert_eq!(
        body,
        json!({"openid": null, "appid": null, "unionid": null, "uid": "uid-bob", "isAnonymous": false})
    );
    assert_eq!(mock.jwks_fetches(), 1, "one fetch, then the cached key set");

    // Inside the 60 s leeway.
    let leeway = tokens::expired_inside_leeway(&mock, "uid-late");
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {leeway}"))]).await;
    assert_eq!((status, body["uid"].clone()), (200, json!("uid-late")));

    // The token inside X-Cloudbase-Context alone; then both places, agreeing and not.
    let ctx = cloudbase_context(
        &json!({"envId": ENV_ID, "accessToken": with_ids, "tmpSecret": {"secretKey": "SENTINEL-tmp"}}),
    );
    let (status, body, raw) = get(&web, &[("X-Cloudbase-Context", &ctx)]).await;
    seen.keep(&raw);
    assert_eq!((status, body["uid"].clone()), (200, json!("uid-alice")));
    let bearer_bare = format!("Bearer {bare}");
    let bearer_alice = format!("Bearer {with_ids}");
    let (status, _, _) = get(
        &web,
        &[
            ("Authorization", &bearer_alice),
            ("X-Cloudbase-Context", &ctx),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, raw) = get(
        &web,
        &[
            ("Authorization", &bearer_bare),
            ("X-Cloudbase-Context", &ctx),
        ],
    )
    .await;
    seen.keep(&raw);
    assert_eq!(
        (status, body["error"].clone(), body["reason"].clone()),
        (401, json!("INVALID_TOKEN"), json!("token_mismatch"))
    );

    // No token: as before.
    let (status, body, _) = get(&web, &[]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("UNAUTHENTICATED"))
    );

    // Every forgery, with the reason it is refused for.
    let reason = |name: &str| match name {
        "alg-none" | "hs256-pem" | "hs256-spki" | "hs256-pkcs1" => "algorithm",
        "foreign-key" | "tampered-payload" => "bad_signature",
        "unknown-kid" => "unknown_key",
        "expired" => "expired",
        "not-yet-valid" | "iat-in-future" => "not_yet_valid",
        "wrong-aud" => "wrong_env",
        "wrong-iss" => "wrong_issuer",
        _ => "malformed",
    };
    let forged = tokens::must_reject(&mock, "uid-alice").unwrap();
    assert!(forged.len() >= 17, "{} forged tokens", forged.len());
    let mut checked = 0;
    for (name, token) in &forged {
        all_tokens.push(token.clone());
        let auth = format!("Bearer {token}");
        let (status, h, raw) = web
            .request("GET", "/", &[("Authorization", &auth)], b"")
            .await;
        seen.keep(&raw);
        if *name == "oversized" {
            // Over web mode's 16 KB request head: refused before the function runs.
            assert_eq!(status, 431, "{name}");
            continue;
        }
        let body = body_json(&raw);
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"], "INVALID_TOKEN", "{name}");
        assert_eq!(body["reason"], reason(name), "{name}: {body}");
        assert!(!h.contains_key("retry-after"));
        checked += 1;
    }
    assert_eq!(checked, forged.len() - 1);
    // The unknown kid cost one refetch; the rest, none.
    assert_eq!(mock.jwks_fetches(), 2);

    // A storm of unknown kids within the minute: no further fetch.
    for i in 0..40 {
        let t = mock.sign_claims(
            &UserClaims::new(&format!("uid-{i}"))
                .to_json(ENV_ID, wxlogin_devtools::mock_cloudbase::now_secs()),
        );
        let forged_kid = {
            let mut parts = t.splitn(2, '.');
            let _ = parts.next();
            let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
                r#"{{"alg":"RS256","typ":"JWT","kid":"storm-{i}"}}"#
            ));
            format!("{header}.{}", parts.next().unwrap())
        };
        let (status, body, _) =
            get(&web, &[("Authorization", &format!("Bearer {forged_kid}"))]).await;
        assert_eq!(
            (status, body["reason"].clone()),
            (401, json!("unknown_key"))
        );
    }
    assert_eq!(mock.jwks_fetches(), 2, "a kid storm must not cause fetches");

    let (status, logs) = web.stop().await;
    assert!(status.contains("exit status: 0"), "{status}");
    seen.0.push_str(&logs);
    all_tokens.extend([with_ids.clone(), bare.clone(), leeway]);
    let refs: Vec<&str> = all_tokens.iter().map(String::as_str).collect();
    seen.assert_no_token(&refs);
    assert!(!seen.0.contains("SENTINEL-tmp"));
    assert!(
        logs.contains("access token refused"),
        "refusals are logged (by reason)"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn rotation_is_picked_up_after_one_refetch() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let web = start_web("test", &mock, &[]).await;
    let old = mock.mint(UserClaims::new("uid-1"));
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {old}"))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["identity"]["uid"], "uid-1");
    assert_eq!(body["success"], true);
    // CloudBase rotates: a new key signs, both are published.
    mock.stage_rotation().unwrap();
    let new = mock.mint(UserClaims::new("uid-2").openid("o-2"));
    mock.publish_staged(true);
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {new}"))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["identity"]["openid"], "o-2");
    assert_eq!(mock.jwks_fetches(), 2);
    let (status, _, _) = get(&web, &[("Authorization", &format!("Bearer {old}"))]).await;
    assert_eq!(status, 200, "the old key stays valid while published");
    assert_eq!(mock.jwks_fetches(), 2);
    web.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn key_set_faults_are_503_or_fall_back_to_introspect() {
    let faults = [
        JwksFault::Down,
        JwksFault::Slow(Duration::from_secs(20)),
        JwksFault::Garbage,
        JwksFault::Html,
        JwksFault::EmptyKeys,
        JwksFault::Huge,
        JwksFault::WrongShape,
    ];
    for fault in faults {
        let mock = MockCloudBase::start(ENV_ID).await.unwrap();
        mock.set_jwks_fault(fault);
        mock.set_introspect_fault(IntrospectFault::Down);
        let web = start_web("getUserInfo", &mock, &[]).await;
        let token = mock.mint(UserClaims::new("uid-f").openid("o-f"));
        let auth = format!("Bearer {token}");
        // A 1.5 s time limit: the answer must come before it, slow key set or not.
        let headers = [("Authorization", auth.as_str()), ("X-Scf-Timeout", "1500")];
        let (status, h, raw) = web.request("GET", "/", &headers, b"").await;
        let body = body_json(&raw);
        assert_eq!(status, 503, "{fault:?}: {body}");
        assert_eq!(body["error"], "AUTH_UNAVAILABLE", "{fault:?}");
        assert_eq!(
            h.get("retry-after").map(String::as_str),
            Some("10"),
            "{fault:?}"
        );
        // Introspect answers again: the caller is known through it (the key set stays down).
        mock.set_introspect_fault(IntrospectFault::None);
        let (status, _, raw) = web.request("GET", "/", &headers, b"").await;
        let body = body_json(&raw);
        assert_eq!(status, 200, "{fault:?}: {body}");
        assert_eq!(
            (body["uid"].clone(), body["openid"].clone()),
            (json!("uid-f"), json!("o-f"))
        );
        // Cached until exp: the same token does not ask again.
        let calls = mock.introspect_calls();
        let (status, _, _) = web.request("GET", "/", &headers, b"").await;
        assert_eq!((status, mock.introspect_calls()), (200, calls), "{fault:?}");
        // A forged token is not made good by the fallback.
        let forged = tokens::foreign_key_published_kid(&mock, "uid-f").unwrap();
        let (status, _, raw) = web
            .request(
                "GET",
                "/",
                &[("Authorization", &format!("Bearer {forged}"))],
                b"",
            )
            .await;
        assert_eq!(
            (status, body_json(&raw)["reason"].clone()),
            (401, json!("rejected")),
            "{fault:?}"
        );
        let (_, logs) = web.stop().await;
        assert!(
            !logs.contains(&token[token.len() - 20..]),
            "{fault:?}: token in logs"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn introspect_mode_and_opt_ins() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let web = start_web("getUserInfo", &mock, &[("TCB_TOKEN_VERIFY", "introspect")]).await;
    let token = mock.mint(UserClaims::new("uid-i"));
    for _ in 0..3 {
        let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {token}"))]).await;
        assert_eq!((status, body["uid"].clone()), (200, json!("uid-i")));
    }
    assert_eq!((mock.introspect_calls(), mock.jwks_fetches()), (1, 0));
    // Claims are checked before CloudBase is asked.
    let expired = tokens::expired(&mock, "uid-i");
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {expired}"))]).await;
    assert_eq!((status, body["reason"].clone()), (401, json!("expired")));
    assert_eq!(mock.introspect_calls(), 1);
    web.stop().await;

    // wechatContext without a token: not trusted, unless the deployment opts in.
    let forged =
        cloudbase_context(&json!({"wechatContext": {"openId": "o-forged", "appId": "wx-forged"}}));
    for (trust, want) in [("false", 401), ("true", 200)] {
        let web = start_web("getUserInfo", &mock, &[("TCB_TRUST_WECHAT_CONTEXT", trust)]).await;
        let (status, body, _) = get(&web, &[("X-Cloudbase-Context", &forged)]).await;
        assert_eq!(status, want, "trust={trust}: {body}");
        if want == 200 {
            assert_eq!(body["openid"], "o-forged");
        }
        web.stop().await;
    }

    // Off: tokens are ignored.
    let web = start_web("getUserInfo", &mock, &[("TCB_TOKEN_VERIFY", "off")]).await;
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("UNAUTHENTICATED"))
    );
    web.stop().await;

    // A bad setting: MISCONFIGURED names it, for callers with a token.
    let web = start_web(
        "getUserInfo",
        &mock,
        &[("TCB_JWKS_URL", "http://example.com/certs")],
    )
    .await;
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (500, json!("MISCONFIGURED"))
    );
    assert!(body["message"].as_str().unwrap().contains("TCB_JWKS_URL"));
    web.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn event_mode_http_events_carry_tokens_and_call_events_do_not() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let runner = start(&function_bin("getUserInfo"), &mock.env_vars(), 3000).await;
    let token = mock.mint(UserClaims::new("uid-e").openid("o-e"));
    let http = |auth: String| {
        let mut e = events::http_access("GET", "/", None, ENV_ID);
        e["headers"]["authorization"] = json!(auth);
        e
    };
    let (status, _, body) = http_parts(&runner.invoke(&http(format!("Bearer {token}"))).await);
    assert_eq!(
        (status, body["uid"].clone(), body["openid"].clone()),
        (200, json!("uid-e"), json!("o-e"))
    );
    // A 16 KB token reaches the function in event mode: refused for its size.
    let big = tokens::oversized(&mock, "uid-e");
    let (status, _, body) = http_parts(&runner.invoke(&http(format!("Bearer {big}"))).await);
    assert_eq!((status, body["reason"].clone()), (401, json!("malformed")));
    // A callFunction event presents no token, whatever its data holds; its userInfo is the caller.
    let call = events::call_function(
        json!({"headers": {"authorization": format!("Bearer {token}")}}),
        Some("o-wx"),
        Some("wx1"),
    );
    let Outcome::Response(raw) = runner.invoke(&call).await else {
        panic!("expected a response")
    };
    let body = body_json(&raw);
    assert_eq!(body["openid"], "o-wx");
    assert!(body.get("uid").is_none(), "{body}");
    let (_, logs) = runner.stop().await;
    assert!(!logs.contains(&token[token.len() - 20..]));
    assert!(!logs.contains("eyJ"));
}
