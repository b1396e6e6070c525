//! The CloudBase mock over real HTTP on 127.0.0.1: its tokens verify with jsonwebtoken's own JWK
//! support against the JWKS it serves, introspection tells good tokens from bad, rotation and
//! staging change what is published, and every fault is visible on the wire.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scf_emulator::http::{Answer, request};

const ENV: &str = "mock-env-1";

async fn get(mock: &MockCloudBase, path: &str, headers: &[(&str, &str)]) -> Answer {
    request(mock.port(), "GET", path, headers, b"")
        .await
        .unwrap()
}

async fn served_jwks(mock: &MockCloudBase) -> JwkSet {
    let a = get(mock, JWKS_PATH, &[]).await;
    assert_eq!(a.status, 200);
    serde_json::from_slice(&a.body).unwrap()
}

/// Verify `token` as a careful client would: the kid's key from the served JWKS, RS256 only,
/// aud = env id, iss = the production issuer.
async fn verify_with_served_jwks(mock: &MockCloudBase, token: &str) -> Option<Value> {
    let set = served_jwks(mock).await;
    let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
    let key = DecodingKey::from_jwk(set.find(&kid)?).ok()?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[ENV]);
    v.set_issuer(&[issuer_for(ENV)]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .ok()
        .map(|d| d.claims)
}

async fn introspect_answer(mock: &MockCloudBase, token: Option<&str>) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    let a = get(mock, INTROSPECT_PATH, &headers).await;
    assert_eq!(a.status, 200);
    serde_json::from_slice(&a.body).unwrap()
}

#[tokio::test]
async fn minted_token_verifies_with_jsonwebtoken_against_the_served_jwks() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let token = mock.mint(
        UserClaims::new("uid-1")
            .openid("oOpen1")
            .unionid("uUnion1")
            .ttl_secs(600),
    );
    let claims = verify_with_served_jwks(&mock, &token).await.expect("valid");
    assert_eq!(claims["sub"], "uid-1");
    assert_eq!(claims["aud"], ENV);
    assert_eq!(
        claims["iss"],
        "https://mock-env-1.ap-shanghai.tcb-api.tencentcloudapi.com"
    );
    assert_eq!(claims["scope"], "user sso");
    assert_eq!(claims["user_id"], "uid-1");
    assert_eq!(
        claims["meta"],
        json!({"wxOpenId": "oOpen1", "wxUnionId": "uUnion1"})
    );
    // Seconds, not milliseconds.
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(claims["exp"].as_i64().unwrap() < 10_000_000_000);
    assert!(claims.get("nbf").is_none());

    // The JWKS entry has the documented shape, and the header names its kid.
    let jwks: Value = serde_json::from_slice(&get(&mock, JWKS_PATH, &[]).await.body).unwrap();
    let entry = &jwks["keys"][0];
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    for (k, v) in [("kty", "RSA"), ("alg", "RS256"), ("use", "sig")] {
        assert_eq!(entry[k], v, "{entry}");
    }
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ, None, "real tokens have no typ");
    assert_eq!(header.kid.as_deref(), entry["kid"].as_str());
    assert!(!entry["n"].as_str().unwrap().contains('='), "no padding");
    assert_eq!(mock.jwks_fetches(), 2);

    // A token of another env does not verify against this env's expectations.
    let other = mock.mint(UserClaims::new("uid-1").aud("other-env"));
    assert!(verify_with_served_jwks(&mock, &other).await.is_none());
}

#[tokio::test]
async fn introspect_answers_the_claims_or_an_empty_object() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let token = mock.mint(UserClaims::new("uid-2"));
    assert_eq!(
        introspect_answer(&mock, Some(&token)).await,
        json!({"token_type": "Bearer", "client_id": ENV, "sub": "uid-2", "scope": "user sso"})
    );
    let expired = mock.mint(UserClaims::new("uid-2").exp(now_secs() - 10));
    let wrong_aud = mock.mint(UserClaims::new("uid-2").aud("other-env"));
    let wrong_iss = mock.mint(UserClaims::new("uid-2").iss("https://evil.example"));
    let future_iat = mock.mint(UserClaims::new("uid-2").iat(now_secs() + 3600));
    let not_yet = mock.mint(UserClaims::new("uid-2").nbf(now_secs() + 3600));
    let no_exp = mock.mint(UserClaims::new("uid-2").extra("exp", Value::Null));
    for bad in [
        Some("garbage"),
        None,
        Some(expired.as_str()),
        Some(wrong_aud.as_str()),
        Some(wrong_iss.as_str()),
        Some(future_iat.as_str()),
        Some(not_yet.as_str()),
        Some(no_exp.as_str()),
    ] {
        assert_eq!(introspect_answer(&mock, bad).await, json!({}), "{bad:?}");
    }
    // Not "Bearer": refused too.
    let basic = format!("Basic {token}");
    let a = get(&mock, INTROSPECT_PATH, &[("authorization", &basic)]).await;
    assert_eq!(a.body, b"{}");
    assert_eq!(mock.introspect_calls(), 10);
    assert!(mock.accepts(&token));
    assert!(!mock.accepts(&expired));
}

#[tokio::test]
async fn the_mint_route_hands_out_tokens_and_refuses_bad_bodies() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let body = br#"{"uid":"uid-3","openid":"oThree","ttl_secs":60}"#;
    let a = request(mock.port(), "POST", MINT_PATH, &[], body)
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["expires_in"], 60);
    let token = v["access_token"].as_str().unwrap();
    let claims = verify_with_served_jwks(&mock, token).await.expect("valid");
    assert_eq!(claims["sub"], "uid-3");
    assert_eq!(
        claims["meta"],
        json!({"wxOpenId": "oThree", "wxUnionId": ""})
    );
    assert_eq!(introspect_answer(&mock, Some(token)).await["sub"], "uid-3");

    let default: Value = serde_json::from_slice(
        &request(mock.port(), "POST", MINT_PATH, &[], br#"{}"#)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(default["expires_in"], DEFAULT_TTL_SECS);
    // Without a uid: a real-shaped 19-digit one.
    let claims = verify_with_served_jwks(&mock, default["access_token"].as_str().unwrap())
        .await
        .unwrap();
    let sub = claims["sub"].as_str().unwrap();
    assert!(
        sub.len() == 19 && sub.bytes().all(|b| b.is_ascii_digit()),
        "{sub}"
    );
    // The anonymous publishable key.
    let anon: Value = serde_json::from_slice(
        &request(
            mock.port(),
            "POST",
            MINT_PATH,
            &[],
            br#"{"anonymous":true}"#,
        )
        .await
        .unwrap()
        .body,
    )
    .unwrap();
    let claims = verify_with_served_jwks(&mock, anon["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (claims["sub"].clone(), claims["scope"].clone()),
        (json!("anon"), json!("anonymous"))
    );

    let long_uid = format!(r#"{{"uid":"{}"}}"#, "u".repeat(257));
    for bad in [
        "not json",
        "[]",
        r#"{"uid":""}"#,
        r#"{"uid":5}"#,
        long_uid.as_str(),
        r#"{"uid":"u","ttl_secs":0}"#,
        r#"{"uid":"u","ttl_secs":86401}"#,
        r#"{"uid":"u","ttl_secs":"60"}"#,
        r#"{"uid":"u","openid":7}"#,
        r#"{"uid":"u","custom_user_id":[]}"#,
    ] {
        let a = request(mock.port(), "POST", MINT_PATH, &[], bad.as_bytes())
            .await
            .unwrap();
        assert_eq!(a.status, 400, "{bad}");
        let e: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(e["error"], "BAD_REQUEST", "{bad}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn rotation_and_staging_change_what_is_published() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let first_kid = mock.signing_key().kid().to_owned();
    let old = mock.mint(UserClaims::new("uid-4"));

    // Rotate keeping the old key: both kids served, both tokens verify.
    let second_kid = mock.rotate(true).unwrap();
    assert_ne!(second_kid, first_kid);
    assert_eq!(
        mock.published_kids(),
        vec![first_kid.clone(), second_kid.clone()]
    );
    let new = mock.mint(UserClaims::new("uid-4"));
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some(second_kid.as_str())
    );
    assert!(verify_with_served_jwks(&mock, &old).await.is_some());
    assert!(verify_with_served_jwks(&mock, &new).await.is_some());
    assert_eq!(served_jwks(&mock).await.keys.len(), 2);

    // Rotate dropping the old keys: only the newest is served; older tokens stop verifying.
    let third_kid = mock.rotate(false).unwrap();
    assert_eq!(mock.published_kids(), vec![third_kid.clone()]);
    assert!(verify_with_served_jwks(&mock, &old).await.is_none());
    assert!(verify_with_served_jwks(&mock, &new).await.is_none());
    assert_eq!(introspect_answer(&mock, Some(&new)).await, json!({}));
    let third = mock.mint(UserClaims::new("uid-4"));
    assert!(verify_with_served_jwks(&mock, &third).await.is_some());

    // Staged: the new key signs, but its kid is not served until published.
    let staged_kid = mock.stage_rotation().unwrap();
    let staged = mock.mint(UserClaims::new("uid-4"));
    assert_eq!(mock.published_kids(), vec![third_kid.clone()]);
    assert!(served_jwks(&mock).await.find(&staged_kid).is_none());
    assert!(verify_with_served_jwks(&mock, &staged).await.is_none());
    assert_eq!(introspect_answer(&mock, Some(&staged)).await, json!({}));
    mock.publish_staged(true);
    assert_eq!(mock.published_kids(), vec![third_kid, staged_kid.clone()]);
    assert!(verify_with_served_jwks(&mock, &staged).await.is_some());
    assert!(verify_with_served_jwks(&mock, &third).await.is_some());
    assert_eq!(
        introspect_answer(&mock, Some(&staged)).await["sub"],
        "uid-4"
    );
    // Publishing twice does not repeat the key.
    mock.publish_staged(true);
    assert_eq!(mock.published_kids().len(), 2);
}

#[tokio::test]
async fn every_jwks_fault_is_visible_on_the_wire() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let kid = mock.signing_key().kid().to_owned();
    let json_of = |a: &Answer| serde_json::from_slice::<Value>(&a.body);

    mock.set_jwks_fault(JwksFault::Down);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(a.status, 503);
    assert!(json_of(&a).is_err());

    mock.set_jwks_fault(JwksFault::Slow(Duration::from_millis(50)));
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!((a.status, json_of(&a).unwrap()), (200, mock.jwks()));

    mock.set_jwks_fault(JwksFault::Garbage);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/json");
    assert!(json_of(&a).is_err());

    mock.set_jwks_fault(JwksFault::Html);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(
        (a.status, a.headers["content-type"].as_str()),
        (200, "text/html")
    );
    assert!(json_of(&a).is_err());

    mock.set_jwks_fault(JwksFault::EmptyKeys);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(json_of(&a).unwrap(), json!({"keys": []}));

    mock.set_jwks_fault(JwksFault::WrongShape);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(json_of(&a).unwrap(), json!({"keys": "x"}));
    assert!(serde_json::from_slice::<JwkSet>(&a.body).is_err());

    // Huge: 8 MiB of valid JSON that still carries the real key.
    mock.set_jwks_fault(JwksFault::Huge);
    let a = get(&mock, JWKS_PATH, &[]).await;
    assert_eq!(a.body.len(), HUGE_JWKS_BYTES);
    let set: JwkSet = serde_json::from_slice(&a.body).unwrap();
    assert!(set.find(&kid).is_some());

    mock.set_jwks_fault(JwksFault::None);
    assert_eq!(
        json_of(&get(&mock, JWKS_PATH, &[]).await).unwrap(),
        mock.jwks()
    );
    assert_eq!(mock.jwks_fetches(), 8);
}

#[tokio::test]
async fn every_introspect_fault_is_visible_on_the_wire() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let token = mock.mint(UserClaims::new("uid-5"));
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str())];

    mock.set_introspect_fault(IntrospectFault::Down);
    let a = get(&mock, INTROSPECT_PATH, &headers).await;
    assert_eq!(a.status, 503);

    mock.set_introspect_fault(IntrospectFault::Garbage);
    let a = get(&mock, INTROSPECT_PATH, &headers).await;
    assert_eq!(a.status, 200);
    assert!(serde_json::from_slice::<Value>(&a.body).is_err());

    mock.set_introspect_fault(IntrospectFault::Slow(Duration::from_millis(50)));
    assert_eq!(introspect_answer(&mock, Some(&token)).await["sub"], "uid-5");

    mock.set_introspect_fault(IntrospectFault::None);
    assert_eq!(introspect_answer(&mock, Some(&token)).await["sub"], "uid-5");
    assert_eq!(mock.introspect_calls(), 4);
    assert_eq!(mock.jwks_fetches(), 0);
}

#[tokio::test]
async fn env_vars_point_a_function_at_the_mock() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let vars: std::collections::HashMap<_, _> = mock.env_vars().into_iter().collect();
    assert_eq!(vars["TCB_ENV"], ENV);
    // The issuer is left to the function's defaults; no real issuer host is asked.
    assert!(!vars.contains_key("TCB_TOKEN_ISSUER"));
    assert_eq!(mock.issuer(), issuer_for(ENV));
    assert_eq!(vars["TCB_ISSUER_HOSTS"], "false");
    assert_eq!(vars["TCB_USER_ME_URL"], mock.user_me_url());
    assert_eq!(
        vars["TCB_JWKS_URL"],
        format!("http://127.0.0.1:{}/auth/v1/certs", mock.port())
    );
    assert_eq!(vars["TCB_INTROSPECT_URL"], mock.introspect_url());
    assert!(!vars.contains_key("TCB_TOKEN_VERIFY"));
    assert_eq!(mock.env_id(), ENV);
    assert_eq!(
        MockCloudBase::start("").await.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
    // A loopback issuer: listed, and its host is asked.
    let lo = MockCloudBase::start_with(ENV, MockIssuer::Loopback)
        .await
        .unwrap();
    let vars: std::collections::HashMap<_, _> = lo.env_vars().into_iter().collect();
    assert_eq!(vars["TCB_TOKEN_ISSUER"], lo.base_url());
    assert_eq!(vars["TCB_ISSUER_HOSTS"], "true");
}

/// The JSON type of a value, with placeholders standing for their type.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(s) if s == "<seconds>" => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `minted` has exactly the names of `recorded`, each value of the same JSON type, recursively
/// into objects; literal recorded values (not `<placeholders>`) are equal.
fn same_shape(path: &str, recorded: &Value, minted: &Value) {
    assert_eq!(kind(recorded), kind(minted), "{path}: {minted}");
    match (recorded, minted) {
        (Value::Object(r), Value::Object(m)) => {
            let mut rk: Vec<_> = r.keys().collect();
            let mut mk: Vec<_> = m.keys().collect();
            rk.sort();
            mk.sort();
            assert_eq!(rk, mk, "{path}: the names differ");
            for (k, v) in r {
                same_shape(&format!("{path}.{k}"), v, &m[k]);
            }
        }
        (Value::String(r), Value::String(m)) if !r.starts_with('<') && !r.is_empty() => {
            assert_eq!(r, m, "{path}")
        }
        (Value::Bool(_), _) | (Value::Number(_), _) if kind(recorded) == kind(minted) => {
            assert_eq!(recorded, minted, "{path}")
        }
        _ => {}
    }
}

fn header_and_claims(token: &str) -> (Value, Value) {
    use base64::Engine as _;
    let part = |i: usize| -> Value {
        let seg = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
    };
    (part(0), part(1))
}

/// Every shape the mock mints is the one recorded from real tokens
/// (`testdata/cloudbase_token_shapes.json`, with its sources).
#[tokio::test]
async fn minted_shapes_are_the_recorded_ones() {
    let recorded: Value =
        serde_json::from_str(include_str!("../../testdata/cloudbase_token_shapes.json")).unwrap();
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let user = mock.mint(UserClaims::new(&new_uid()));
    for (name, token) in [
        ("user", user.as_str()),
        ("publishable_key", &mock.publishable_key()),
        ("api_key", &mock.api_key()),
    ] {
        let shape = &recorded["shapes"][name];
        let (header, claims) = header_and_claims(token);
        same_shape(&format!("{name}.header"), &shape["header"], &header);
        same_shape(&format!("{name}.claims"), &shape["claims"], &claims);
        let kid = header["kid"].as_str().unwrap();
        assert!(
            kid.len() == 36 && kid.bytes().filter(|b| *b == b'-').count() == 4,
            "{kid}"
        );
        if let Some(iss) = claims["iss"].as_str() {
            assert_eq!(
                iss,
                format!("https://{ENV}.ap-shanghai.tcb-api.tencentcloudapi.com")
            );
        }
    }
    let (_, c) = header_and_claims(&user);
    let sub = c["sub"].as_str().unwrap();
    assert!(
        sub.len() == 19 && sub.bytes().all(|b| b.is_ascii_digit()),
        "{sub}"
    );
    assert_eq!(c["user_id"], c["sub"]);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        7200
    );
}

#[tokio::test]
async fn user_me_names_the_custom_user_id_for_verified_tokens_only() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let custom = mock.mint(UserClaims::new("uid-6").custom_user_id("oCustom6"));
    let plain = mock.mint(UserClaims::new("uid-7"));
    let me = |token: String| {
        let mock = &mock;
        async move {
            let auth = format!("Bearer {token}");
            get(mock, USER_ME_PATH, &[("authorization", &auth)]).await
        }
    };
    let a = me(custom.clone()).await;
    assert_eq!(a.status, 200);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["sub"], "uid-6");
    assert_eq!(
        v["providers"],
        json!([{"id": "custom", "provider_user_id": "oCustom6", "name": "custom"}])
    );
    let v: Value = serde_json::from_slice(&me(plain).await.body).unwrap();
    assert_eq!(v["providers"], json!([]));
    let expired = mock.mint(UserClaims::new("uid-6").exp(now_secs() - 10));
    let a = me(expired).await;
    assert_eq!(a.status, 401);
    let e: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(e["error"], "unauthenticated");
    mock.set_user_me_fault(UserMeFault::OtherUser);
    let v: Value = serde_json::from_slice(&me(custom.clone()).await.body).unwrap();
    assert_ne!(v["sub"], "uid-6");
    mock.set_user_me_fault(UserMeFault::Down);
    assert_eq!(me(custom).await.status, 503);
    assert_eq!(mock.user_me_calls(), 5);
}

#[test]
fn user_claims_shape_and_overrides() {
    let c = UserClaims::new("u").to_json("e", 1000);
    assert!(c["at_hash"].as_str().is_some_and(|h| !h.is_empty()));
    let mut c = c;
    c.as_object_mut().unwrap().remove("at_hash");
    assert_eq!(
        c,
        json!({"iss": "https://e.ap-shanghai.tcb-api.tencentcloudapi.com", "sub": "u", "aud": "e",
               "iat": 1000, "exp": 8200, "scope": "user sso", "project_id": "e",
               "provider_type": "custom", "meta": {"wxOpenId": "", "wxUnionId": ""},
               "user_id": "u", "user_type": "external"})
    );
    let c = UserClaims::new("u")
        .nbf(900)
        .iat(950)
        .exp(2000)
        .unionid("uU")
        .extra("scope", Value::Null)
        .extra("groups", json!(["admin"]))
        .to_json("e", 1000);
    assert_eq!(
        (c["nbf"].clone(), c["iat"].clone()),
        (json!(900), json!(950))
    );
    assert_eq!(c["exp"], 2000);
    assert_eq!(c["meta"], json!({"wxOpenId": "", "wxUnionId": "uU"}));
    assert!(c.get("scope").is_none());
    assert_eq!(c["groups"], json!(["admin"]));
}

#[test]
fn a_key_shows_its_kid_and_nothing_private() {
    let key = JwtKey::generate().unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains(key.kid()) && shown.len() < 64, "{shown}");
    assert!(
        key.public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert_eq!(key.kid().len(), 36);
    // The two public DER forms are different encodings of the same key.
    assert_ne!(key.public_key_spki_der(), key.public_key_pkcs1_der());
    assert!(
        key.public_key_spki_der()
            .windows(key.public_key_pkcs1_der().len())
            .any(|w| w == key.public_key_pkcs1_der())
    );
}

/// A ticket signed with the key file's private key over any claims (for the refusals our own
/// minting code would never produce).
fn sign_ticket(key_json: &str, claims: &Value) -> String {
    let v: Value = serde_json::from_str(key_json).unwrap();
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(v["private_key"].as_str().unwrap().as_bytes())
            .unwrap();
    let jwt =
        jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::RS256), claims, &key).unwrap();
    format!("{}/@@/{jwt}", v["private_key_id"].as_str().unwrap())
}

async fn sign_in(mock: &MockCloudBase, body: Value) -> (u16, Value) {
    let a = request(
        mock.port(),
        "POST",
        "/auth/v1/signin/custom?client_id=mock-env-1",
        &[("host", "mock-env-1.api.tcloudbasegateway.com")],
        body.to_string().as_bytes(),
    )
    .await
    .unwrap();
    (a.status, serde_json::from_slice(&a.body).unwrap())
}

/// Sign-in with a custom ticket: our own ticket (wxlogin's minting) is accepted with credentials
/// of the real shape and the sign-in host as issuer, the same customUserId keeps its uid, and
/// every rule of `signin.rs` refuses its ticket with the error body the SDK reads.
#[tokio::test]
async fn sign_in_with_a_custom_ticket_and_its_refusals() {
    let mock = MockCloudBase::start(ENV).await.unwrap();
    let key_json = crate::keys::new_key_file(1024, ENV).unwrap();
    mock.trust_custom_login_key(&key_json).unwrap();
    let key = wxlogin::CustomLoginKey::from_json(&key_json).unwrap();
    let now_ms = (now_secs() * 1000) as u64;
    let ticket = key
        .mint("oUser0001", ENV, now_ms, Default::default())
        .unwrap();
    let (status, creds) = sign_in(&mock, json!({"provider_id": "custom", "ticket": ticket})).await;
    assert_eq!(status, 200, "{creds}");
    assert_eq!(
        (creds["token_type"].clone(), creds["expires_in"].clone()),
        (json!("Bearer"), json!(DEFAULT_TTL_SECS))
    );
    let uid = creds["sub"].as_str().unwrap().to_owned();
    // Issued by the gateway host it was asked at (the request's Host).
    let (_, c) = header_and_claims(creds["access_token"].as_str().unwrap());
    assert_eq!(c["iss"], "https://mock-env-1.api.tcloudbasegateway.com");
    assert_eq!(
        (c["sub"].as_str(), c["meta"]["wxOpenId"].as_str()),
        (Some(uid.as_str()), Some(""))
    );
    assert!(mock.accepts(creds["access_token"].as_str().unwrap()));
    // The same customUserId again: the same uid; refresh works once.
    let again = key
        .mint("oUser0001", ENV, now_ms, Default::default())
        .unwrap();
    let (_, creds2) = sign_in(&mock, json!({"provider_id": "custom", "ticket": again})).await;
    assert_eq!(creds2["sub"], json!(uid));
    let refresh = |token: &str| {
        let body = json!({"grant_type": "refresh_token", "refresh_token": token}).to_string();
        let mock = &mock;
        async move {
            request(mock.port(), "POST", "/auth/v1/token", &[], body.as_bytes())
                .await
                .unwrap()
        }
    };
    let r = refresh(creds2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 200);
    let r: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(r["sub"], json!(uid));
    assert_eq!(
        refresh(creds2["refresh_token"].as_str().unwrap())
            .await
            .status,
        400
    );

    // Every rule, in order. Claims of our choosing are signed by jsonwebtoken, which needs a
    // 2048-bit key: a second trusted key (the 1024-bit one above shows small keys work too).
    let key_json = crate::keys::new_key_file(2048, ENV).unwrap();
    mock.trust_custom_login_key(&key_json).unwrap();
    let good = |over: Value| {
        let mut c = json!({"alg": "RS256", "env": ENV, "iat": now_ms, "exp": now_ms + 600_000,
                           "uid": "oUser0001", "refresh": 3_600_000, "expire": now_ms + 1});
        for (k, v) in over.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let other_key = crate::keys::new_key_file(2048, ENV).unwrap();
    let (kid, jwt) = ticket.split_once("/@@/").unwrap();
    let cases = [
        (jwt.to_owned(), "separator"),
        (format!("{kid}/@/{jwt}"), "separator"),
        (format!("not-a-key-id/@@/{jwt}"), "private_key_id"),
        (format!("{kid}/@@/abc"), "not a JWT"),
        (
            sign_ticket(&other_key, &good(json!({}))).replacen(
                other_key_id(&other_key).as_str(),
                kid,
                1,
            ),
            "signature",
        ),
        (
            sign_ticket(&key_json, &good(json!({"env": "other-env"}))),
            "env",
        ),
        (
            sign_ticket(&key_json, &good(json!({"exp": now_ms - 1}))),
            "expired",
        ),
        (
            sign_ticket(&key_json, &good(json!({"exp": "soon"}))),
            "no exp",
        ),
        (
            sign_ticket(&key_json, &good(json!({"uid": "abc"}))),
            "customUserId",
        ),
        (
            sign_ticket(&key_json, &good(json!({"uid": "a b c d"}))),
            "customUserId",
        ),
    ];
    for (bad, rule) in cases {
        let (status, e) = sign_in(&mock, json!({"provider_id": "custom", "ticket": bad})).await;
        assert_eq!(status, 400, "{rule}");
        assert_eq!(
            (e["error"].clone(), e["error_code"].clone()),
            (json!("invalid_argument"), json!("INVALID_TICKET")),
            "{rule}"
        );
        let why = e["error_description"].as_str().unwrap();
        assert!(
            why.starts_with("invalid ticket: ") && why.contains(rule),
            "{rule}: {why}"
        );
    }
    let (status, e) = sign_in(&mock, json!({"provider_id": "wechat", "ticket": ticket})).await;
    assert_eq!(
        (status, e["error"].clone()),
        (400, json!("invalid_argument"))
    );
    // The mock's clock: 11 minutes on, our ticket has expired.
    mock.set_clock_offset_secs(11 * 60);
    let late = key
        .mint("oUser0001", ENV, now_ms, Default::default())
        .unwrap();
    let (status, e) = sign_in(&mock, json!({"provider_id": "custom", "ticket": late})).await;
    assert_eq!(status, 400);
    assert!(e["error_description"].as_str().unwrap().contains("expired"));
    // Ten refused tickets and the late one; the wrong provider_id is not a ticket refusal.
    assert_eq!(mock.signins(), (2, 11));
}

fn other_key_id(key_json: &str) -> String {
    serde_json::from_str::<Value>(key_json).unwrap()["private_key_id"]
        .as_str()
        .unwrap()
        .to_owned()
}
