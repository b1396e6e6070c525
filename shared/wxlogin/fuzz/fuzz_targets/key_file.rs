//! Custom-login key parsing (`CustomLoginKey::from_json` / `from_pem`) and ticket inspection.
//! RSA is slow: run with `-max_len=4096`.
//!
//! The input picks the entry point by its content:
//! - starts with `{` (after whitespace): a key file, `from_json`;
//! - contains `/@@/`: a ticket, `inspect`ed against the key in `WXLOGIN_FUZZ_KEY`;
//! - contains `-----BEGIN`: a PEM, `from_pem`;
//! - anything else: DER bytes, wrapped as PKCS#1 (`RSA PRIVATE KEY`) and PKCS#8 (`PRIVATE KEY`)
//!   PEMs so the fuzzer reaches the DER parsers directly.
//!
//! A key that loads must mint a ticket that inspects clean; `Debug` and error messages never
//! carry key material.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wxlogin::{CustomLoginKey, KeyError, MIN_KEY_BITS, TicketOptions};

#[path = "../../../scf-runtime/fuzz/fuzz_targets/shape.rs"]
mod common;

/// The key file that ticket inputs are inspected against: `WXLOGIN_FUZZ_KEY` (a path; `make fuzz`
/// generates one into the corpus, so no key is committed). Without it, ticket inputs are skipped.
const SEED_KEY_VAR: &str = "WXLOGIN_FUZZ_KEY";
const NOW_MS: u64 = 1_763_700_000_000;

fn seed_key() -> Option<&'static CustomLoginKey> {
    static KEY: OnceLock<Option<CustomLoginKey>> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::env::var(SEED_KEY_VAR).ok()?;
        let text = std::fs::read_to_string(&path).expect("WXLOGIN_FUZZ_KEY is readable");
        Some(CustomLoginKey::from_json(&text).expect("WXLOGIN_FUZZ_KEY is a key file"))
    })
    .as_ref()
}

/// The base64 body lines of every PEM block in `pem` (16+ characters): key material that must
/// never be shown.
fn pem_material(pem: &str) -> Vec<&str> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            inside = true;
        } else if line.starts_with("-----END") {
            inside = false;
        } else if inside && line.len() >= 16 && !line.contains(':') {
            out.push(line);
        }
    }
    out
}

fn check_error(e: &KeyError) {
    let msg = e.to_string();
    common::assert_shape(
        "key error",
        &msg,
        &[
            "key file is not the console's JSON (line # column #)",
            "key file has no private_key_id",
            "key file has no private_key",
            "private_key_id must be #-# visible ASCII characters without the ticket separator (the console's ids are UUIDs)",
            "private_key is an encrypted PEM; use the unencrypted key the console gives",
            "private_key is not a PEM RSA private key (PKCS## or PKCS##)",
            "private_key is # bits; at least # are needed",
            "private_key is not a consistent RSA key",
        ],
    );
    if let KeyError::TooSmall(bits) = e {
        assert!(*bits < MIN_KEY_BITS);
    }
    common::assert_shape(
        "key error Debug",
        &format!("{e:?}"),
        &[
            "NotJson(\"line # column #\")",
            "MissingField(\"private_key_id\")",
            "MissingField(\"private_key\")",
            "BadKeyId",
            "Encrypted",
            "NotRsaPem",
            "TooSmall(#)",
            "Invalid",
        ],
    );
}

fn check_key(key: &CustomLoginKey, pem: &str) {
    assert!(key.bits() >= MIN_KEY_BITS);
    // Debug shows the key id and env id (any text); besides them, no key material.
    let mut debug = format!("{key:?}");
    for shown in [Some(key.private_key_id()), key.env_id()]
        .into_iter()
        .flatten()
    {
        debug = debug.replace(&format!("{shown:?}"), "\"\"");
    }
    assert!(
        !debug.contains("PRIVATE KEY"),
        "Debug shows the PEM: {debug}"
    );
    for m in pem_material(pem) {
        assert!(!debug.contains(m), "Debug shows key material {m:?}");
    }
    // A key that loads signs, and its ticket checks out against it.
    let env = key.env_id().unwrap_or("env-fuzz");
    match key.mint("user_0001", env, NOW_MS, TicketOptions::default()) {
        Ok(ticket) => {
            assert!(key.env_id().is_some());
            let inspection = key.inspect(&ticket, NOW_MS);
            assert!(inspection.ok(), "{:?}", inspection.checks);
        }
        Err(e) => {
            assert!(key.env_id().is_none(), "a loaded key failed to mint: {e}");
        }
    }
}

fn from_pem(pem: &str) {
    match CustomLoginKey::from_pem(pem) {
        Ok(key) => {
            assert_eq!(key.private_key_id(), "");
            assert_eq!(key.env_id(), None);
            check_key(&key, pem);
            // The same PEM in a key file with an env_id, so that it signs.
            let file = serde_json::json!({"private_key_id": "kid-1", "private_key": pem, "env_id": "env-fuzz"});
            let key = CustomLoginKey::from_json(&file.to_string()).expect("same PEM in a key file");
            assert_eq!(key.bits(), CustomLoginKey::from_pem(pem).unwrap().bits());
            check_key(&key, pem);
        }
        Err(e) => {
            assert!(matches!(
                e,
                KeyError::Encrypted
                    | KeyError::NotRsaPem
                    | KeyError::TooSmall(_)
                    | KeyError::Invalid
            ));
            if pem.contains("ENCRYPTED") {
                assert_eq!(e, KeyError::Encrypted);
            }
            check_error(&e);
        }
    }
}

fn wrap(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

fuzz_target!(|data: &[u8]| {
    let text = std::str::from_utf8(data).ok();
    match text {
        Some(t) if t.trim_start().starts_with('{') => {
            let json: Option<Value> = serde_json::from_str(t).ok();
            match CustomLoginKey::from_json(t) {
                Ok(key) => {
                    let json = json.expect("accepted key file is JSON");
                    let id = json["private_key_id"].as_str().unwrap();
                    assert_eq!(key.private_key_id(), id);
                    assert!(!id.trim().is_empty());
                    assert_eq!(
                        key.env_id(),
                        json["env_id"].as_str().filter(|e| !e.is_empty())
                    );
                    check_key(&key, json["private_key"].as_str().unwrap());
                }
                Err(e) => check_error(&e),
            }
        }
        Some(t) if t.contains("/@@/") => {
            let Some(key) = seed_key() else { return };
            let inspection = key.inspect(t, NOW_MS);
            let names: Vec<&str> = inspection.checks.iter().map(|c| c.name).collect();
            assert_eq!(
                names,
                [
                    "format",
                    "key id",
                    "signature",
                    "algorithm",
                    "env",
                    "not expired"
                ]
            );
            if inspection.ok() {
                assert!(t.trim().starts_with(key.private_key_id()));
                assert!(inspection.header.is_some() && inspection.claims.is_some());
            }
        }
        Some(t) if t.contains("-----BEGIN") => from_pem(t),
        _ => {
            from_pem(&wrap("RSA PRIVATE KEY", data));
            from_pem(&wrap("PRIVATE KEY", data));
        }
    }
});
