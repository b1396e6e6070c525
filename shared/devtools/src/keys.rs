//! Dev custom-login key files, in the CloudBase console's `tcb_custom_login.json` format:
//! `{"private_key_id": "<uuid>", "private_key": "<PKCS#1 PEM>", "env_id": "<env>"}`.
//!
//! Generated with the `rsa` crate (key tooling only; signing goes through aws-lc). PKCS#1 PEM,
//! like the console's keys.

use rand::RngCore as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;

/// Smallest size `keygen` accepts, bits.
pub const MIN_BITS: usize = 1024;
/// Largest size `keygen` accepts, bits.
pub const MAX_BITS: usize = 4096;

/// A random UUID v4 string, like the console's `private_key_id`.
pub fn random_key_id() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Generate a key file's JSON text for `env_id` with a `bits`-bit RSA key.
///
/// # Errors
/// A message when `bits` is outside 1024..=4096 or generation fails.
pub fn generate(bits: usize, env_id: &str) -> Result<String, String> {
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(format!("--bits must be between {MIN_BITS} and {MAX_BITS}"));
    }
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits).map_err(|e| e.to_string())?;
    let pem = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let json = serde_json::json!({
        "private_key_id": random_key_id(),
        "private_key": pem.as_str(),
        "env_id": env_id,
    });
    serde_json::to_string_pretty(&json).map_err(|e| e.to_string())
}

/// Write a key file with mode 0600.
///
/// # Errors
/// I/O errors as text.
pub fn write_key_file(path: &std::path::Path, json: &str) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(json.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_keys_load_and_mint() {
        let json = super::generate(1024, "dev-env").unwrap();
        let key = wxlogin::ticket::CustomLoginKey::from_json(&json).unwrap();
        assert_eq!((key.bits(), key.env_id()), (1024, Some("dev-env")));
        assert_eq!(key.private_key_id().len(), 36);
        let t = key
            .mint("user_0001", "dev-env", 1, Default::default())
            .unwrap();
        assert!(key.inspect(&t, 2).ok());
        assert!(super::generate(512, "e").is_err());
    }
}
