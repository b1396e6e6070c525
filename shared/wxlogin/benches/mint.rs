//! Ticket minting throughput (`make bench`): a whole `CustomLoginKey::mint` (claims, JSON,
//! base64, RS256) for 1024- and 2048-bit keys, and its parts for 2048-bit keys, to show where
//! the time goes: aws-lc-rs key parsing, parse-then-sign with a fresh key (what jsonwebtoken's
//! `aws_lc_rs` backend does on every `encode`), and the RSA signature with the key parsed once
//! (what `mint` does).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use wxlogin::{CustomLoginKey, TicketOptions};

const ENV: &str = "bench-env-1a2b";

fn key(bits: usize) -> (CustomLoginKey, Vec<u8>) {
    let k = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).expect("keygen");
    let der = k.to_pkcs1_der().expect("der").as_bytes().to_vec();
    let pem = k.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).expect("pem");
    let json = serde_json::json!({
        "private_key_id": "00000000-0000-4000-8000-000000000000",
        "private_key": pem.as_str(),
        "env_id": ENV,
    })
    .to_string();
    (CustomLoginKey::from_json(&json).expect("key"), der)
}

fn mint(c: &mut Criterion) {
    let now = 1_700_000_000_000;
    for bits in [1024, 2048] {
        let (key, der) = key(bits);
        c.bench_function(&format!("mint_{bits}"), |b| {
            b.iter(|| {
                key.mint(
                    black_box("oBenchUser0000000000000001"),
                    ENV,
                    now,
                    TicketOptions::default(),
                )
                .expect("mint")
            })
        });
        if bits >= 2048 {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            c.bench_function(&format!("aws_lc_rs_parse_der_{bits}"), |b| {
                b.iter(|| aws_lc_rs::signature::RsaKeyPair::from_der(black_box(&der)).expect("der"))
            });
            // What jsonwebtoken's aws_lc_rs backend does per `encode`: parse, then sign with a
            // fresh key (whose Montgomery contexts are built on this first use).
            c.bench_function(&format!("aws_lc_rs_parse_then_sign_{bits}"), |b| {
                b.iter(|| {
                    let pair =
                        aws_lc_rs::signature::RsaKeyPair::from_der(black_box(&der)).expect("der");
                    let mut sig = vec![0; pair.public_modulus_len()];
                    pair.sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &rng,
                        black_box(b"header.claims"),
                        &mut sig,
                    )
                    .expect("sign");
                    sig
                })
            });
            let pair = aws_lc_rs::signature::RsaKeyPair::from_der(&der).expect("der");
            let mut sig = vec![0; pair.public_modulus_len()];
            c.bench_function(&format!("aws_lc_rs_sign_parsed_once_{bits}"), |b| {
                b.iter(|| {
                    pair.sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &rng,
                        black_box(b"header.claims"),
                        &mut sig,
                    )
                    .expect("sign")
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = mint
}
criterion_main!(benches);
