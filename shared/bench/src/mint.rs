//! Ticket minting in one process: criterion's estimates for ours, node-sdk `createTicket`
//! (`mint.js`), and `openssl speed`'s RSA sign/s as the bound.

use std::path::Path;

use crate::setup::Setup;
use std::process::Command;

use serde_json::Value;

/// criterion's mean for `name`, in ns per iteration.
pub(super) fn criterion_ns(dir: &Path, name: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(name).join("new/estimates.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["mean"]["point_estimate"].as_f64()
}

pub(super) fn node_mint(node_dir: &Path, key: &Path, seconds: f64) -> Option<f64> {
    let out = Command::new("node")
        .arg(node_dir.join("mint.js"))
        .arg(key)
        .arg(seconds.to_string())
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["per_sec"].as_f64()
}

/// `openssl speed` sign/s for rsa1024 and rsa2048.
pub(super) fn openssl_sign(seconds: f64) -> (Option<f64>, Option<f64>, String) {
    let secs = seconds.ceil().max(1.0).to_string();
    let Ok(out) = Command::new("openssl")
        .args(["speed", "-seconds", &secs, "rsa1024", "rsa2048"])
        .output()
    else {
        return (None, None, "openssl not found".into());
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let sign = |bits: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&format!("rsa {bits} bits"))
                    || l.starts_with(&format!("rsa  {bits} bits"))
            })
            .and_then(|l| l.split_whitespace().nth(5))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    (sign("1024"), sign("2048"), version)
}

/// Tickets per second: ours (criterion; `fast` from a FAST_RSA=1 build), node-sdk's, and
/// openssl's sign/s, each for 1024- and 2048-bit keys.
pub(super) struct Minting {
    pub(super) ours: [Option<f64>; 2],
    pub(super) fast: Option<[Option<f64>; 2]>,
    pub(super) node: [Option<f64>; 2],
    pub(super) openssl: [Option<f64>; 2],
    pub(super) openssl_version: String,
}

/// Measure minting on both key sizes.
pub(super) fn measure(s: &Setup) -> Minting {
    let per_sec = |dir: &Path, name: &str| criterion_ns(dir, name).map(|ns| 1e9 / ns);
    let (o1024, o2048, openssl_version) = openssl_sign(s.mint_seconds);
    Minting {
        ours: [
            per_sec(&s.args.criterion, "mint_1024"),
            per_sec(&s.args.criterion, "mint_2048"),
        ],
        fast: s
            .args
            .criterion_fast_rsa
            .as_ref()
            .map(|d| [per_sec(d, "mint_1024"), per_sec(d, "mint_2048")]),
        node: [
            node_mint(&s.args.node_dir, &s.key_1024, s.mint_seconds),
            node_mint(&s.args.node_dir, &s.key_2048, s.mint_seconds),
        ],
        openssl: [o1024, o2048],
        openssl_version,
    }
}
