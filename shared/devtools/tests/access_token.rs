//! Caller identity over HTTP from CloudBase access tokens (issue 13): the real `getUserInfo` and
//! `test` binaries, in web mode and in event mode, against the CloudBase auth mock on 127.0.0.1.
//!
//! The fault matrix: every forged token in `testkit::tokens` is refused with its reason; a token in
//! `X-Cloudbase-Context` works like a Bearer one and the two must agree; the key set down, slow,
//! garbage, empty, huge or of the wrong shape gives `503 AUTH_UNAVAILABLE` (with `Retry-After`)
//! when introspect is down too, and the caller when introspect answers; rotation takes one
//! refetch; a storm of unknown kids takes at most one; no token shows up in any answer or log line.
//!
//! Issue 18: tokens of the three real shapes (`testdata/cloudbase_token_shapes.json`: a user, the
//! publishable key, a server API key) in every issuer form, in `jwks` and `introspect` mode; the
//! customUserId of a custom-ticket user from `/auth/v1/user/me`, one call per token; the key set
//! of the token's own issuer host; introspect answers that name the user without vouching.

use std::io::Write;
use std::time::Duration;

use base64::Engine as _;
use scf_emulator::emulator::Outcome;
use scf_emulator::events;
use serde_json::{Value, json};
use wxlogin_devtools::mock_cloudbase::{
    IntrospectFault, JwksFault, MockCloudBase, MockIssuer, UserClaims, UserMeFault, new_uid,
};
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
    // isAnonymous always said for a token; no customUserId (the mock's user/me lists no custom
    // provider for this user).
    assert_eq!(
        body,
        json!({"openid": null, "appid": null, "unionid": null, "uid": "uid-bob", "isAnonymous": false})
    );
    assert_eq!(mock.jwks_fetches(), 1, "one fetch, then the cached key set");

    // Inside the 60 s leeway (with the openid in its meta: no user/me lookup).
    let now = wxlogin_devtools::mock_cloudbase::now_secs();
    let leeway = mock.mint(
        UserClaims::new("uid-late")
            .openid("o-late")
            .iat(now - 3600)
            .exp(now - 30),
    );
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {leeway}"))]).await;
    assert_eq!((status, body["uid"].clone()), (200, json!("uid-late")));
    // Without an openid, user/me is asked, and CloudBase's clock has no leeway: it refuses.
    let late = tokens::expired_inside_leeway(&mock, "uid-late");
    let (status, body, _) = get(&web, &[("Authorization", &format!("Bearer {late}"))]).await;
    assert_eq!(
        (status, body["reason"].clone()),
        (401, json!("rejected")),
        "{body}"
    );

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
        "wrong-aud" | "other-env" => "wrong_env",
        "wrong-iss" | "iss-array" | "foreign-issuer" => "wrong_issuer",
        "api-key" => "missing_claim",
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
    all_tokens.extend([with_ids.clone(), bare.clone(), leeway, late]);
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

/// A request with `token` as `Authorization: Bearer`.
async fn bearer(web: &WebProcess, token: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (status, body, _) = get(web, &[("Authorization", &auth)]).await;
    (status, body)
}

/// The three real shapes, in each issuer form, in both modes, through getUserInfo and test over
/// HTTP: a custom-ticket user (no openid in the token: the customUserId from user/me, one call per
/// token), the publishable key (anonymous), a server API key (refused); a token of another env is
/// `wrong_env` and an `iss` array `wrong_issuer` in both modes.
#[tokio::test(flavor = "current_thread")]
async fn real_token_shapes_in_every_issuer_form_and_mode() {
    for form in [
        MockIssuer::TcbApi,
        MockIssuer::Gateway,
        MockIssuer::IntlGateway,
    ] {
        for mode in ["jwks", "introspect"] {
            let at = format!("{form:?}/{mode}");
            let mock = MockCloudBase::start_with(ENV_ID, form.clone())
                .await
                .unwrap();
            let settings = [("TCB_TOKEN_VERIFY", mode)];
            let info = start_web("getUserInfo", &mock, &settings).await;
            let test = start_web("test", &mock, &settings).await;
            let uid = new_uid();
            let user = mock.mint(UserClaims::new(&uid).custom_user_id("oCustomUser1"));
            for _ in 0..3 {
                let (status, body) = bearer(&info, &user).await;
                assert_eq!(status, 200, "{at}: {body}");
                assert_eq!(
                    body,
                    json!({"openid": "oCustomUser1", "appid": null, "unionid": null, "uid": uid,
                           "customUserId": "oCustomUser1", "isAnonymous": false}),
                    "{at}"
                );
            }
            let (status, body) = bearer(&test, &user).await;
            assert_eq!(
                (status, body["success"].clone()),
                (200, json!(true)),
                "{at}: {body}"
            );
            assert_eq!(body["identity"]["openid"], "oCustomUser1", "{at}");
            assert_eq!(body["identity"]["uid"], json!(uid), "{at}");
            // One user/me call per token per process (getUserInfo's and test's).
            assert_eq!(mock.user_me_calls(), 2, "{at}");

            let anon = mock.publishable_key();
            let (status, body) = bearer(&info, &anon).await;
            assert_eq!(
                (status, body),
                (
                    200,
                    json!({"openid": null, "appid": null, "unionid": null, "uid": "anon", "isAnonymous": true})
                ),
                "{at}"
            );
            let (status, body) = bearer(&test, &anon).await;
            assert_eq!(
                (status, body["error"].clone(), body["success"].clone()),
                (401, json!("ANONYMOUS"), json!(false)),
                "{at}: {body}"
            );
            assert_eq!(
                mock.user_me_calls(),
                2,
                "{at}: an anonymous caller is never looked up"
            );

            for (name, token, reason) in [
                ("api-key", mock.api_key(), "missing_claim"),
                ("other-env", tokens::other_env(&mock, &uid), "wrong_env"),
                ("iss-array", tokens::iss_array(&mock, &uid), "wrong_issuer"),
                (
                    "foreign-issuer",
                    tokens::foreign_issuer(&mock, &uid),
                    "wrong_issuer",
                ),
            ] {
                for web in [&info, &test] {
                    let (status, body) = bearer(web, &token).await;
                    assert_eq!(
                        (status, body["error"].clone(), body["reason"].clone()),
                        (401, json!("INVALID_TOKEN"), json!(reason)),
                        "{at} {name}: {body}"
                    );
                }
            }
            if mode == "introspect" {
                assert_eq!(mock.jwks_fetches(), 0, "{at}");
                // Claims are checked before CloudBase is asked: two good tokens, two processes.
                assert_eq!(mock.introspect_calls(), 4, "{at}");
            } else {
                assert_eq!(mock.introspect_calls(), 0, "{at}");
            }
            let mut logs = info.stop().await.1;
            logs.push_str(&test.stop().await.1);
            assert!(!logs.contains("eyJ"), "{at}: a token in the logs");
            assert!(
                !logs.contains("oCustomUser1"),
                "{at}: the customUserId in the logs"
            );
            assert!(!logs.contains(&uid), "{at}: a uid in the logs");
        }
    }
}

/// The customUserId lookup fails cleanly: user/me down or naming another user is 503 for
/// handlers that need the openid; a token that carries its openid never asks; with
/// `TCB_CUSTOM_USER_ID_IS_OPENID=false` the customUserId is not taken for the openid.
#[tokio::test(flavor = "current_thread")]
async fn the_custom_user_id_lookup_and_its_failures() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let web = start_web("getUserInfo", &mock, &[]).await;
    for fault in [UserMeFault::Down, UserMeFault::OtherUser] {
        mock.set_user_me_fault(fault);
        let token = mock.mint(UserClaims::new(&new_uid()).custom_user_id("oC"));
        let auth = format!("Bearer {token}");
        let (status, h, raw) = web
            .request("GET", "/", &[("Authorization", &auth)], b"")
            .await;
        let body = body_json(&raw);
        assert_eq!(
            (status, body["error"].clone()),
            (503, json!("AUTH_UNAVAILABLE")),
            "{fault:?}: {body}"
        );
        assert_eq!(h.get("retry-after").map(String::as_str), Some("10"));
        // Not cached: once user/me answers, the same token gets its customUserId.
        mock.set_user_me_fault(UserMeFault::None);
        let (status, body) = bearer(&web, &token).await;
        assert_eq!(
            (status, body["customUserId"].clone()),
            (200, json!("oC")),
            "{fault:?}"
        );
    }
    let calls = mock.user_me_calls();
    let with_openid = mock.mint(
        UserClaims::new("uid-w")
            .openid("oInToken")
            .custom_user_id("c"),
    );
    let (status, body) = bearer(&web, &with_openid).await;
    assert_eq!((status, body["openid"].clone()), (200, json!("oInToken")));
    assert_eq!(
        mock.user_me_calls(),
        calls,
        "an openid in the token needs no lookup"
    );
    web.stop().await;

    let web = start_web(
        "getUserInfo",
        &mock,
        &[("TCB_CUSTOM_USER_ID_IS_OPENID", "false")],
    )
    .await;
    let token = mock.mint(UserClaims::new("uid-n").custom_user_id("team-id-7"));
    let (status, body) = bearer(&web, &token).await;
    assert_eq!(
        (status, body["customUserId"].clone(), body["openid"].clone()),
        (200, json!("team-id-7"), Value::Null)
    );
    web.stop().await;
}

/// A kid that `TCB_JWKS_URL`'s key set does not hold is looked up at the token's own issuer host,
/// but only for an accepted issuer: a token naming another host makes no fetch there.
#[tokio::test(flavor = "current_thread")]
async fn the_issuer_hosts_key_set_only_for_accepted_issuers() {
    // The token's issuer: a mock whose issuer is its own loopback URL (so its host is reachable).
    let issuer = MockCloudBase::start_with(ENV_ID, MockIssuer::Loopback)
        .await
        .unwrap();
    // The configured key set: another mock, with other keys.
    let gateway = MockCloudBase::start(ENV_ID).await.unwrap();
    // A host outside the accepted set, with the same shape of routes.
    let outsider = MockCloudBase::start_with(ENV_ID, MockIssuer::Loopback)
        .await
        .unwrap();
    let mut env = issuer.env_vars();
    env.retain(|(k, _)| k != "TCB_JWKS_URL");
    env.push(("TCB_JWKS_URL".into(), gateway.jwks_url()));
    let web = WebProcess::start(&function_bin("getUserInfo"), &env).await;

    let token = issuer.mint(UserClaims::new("uid-iss").openid("o-iss"));
    for _ in 0..2 {
        let (status, body) = bearer(&web, &token).await;
        assert_eq!(
            (status, body["uid"].clone()),
            (200, json!("uid-iss")),
            "{body}"
        );
    }
    // The configured key set is asked first, and refetched once for the kid it lacks (at most
    // once a minute); then the issuer's, once.
    assert_eq!(gateway.jwks_fetches(), 2);
    assert_eq!(issuer.jwks_fetches(), 1);

    let stray = outsider.mint(UserClaims::new("uid-out").openid("o-out"));
    let (status, body) = bearer(&web, &stray).await;
    assert_eq!(
        (status, body["reason"].clone()),
        (401, json!("unknown_key")),
        "{body}"
    );
    assert_eq!(
        outsider.jwks_fetches(),
        0,
        "no fetch from a host outside the set"
    );
    web.stop().await;
}

/// Introspect answers that name the token's user without vouching for it are refused, in
/// introspect mode and as the key set's fallback: a self-signed token stays out.
#[tokio::test(flavor = "current_thread")]
async fn introspect_answers_that_do_not_vouch_are_refused() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let forged = tokens::foreign_key_published_kid(&mock, "uid-x").unwrap();
    let good = mock.mint(UserClaims::new("uid-g").openid("o-g"));
    for (mode, jwks) in [("introspect", JwksFault::None), ("jwks", JwksFault::Down)] {
        mock.set_jwks_fault(jwks);
        let web = start_web("getUserInfo", &mock, &[("TCB_TOKEN_VERIFY", mode)]).await;
        for fault in [
            IntrospectFault::InactiveWithSub,
            IntrospectFault::ErrorWithSub,
        ] {
            mock.set_introspect_fault(fault);
            for token in [&forged, &good] {
                let (status, body) = bearer(&web, token).await;
                assert_eq!(
                    (status, body["reason"].clone()),
                    (401, json!("rejected")),
                    "{mode} {fault:?}: {body}"
                );
            }
        }
        mock.set_introspect_fault(IntrospectFault::None);
        let (status, body) = bearer(&web, &good).await;
        assert_eq!(
            (status, body["uid"].clone()),
            (200, json!("uid-g")),
            "{mode}"
        );
        web.stop().await;
    }
}

/// Event mode: an HTTP event whose token arrives in `X-Cloudbase-Context` alone, in the real
/// shape: the user (with the customUserId), the anonymous key, another env's token.
#[tokio::test(flavor = "current_thread")]
async fn event_mode_real_shapes_in_x_cloudbase_context() {
    let mock = MockCloudBase::start(ENV_ID).await.unwrap();
    let runner = start(&function_bin("getUserInfo"), &mock.env_vars(), 3000).await;
    let event = |token: &str| {
        let mut e = events::http_access("GET", "/", None, ENV_ID);
        e["headers"]["x-cloudbase-context"] = json!(cloudbase_context(
            &json!({"envId": ENV_ID, "accessToken": token})
        ));
        e
    };
    let uid = new_uid();
    let user = mock.mint(UserClaims::new(&uid).custom_user_id("oEvt"));
    let (status, _, body) = http_parts(&runner.invoke(&event(&user)).await);
    assert_eq!(
        (status, body["uid"].clone(), body["openid"].clone()),
        (200, json!(uid), json!("oEvt")),
        "{body}"
    );
    let (status, _, body) = http_parts(&runner.invoke(&event(&mock.publishable_key())).await);
    assert_eq!(
        (status, body["isAnonymous"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (status, _, body) =
        http_parts(&runner.invoke(&event(&tokens::other_env(&mock, &uid))).await);
    assert_eq!(
        (status, body["reason"].clone()),
        (401, json!("wrong_env")),
        "{body}"
    );
    let (_, logs) = runner.stop().await;
    assert!(!logs.contains("eyJ") && !logs.contains("oEvt"));
}
