use super::format::{DEFAULT_KEY_FILE, DEFAULT_REFRESH_MS, TICKET_LIFETIME_MS};
use super::mint::validate_uid;
use super::time::MAX_FORMATTABLE_MS;
use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
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

/// Fuzz regressions (`key_file` target): a `private_key_id` containing the `/@@/` separator
/// (crash-38411f77) made the key's own tickets ambiguous, and one with leading whitespace did not
/// survive `inspect`'s trim. Console key ids are UUIDs: such ids are refused when the key loads.
#[test]
fn odd_key_ids_are_refused_at_load() {
    let pem = pem(1024, false);
    for id in [
        "87a4a865/@@/eyJ0eXAi",
        " 87a4a865-2123-42d3-87d1-1b796933afe2",
        "87a4a865\n2123",
        "kid with space",
        &"k".repeat(129),
    ] {
        let json = serde_json::json!({"private_key_id": id, "private_key": pem, "env_id": ENV})
            .to_string();
        assert_eq!(
            CustomLoginKey::from_json(&json).err(),
            Some(KeyError::BadKeyId),
            "{id:?}"
        );
    }
    let json = serde_json::json!({"private_key_id": "87a4a865-2123-42d3-87d1-1b796933afe2", "private_key": pem, "env_id": ENV}).to_string();
    assert!(CustomLoginKey::from_json(&json).is_ok());
}
