//! Forged and broken CloudBase access tokens for the verifier's tests, each built against a
//! running [`MockCloudBase`] so it differs from a good token in exactly one way.
//!
//! Real signatures come from jsonwebtoken ([`JwtKey::sign`], HS256 through `jsonwebtoken::encode`);
//! where jsonwebtoken refuses to build the token (`alg: none`, a payload swapped under a kept
//! signature, bad base64, a header that is not JSON) the segments are written by hand: JSON,
//! then base64url without padding, joined by `.`.
//!
//! Every time is Unix SECONDS. [`must_reject`] lists every token here a verifier must refuse,
//! by name, for matrix tests; [`expired_inside_leeway`] is the one a verifier with the usual
//! 60 s clock leeway must *accept* (the mock's own introspection, which has no leeway, refuses it).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::mock_cloudbase::{JwtKey, MockCloudBase, UserClaims, issuer_for, now_secs};

/// The uid the tampered payload claims instead of the signed one.
pub const TAMPERED_UID: &str = "uid-admin-tampered";
/// The size an [`oversized`] token exceeds, bytes (16 KiB).
pub const OVERSIZED_MIN_BYTES: usize = 16 * 1024;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims a good token for `uid` has on `mock`, issued now.
fn good_claims(mock: &MockCloudBase, uid: &str) -> Value {
    UserClaims::new(uid).to_json(mock.env_id(), now_secs())
}

/// `{"alg":"none","typ":"JWT"}` . good claims . empty signature: an unsigned token.
pub fn alg_none(mock: &MockCloudBase, uid: &str) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(good_claims(mock, uid).to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// Which bytes of the mock's public key the HS256 confusion token uses as its HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyAs {
    /// The `-----BEGIN PUBLIC KEY-----` PEM text, as a verifier that loads "the key file" has it.
    PemText,
    /// The SubjectPublicKeyInfo DER.
    SpkiDer,
    /// The PKCS#1 `RSAPublicKey` DER (what jsonwebtoken's `DecodingKey::from_rsa_pem` keeps).
    Pkcs1Der,
}

/// The algorithm-confusion attack: good claims, header `{"alg":"HS256","kid": <signing kid>}`,
/// HMAC-SHA256 keyed with the mock's *public* signing key in the form `secret`. A verifier that
/// lets the header choose the algorithm and feeds its RSA key bytes to HMAC accepts it.
///
/// # Panics
/// Never: HS256 with any secret and JSON claims always encodes.
pub fn hs256_with_public_key(mock: &MockCloudBase, uid: &str, secret: PublicKeyAs) -> String {
    let key = mock.signing_key();
    let bytes = match secret {
        PublicKeyAs::PemText => key.public_key_pem().into_bytes(),
        PublicKeyAs::SpkiDer => key.public_key_spki_der().to_vec(),
        PublicKeyAs::Pkcs1Der => key.public_key_pkcs1_der().to_vec(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(
        &header,
        &good_claims(mock, uid),
        &EncodingKey::from_secret(&bytes),
    )
    .expect("HS256 encodes")
}

/// Good claims, RS256, under the mock's published signing kid, but signed by another key.
///
/// # Errors
/// When the foreign key cannot be generated.
pub fn foreign_key_published_kid(mock: &MockCloudBase, uid: &str) -> std::io::Result<String> {
    let foreign = JwtKey::generate()?;
    Ok(foreign.sign(mock.signing_key().kid(), &good_claims(mock, uid)))
}

/// Good claims, RS256, signed by a key the mock never published, under that key's own kid (not
/// in the JWKS, even after a refetch).
///
/// # Errors
/// When the foreign key cannot be generated.
pub fn unknown_kid(mock: &MockCloudBase, uid: &str) -> std::io::Result<String> {
    let foreign = JwtKey::generate()?;
    Ok(foreign.sign(foreign.kid(), &good_claims(mock, uid)))
}

/// Signed by the mock; `iat` = now − 7200, `exp` = now − 3600.
pub fn expired(mock: &MockCloudBase, uid: &str) -> String {
    let now = now_secs();
    mock.mint(UserClaims::new(uid).iat(now - 7200).exp(now - 3600))
}

/// Signed by the mock; `exp` = now − 30: expired, but inside a 60 s leeway (accept it with
/// leeway 60; refuse it with none).
pub fn expired_inside_leeway(mock: &MockCloudBase, uid: &str) -> String {
    let now = now_secs();
    mock.mint(UserClaims::new(uid).iat(now - 3600).exp(now - 30))
}

/// Signed by the mock; `nbf` = now + 3600.
pub fn not_yet_valid(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).nbf(now_secs() + 3600))
}

/// Signed by the mock; `iat` = now + 3600 (issued in the future), `exp` = now + 7200 as usual.
pub fn issued_in_future(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).iat(now_secs() + 3600))
}

/// Signed by the mock; `aud` = `other-env` (another env's token).
pub fn wrong_aud(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).aud("other-env"))
}

/// Signed by the mock; `iss` = another env's issuer
/// (`https://other-env.ap-shanghai.tcb-api.tencentcloudapi.com`), `aud` this env's.
pub fn wrong_iss(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).iss(&issuer_for("other-env")))
}

/// Signed by the mock; `iss` = `["https://evil.example", <this env's issuer>]`: an array that
/// holds the right issuer must still be refused (`iss` is a string).
pub fn iss_array(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).extra("iss", json!(["https://evil.example", mock.issuer()])))
}

/// Signed by the mock; `iss` = `https://evil.example`, a host outside the env's issuers.
pub fn foreign_issuer(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).iss("https://evil.example"))
}

/// A token of another env, whole: `aud` and `iss` both `other-env`'s, signed by a published key
/// (one kid signs several envs' tokens: only `aud` separates them). Refused as `wrong_env`.
pub fn other_env(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(
        UserClaims::new(uid)
            .aud("other-env")
            .iss(&issuer_for("other-env")),
    )
}

/// A good token for `uid` whose payload segment is replaced by the same claims with `sub` =
/// [`TAMPERED_UID`]; header and signature are the original ones.
pub fn tampered_payload(mock: &MockCloudBase, uid: &str) -> String {
    let claims = good_claims(mock, uid);
    let token = mock.sign_claims(&claims);
    let mut forged = claims;
    forged["sub"] = TAMPERED_UID.into();
    let mut parts = token.split('.');
    let (header, _, signature) = (parts.next(), parts.next(), parts.next());
    format!(
        "{}.{}.{}",
        header.unwrap_or_default(),
        b64(forged.to_string().as_bytes()),
        signature.unwrap_or_default()
    )
}

/// Tokens that are not JWTs, by name: `not-a-jwt` (`abc`), `two-segments`, `bad-base64`
/// (characters outside base64url), `header-not-json` (a base64url header that is plain text,
/// with a good payload and a signature segment), `empty`.
pub fn malformed(mock: &MockCloudBase, uid: &str) -> Vec<(&'static str, String)> {
    let good = mock.mint(UserClaims::new(uid));
    let mut parts = good.splitn(2, '.');
    let _header = parts.next();
    let rest = parts.next().unwrap_or_default();
    let two: Vec<&str> = good.split('.').take(2).collect();
    vec![
        ("not-a-jwt", "abc".to_owned()),
        ("two-segments", two.join(".")),
        ("bad-base64", "e!J*.e?J%.s~g$".to_owned()),
        (
            "header-not-json",
            format!("{}.{rest}", b64(b"this header is not JSON")),
        ),
        ("empty", String::new()),
    ]
}

/// A token signed by the mock, otherwise good, over [`OVERSIZED_MIN_BYTES`] (16 KiB) long: a
/// `padding` claim of 13,000 characters.
pub fn oversized(mock: &MockCloudBase, uid: &str) -> String {
    mock.mint(UserClaims::new(uid).extra("padding", json!("p".repeat(13_000))))
}

/// Every token here that a verifier must refuse, by name (`alg-none`, `hs256-pem`, `hs256-spki`,
/// `hs256-pkcs1`, `foreign-key`, `unknown-kid`, `expired`, `not-yet-valid`, `iat-in-future`,
/// `wrong-aud`, `wrong-iss`, `iss-array`, `foreign-issuer`, `other-env`, `api-key` (the server
/// API key shape: no `iss`, no `sub`), `tampered-payload`, `oversized`, and the [`malformed`]
/// ones).
/// `oversized` is refused for its size only: its signature and claims are good.
///
/// # Errors
/// When a foreign key cannot be generated.
pub fn must_reject(
    mock: &MockCloudBase,
    uid: &str,
) -> std::io::Result<Vec<(&'static str, String)>> {
    let mut all = vec![
        ("alg-none", alg_none(mock, uid)),
        (
            "hs256-pem",
            hs256_with_public_key(mock, uid, PublicKeyAs::PemText),
        ),
        (
            "hs256-spki",
            hs256_with_public_key(mock, uid, PublicKeyAs::SpkiDer),
        ),
        (
            "hs256-pkcs1",
            hs256_with_public_key(mock, uid, PublicKeyAs::Pkcs1Der),
        ),
        ("foreign-key", foreign_key_published_kid(mock, uid)?),
        ("unknown-kid", unknown_kid(mock, uid)?),
        ("expired", expired(mock, uid)),
        ("not-yet-valid", not_yet_valid(mock, uid)),
        ("iat-in-future", issued_in_future(mock, uid)),
        ("wrong-aud", wrong_aud(mock, uid)),
        ("wrong-iss", wrong_iss(mock, uid)),
        ("iss-array", iss_array(mock, uid)),
        ("foreign-issuer", foreign_issuer(mock, uid)),
        ("other-env", other_env(mock, uid)),
        ("api-key", mock.api_key()),
        ("tampered-payload", tampered_payload(mock, uid)),
        ("oversized", oversized(mock, uid)),
    ];
    all.extend(malformed(mock, uid));
    Ok(all)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    const ENV: &str = "tokens-env";

    fn segments(token: &str) -> Vec<Value> {
        token
            .split('.')
            .take(2)
            .map(|s| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn forged_tokens_differ_from_a_good_one_as_named_and_the_mock_refuses_them() {
        let mock = MockCloudBase::start(ENV).await.unwrap();
        let good = mock.mint(UserClaims::new("u1"));
        assert!(mock.accepts(&good), "the baseline must pass");
        let all = must_reject(&mock, "u1").unwrap();
        assert_eq!(all.len(), 22);
        // The mock sets no size limit (so a test sees the function's own bound): the oversized
        // token is the one it accepts.
        for (name, token) in &all {
            assert_eq!(mock.accepts(token), *name == "oversized", "{name}");
        }
        let by_name = |n: &str| all.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        let now = now_secs();

        // alg none: unsigned, claims of a valid user.
        let t = by_name("alg-none");
        assert!(t.ends_with('.'));
        let [h, c] = <[Value; 2]>::try_from(segments(&t)).unwrap();
        assert_eq!(h["alg"], "none");
        assert_eq!(
            (c["sub"].clone(), c["aud"].clone()),
            (json!("u1"), json!(ENV))
        );

        // HS256 confusion: really an HMAC over the public key bytes, under the published kid.
        let key = mock.signing_key();
        for (name, secret) in [
            ("hs256-pem", key.public_key_pem().into_bytes()),
            ("hs256-spki", key.public_key_spki_der().to_vec()),
            ("hs256-pkcs1", key.public_key_pkcs1_der().to_vec()),
        ] {
            let t = by_name(name);
            let header = jsonwebtoken::decode_header(&t).unwrap();
            assert_eq!(header.alg, Algorithm::HS256, "{name}");
            assert_eq!(header.kid.as_deref(), Some(key.kid()), "{name}");
            let mut v = Validation::new(Algorithm::HS256);
            v.set_audience(&[ENV]);
            let ok = jsonwebtoken::decode::<Value>(&t, &DecodingKey::from_secret(&secret), &v);
            assert!(ok.is_ok(), "{name}: {ok:?}");
        }

        // A foreign signature under the published kid; an unknown kid.
        assert_eq!(
            jsonwebtoken::decode_header(by_name("foreign-key"))
                .unwrap()
                .kid
                .as_deref(),
            Some(key.kid())
        );
        let kid = jsonwebtoken::decode_header(by_name("unknown-kid"))
            .unwrap()
            .kid
            .unwrap();
        assert!(!mock.published_kids().contains(&kid));

        // Times, audience and issuer.
        let claims = |n: &str| segments(&by_name(n))[1].clone();
        assert!(claims("expired")["exp"].as_i64().unwrap() <= now - 3600);
        assert!(claims("not-yet-valid")["nbf"].as_i64().unwrap() >= now + 3600);
        assert!(claims("iat-in-future")["iat"].as_i64().unwrap() >= now + 3600);
        assert_eq!(claims("wrong-aud")["aud"], "other-env");
        assert_eq!(claims("wrong-iss")["iss"], issuer_for("other-env"));
        assert_eq!(claims("wrong-iss")["aud"], ENV);
        assert_eq!(claims("iss-array")["iss"][1], mock.issuer());
        assert_eq!(claims("foreign-issuer")["iss"], "https://evil.example");
        assert_eq!(
            (
                claims("other-env")["aud"].clone(),
                claims("other-env")["iss"].clone()
            ),
            (json!("other-env"), json!(issuer_for("other-env")))
        );
        let api_key = claims("api-key");
        assert!(api_key.get("iss").is_none() && api_key.get("sub").is_none());
        assert_eq!(api_key["meta"]["platform"], "ApiKey");

        // Tampered: the good token's header and signature, another sub.
        let t = by_name("tampered-payload");
        assert_eq!(claims("tampered-payload")["sub"], TAMPERED_UID);
        let (t_parts, g_parts): (Vec<_>, Vec<_>) =
            (t.split('.').collect(), good.split('.').collect());
        assert_eq!(t_parts.len(), 3);
        assert_eq!(t_parts[0], g_parts[0]);
        assert_ne!(t_parts[1], g_parts[1]);

        // Oversized: only its size is wrong.
        let t = by_name("oversized");
        assert!(t.len() > OVERSIZED_MIN_BYTES, "{}", t.len());
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[ENV]);
        let rsa = DecodingKey::from_rsa_der(key.public_key_pkcs1_der());
        assert!(jsonwebtoken::decode::<Value>(&t, &rsa, &v).is_ok());
    }

    #[tokio::test]
    async fn inside_leeway_passes_with_60_s_and_fails_without() {
        let mock = MockCloudBase::start(ENV).await.unwrap();
        let t = expired_inside_leeway(&mock, "u2");
        let rsa = DecodingKey::from_rsa_der(mock.signing_key().public_key_pkcs1_der());
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[ENV]);
        v.leeway = 60;
        assert!(jsonwebtoken::decode::<Value>(&t, &rsa, &v).is_ok());
        v.leeway = 0;
        assert!(jsonwebtoken::decode::<Value>(&t, &rsa, &v).is_err());
        assert!(!mock.accepts(&t));
    }

    #[tokio::test]
    async fn malformed_tokens_are_not_jwts() {
        let mock = MockCloudBase::start(ENV).await.unwrap();
        for (name, t) in malformed(&mock, "u3") {
            assert!(jsonwebtoken::decode_header(&t).is_err(), "{name}: {t}");
        }
    }
}
