use super::*;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};

const KEY_ID: &str = "c4776958-d385-41bc-bfc8-c33789bfa0c2";
const ENV: &str = "test-env-1a2b";

fn pem(bits: usize, pkcs8: bool) -> String {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
    if pkcs8 {
        key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    } else {
        key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    }
}

fn key_json(pem: &str, env_id: Option<&str>) -> String {
    json!({"private_key_id": KEY_ID, "private_key": pem, "env_id": env_id}).to_string()
}

fn decode_part(p: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../testdata/node_sdk_ticket.json")).unwrap()
}

#[test]
fn matches_node_sdk_create_ticket_for_1024_and_2048_bit_keys() {
    let f = fixtures();
    let now = f["now_ms"].as_u64().unwrap();
    for (bits, pkcs8) in [(1024, false), (2048, true)] {
        let key = CustomLoginKey::from_json(&key_json(&pem(bits, pkcs8), Some(ENV))).unwrap();
        assert_eq!(key.bits(), bits as u32);
        let mut compared = 0;
        for case in f["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            if case.get("throws").is_some() || case.get("init").is_some() {
                continue;
            }
            let opts = &case["options"];
            let options = TicketOptions {
                refresh_ms: opts.get("refresh").and_then(Value::as_u64),
                expire_ms: opts.get("expire").and_then(Value::as_u64),
            };
            let ticket = key
                .mint(case["uid"].as_str().unwrap(), ENV, now, options)
                .unwrap();
            let (prefix, jwt) = ticket.split_once("/@@/").unwrap();
            assert_eq!(prefix, case["prefix"], "{name}");
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            assert_eq!(decode_part(parts[0]), case["header"], "{name} header");
            assert_eq!(decode_part(parts[1]), case["payload"], "{name} payload");
            // Key order too: alg, env, iat, exp, uid, refresh, expire.
            let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert!(raw.starts_with(r#"{"alg":"RS256","env":"#), "{raw}");
            assert!(key.inspect(&ticket, now).ok(), "{name}");
            compared += 1;
        }
        assert!(compared >= 9, "compared {compared}");
    }
}

#[test]
fn uid_rules_match_node_sdk() {
    for case in fixtures()["cases"].as_array().unwrap() {
        let Some(uid) = case["uid"].as_str() else {
            continue;
        };
        let node_rejects = case["throws"]
            .as_str()
            .is_some_and(|t| t.starts_with("Invalid uid"));
        assert_eq!(validate_uid(uid).is_err(), node_rejects, "{uid:?}");
    }
    assert!(
        validate_uid("oAbC-defGHIJ_klmnOPQRstuvwx12").is_ok(),
        "an openid is a valid uid"
    );
}

#[test]
fn env_resolution_and_errors_in_node_sdk_order() {
    assert_eq!(
        resolve_env(Some(ENV), Some("ns"), Some(ENV)),
        Ok(ENV.to_owned())
    );
    assert_eq!(resolve_env(None, Some(ENV), Some(ENV)), Ok(ENV.to_owned()));
    assert_eq!(resolve_env(None, None, Some(ENV)), Err(TicketError::NoEnv));
    assert_eq!(
        resolve_env(Some(ENV), None, None),
        Err(TicketError::KeyWithoutEnvId)
    );
    assert_eq!(
        resolve_env(Some("other-env"), None, Some(ENV)),
        Err(TicketError::EnvMismatch {
            key_env_id: ENV.into(),
            env: "other-env".into()
        })
    );
    let key = CustomLoginKey::from_json(&key_json(&pem(1024, false), None)).unwrap();
    assert_eq!(
        key.mint("abc", ENV, 1, TicketOptions::default()),
        Err(TicketError::InvalidUid("abc".into()))
    );
    assert_eq!(
        key.mint("abcd", ENV, 1, TicketOptions::default()),
        Err(TicketError::KeyWithoutEnvId)
    );
}

#[test]
fn every_signing_path_is_byte_identical_to_jsonwebtoken() {
    let pem = pem(2048, false);
    let key = CustomLoginKey::from_json(&key_json(&pem, Some(ENV))).unwrap();
    assert!(key.pair.is_some());
    let claims = TicketClaims {
        alg: "RS256".into(),
        env: ENV.into(),
        iat: 1,
        exp: 600_001,
        uid: "user_0001".into(),
        refresh: DEFAULT_REFRESH_MS,
        expire: 2,
    };
    let reference = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    // aws-lc-rs's RsaKeyPair (2048 bits and more).
    assert_eq!(key.sign_jwt(&claims).unwrap(), reference);
    // aws-lc's RSA_sign (the 1024-2047-bit path), on the same key.
    let ffi = CustomLoginKey {
        pair: None,
        ..CustomLoginKey::from_json(&key_json(&pem, Some(ENV))).unwrap()
    };
    assert_eq!(ffi.sign_jwt(&claims).unwrap(), reference);
}

#[test]
fn inspect_reports_the_failing_check() {
    let key = CustomLoginKey::from_json(&key_json(&pem(1024, false), Some(ENV))).unwrap();
    let other = CustomLoginKey::from_json(&key_json(&pem(1024, false), Some("other-env"))).unwrap();
    let now = now_ms();
    let ticket = key
        .mint("user_0001", ENV, now, TicketOptions::default())
        .unwrap();
    let failed = |i: &Inspection| {
        i.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(failed(&key.inspect(&ticket, now)), Vec::<&str>::new());
    assert_eq!(
        failed(&other.inspect(&ticket, now)),
        vec!["signature", "env"]
    );
    assert_eq!(
        failed(&key.inspect(&ticket, now + TICKET_LIFETIME_MS)),
        vec!["not expired"]
    );
    let tampered = ticket.replacen("c4776958", "d4776958", 1);
    assert_eq!(failed(&key.inspect(&tampered, now)), vec!["key id"]);
    assert_eq!(failed(&key.inspect("garbage", now)), vec!["format"]);
    let mut forged = ticket.clone();
    forged.pop();
    forged.push(if ticket.ends_with('A') { 'B' } else { 'A' });
    assert!(failed(&key.inspect(&forged, now)).contains(&"signature"));
}

#[test]
fn bad_keys_are_clear_errors() {
    let err = |j: &str| CustomLoginKey::from_json(j).unwrap_err();
    assert!(matches!(err("not json"), KeyError::NotJson(_)));
    assert_eq!(err("{}"), KeyError::MissingField("private_key_id"));
    assert_eq!(
        err(r#"{"private_key_id":"x"}"#),
        KeyError::MissingField("private_key")
    );
    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(err(&key_json(enc, Some(ENV))), KeyError::Encrypted);
    assert_eq!(err(&key_json("hello", Some(ENV))), KeyError::NotRsaPem);
    let small = pem(512, false);
    assert_eq!(err(&key_json(&small, Some(ENV))), KeyError::TooSmall(512));
    // Messages never carry key material.
    let msg = err(&key_json(&small, Some(ENV))).to_string();
    assert!(!msg.contains("MII"), "{msg}");
    let debug = format!("{:?}", CustomLoginKey::from_pem(&pem(1024, true)).unwrap());
    assert!(!debug.contains("MII") && debug.contains("1024"), "{debug}");
}

#[test]
fn load_prefers_env_json_then_file_then_default() {
    let dir = std::env::temp_dir().join(format!("wxlogin-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = key_json(&pem(1024, false), Some(ENV));
    let file = dir.join("k.json");
    std::fs::write(&file, &json).unwrap();
    let env = |pairs: Vec<(&'static str, String)>| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    };

    let (_, src) =
        CustomLoginKey::load(env(vec![("TCB_CUSTOM_LOGIN_KEY", json.clone())]), &dir).unwrap();
    assert_eq!(src, KeySource::EnvJson);
    let (_, src) = CustomLoginKey::load(
        env(vec![(
            "TCB_CUSTOM_LOGIN_KEY_FILE",
            file.display().to_string(),
        )]),
        &dir,
    )
    .unwrap();
    assert_eq!(src, KeySource::File(file.clone()));
    assert_eq!(
        CustomLoginKey::load(env(vec![]), &dir).unwrap_err(),
        KeyError::NotFound(dir.join(DEFAULT_KEY_FILE))
    );
    std::fs::write(dir.join(DEFAULT_KEY_FILE), &json).unwrap();
    assert!(CustomLoginKey::load(env(vec![]), &dir).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_times_are_errors_not_panics() {
    let key = CustomLoginKey::from_json(&key_json(&pem(1024, false), Some(ENV))).unwrap();
    assert!(matches!(
        key.mint("user_0001", ENV, u64::MAX, TicketOptions::default()),
        Err(TicketError::BadTime(_))
    ));
    assert!(format_ms(u64::MAX).contains("after year 9999"));
    assert_eq!(format_ms(MAX_FORMATTABLE_MS), "9999-12-31T23:59:59.999Z");
    // A ticket whose exp is in microseconds still inspects.
    let t = key
        .mint(
            "user_0001",
            ENV,
            1_795_236_328_953_000,
            TicketOptions::default(),
        )
        .unwrap();
    assert!(
        key.inspect(&t, 0)
            .checks
            .iter()
            .any(|c| c.detail.contains("after year 9999"))
    );
}

/// Fuzz regression (`key_file` target, crash-38411f77): a key file whose `private_key_id`
/// contains the `/@@/` separator. `inspect` split the ticket at the first separator and reported
/// the key's own fresh ticket as malformed; a JWT never contains `/@@/`, so it now splits at the
/// last one.
#[test]
fn key_id_containing_the_separator_round_trips() {
    const CRASH: &str = r#"{
  "env_id": "test-env-1a2b",
  "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIICXAIBAAKBgQC9Exk464SJediTk2BvGY75zZeNWZSPcEOuZ+ayXk2MEvFo+fjQ\nJn/kY/2uiPI6W4Jmk8oIbtWMKtwSVdNVHkQ5AYLQhRx0iRTbajoZ/i6BC/xHVlkr\niZBtotk0BW4xXR2FLvtzS0yZ6amkgDixzOHEJgPD00d6IeKKd7JvbpiDFwIDAQAB\nAoGAFFJtL5UA1dXm1VXN06MnnuneFC9ArHogjCpWvW0tYJTYpbPYbmb08BNfPNcz\nUdpsFaJk4KspALvKk53t7QQnyNlSOJR5hV0jqrheYaysokMBsvkWK96fvaTeT3TH\nzz+h6s8YDsSCRq0zFlZsJUlTlTwcxSyBJqraD0L9FeTPc8ECQQDK/fJDZKBZ6fap\niqXN4Q8/YU56IEqXRBjmcfUTNO+cfrwV7uYFJvNzKIspniQXgQ0kS8RgwWCq8R+e\nvUec3d8JAkEA7nLF4bI85pbo95iOY9Ne6fjPeS6q/A1gDYXDH1DOWO19CBTqb9S1\nKh6y8Qs6NiVPXho49+QKM1GTqK55A2W5HwJBAIPYc61wQ3KDM1IlmtHhN20cP8O1\nC526fk3XgK3r+SH1cybv13lLNl7624C5lYmqqaWEjNWnZKlDGh2ZpVTvCzkCQEZc\n0e2+1d/Jimd9ug7VEb4DMN32mngUTlLPNPvpsWpmci3PVjq3ztnmAzHD+WJ+8gO3\nwzXLMgNgwCzXh1gsTUsCQGsOr/sncZlSUQW41aAByyxFp8dvGITroOxXSJiZUSYC\ntZShK9pS/KUYKpAw6cDx3Le4XVUBiC6QQAXv6I85f5E=\n-----END RSA PRIVATE KEY-----\n",
  "private_key_id": "87a4a865-2123-42d3-87d1-1b796CXAIBAAKBgQC9Exk464SJediTk2BvGY75zZeNWZSPcEOuZ+ayXk2MEvFo+fjQ\nJn/kY/2uiPI6W4Jmk8oIbtWMKtwSVdNVHkQ5AYLQhRx0iRTbajoZ/i6BC/xHVlkr\niZBtotk0BW4xXR2FLvtzS0yZ6amkgDixzOHEJgPD00d6IeKKd7JvbpiDFwIDAQAB\nAoGAFFJtL5UA1dXm1VXN06MnnuneFC9ArHogjCpWvW0tYJTYpbPYbmb08BNfPNcz\nUdpsFaJk4KspALvKk53t7QQnyNlSOJR5hV0jqrheYaysokMBsvkWK96fvaTeT3TH\nzz+h6s8YDsSCRq0zFlZsJUlTlTwcxSyBJqraD0L4FeTPc8ECQQDK/fJDZKBZ6fap\niqXN4Q8/YU56IEqXRBjmcfUTNO+cfrwV7uYFJvNzKIspniQXgQ0kS8RgwWCq8R+e\nvUec3d8JAkEA7nLF4bI85pbo95iOY9Ne6fjPeS6q/A1gDYXDH1DOWO19CBTqb9S1\nKh6y8Qs6NiVPXho49+QKM1GTqK55A2W/@@/eyJ0eXIiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhbGciOiJSUzI1NiIsImVudiI6InRlc3QtZW52LTFhMmIiLCJpYXiQOjE3NjM2OTk5OTAwMDAsImV4cCI6MTc2MzcwMDU5MDAwMCwidWlkIoijAzHD+WJ+8gO3\nwzX933afe2"
}"#;
    let key = CustomLoginKey::from_json(CRASH).unwrap();
    assert!(key.private_key_id().contains(TICKET_SEPARATOR));
    let now = 1_763_700_000_000;
    let ticket = key
        .mint("user_0001", "test-env-1a2b", now, TicketOptions::default())
        .unwrap();
    let inspection = key.inspect(&ticket, now);
    assert!(inspection.ok(), "{:?}", inspection.checks);
}
