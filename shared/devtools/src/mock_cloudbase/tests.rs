//! The CloudBase mock over real HTTP on 127.0.0.1: its tokens verify with jsonwebtoken's own JWK
//! support against the JWKS it serves, introspection tells good tokens from bad, rotation and
//! staging change what is published, and every fault is visible on the wire.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::*;
use crate::http::{Answer, request};

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
        "https://mock-env-1.api.tcloudbasegateway.com"
    );
    assert_eq!(claims["scope"], "user");
    assert_eq!(claims["groups"], json!(["default"]));
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
        json!({"token_type": "Bearer", "client_id": ENV, "sub": "uid-2", "scope": "user"})
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
    assert_eq!(claims["meta"], json!({"wxOpenId": "oThree"}));
    assert_eq!(introspect_answer(&mock, Some(token)).await["sub"], "uid-3");

    let default: Value = serde_json::from_slice(
        &request(mock.port(), "POST", MINT_PATH, &[], br#"{"uid":"u"}"#)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(default["expires_in"], DEFAULT_TTL_SECS);

    let long_uid = format!(r#"{{"uid":"{}"}}"#, "u".repeat(257));
    for bad in [
        "not json",
        "[]",
        "{}",
        r#"{"uid":""}"#,
        r#"{"uid":5}"#,
        long_uid.as_str(),
        r#"{"uid":"u","ttl_secs":0}"#,
        r#"{"uid":"u","ttl_secs":86401}"#,
        r#"{"uid":"u","ttl_secs":"60"}"#,
        r#"{"uid":"u","openid":7}"#,
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
    assert_eq!(vars["TCB_TOKEN_ISSUER"], issuer_for(ENV));
    assert_eq!(vars["TCB_TOKEN_ISSUER"], mock.issuer());
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
}

#[test]
fn user_claims_shape_and_overrides() {
    let c = UserClaims::new("u").to_json("e", 1000);
    assert_eq!(
        c,
        json!({"iss": "https://e.api.tcloudbasegateway.com", "sub": "u", "aud": "e",
               "iat": 1000, "exp": 8200, "scope": "user", "user_type": "externalUser",
               "provider_type": "custom", "groups": ["default"]})
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
    assert_eq!(c["meta"], json!({"wxUnionId": "uU"}));
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
    assert_eq!(key.kid().len(), 16);
    // The two public DER forms are different encodings of the same key.
    assert_ne!(key.public_key_spki_der(), key.public_key_pkcs1_der());
    assert!(
        key.public_key_spki_der()
            .windows(key.public_key_pkcs1_der().len())
            .any(|w| w == key.public_key_pkcs1_der())
    );
}
