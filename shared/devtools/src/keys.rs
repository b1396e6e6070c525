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

/// Why a key file could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The requested size is outside what CloudBase and the tools accept.
    #[error("--bits must be between {MIN_BITS} and {MAX_BITS}")]
    Bits(usize),
    /// RSA key generation or encoding failed.
    #[error("RSA key: {0}")]
    Rsa(#[from] rsa::Error),
    /// PKCS#1 PEM encoding failed.
    #[error("PEM encoding: {0}")]
    Pem(#[from] rsa::pkcs1::Error),
    /// EC key generation or encoding failed (aws-lc gives no detail).
    #[error("EC key: {0}")]
    Ec(String),
    /// The key file's JSON could not be written.
    #[error("key file JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The file or its folder could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A key file's JSON text for `env_id` with a new `bits`-bit RSA key.
///
/// # Errors
/// [`KeyError::Bits`] when `bits` is outside 1024..=4096; [`KeyError::Rsa`] or [`KeyError::Pem`]
/// when generation fails.
pub fn new_key_file(bits: usize, env_id: &str) -> Result<String, KeyError> {
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(KeyError::Bits(bits));
    }
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits)?;
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)?;
    let json = serde_json::json!({
        "private_key_id": random_key_id(),
        "private_key": pem.as_str(),
        "env_id": env_id,
    });
    Ok(serde_json::to_string_pretty(&json)?)
}

/// Write a key file with mode 0600, creating its folder.
///
/// # Errors
/// [`KeyError::Io`] naming the file or folder.
pub fn write_key_file(path: &std::path::Path, json: &str) -> Result<(), KeyError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |p: &std::path::Path| {
        let path = p.to_owned();
        move |source| KeyError::Io { path, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(json.as_bytes()).map_err(io(path))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_keys_load_and_mint() {
        let json = super::new_key_file(1024, "dev-env").unwrap();
        let key = wxlogin::CustomLoginKey::from_json(&json).unwrap();
        assert_eq!((key.bits(), key.env_id()), (1024, Some("dev-env")));
        assert_eq!(key.private_key_id().len(), 36);
        let t = key
            .mint("user_0001", "dev-env", 1, Default::default())
            .unwrap();
        assert!(key.inspect(&t, 2).ok());
        assert!(matches!(
            super::new_key_file(512, "e"),
            Err(super::KeyError::Bits(512))
        ));
    }
}

/// Key files that must be refused, generated fresh (no key material is committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedKey {
    /// A P-256 EC key, PKCS#8 (`PRIVATE KEY`).
    EcPkcs8,
    /// A P-256 EC key, SEC1 (`EC PRIVATE KEY`, RFC 5915).
    EcSec1,
    /// An encrypted PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`; random ciphertext).
    EncryptedPkcs8,
    /// An encrypted traditional PEM (`RSA PRIVATE KEY` with `Proc-Type: 4,ENCRYPTED`; random
    /// ciphertext).
    EncryptedPkcs1,
    /// A 512-bit RSA key, PKCS#1.
    Rsa512,
}

/// PEM text: `der` in base64, 64 columns, between `label` lines.
pub fn pem(label: &str, headers: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n{headers}");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A key file (the console's JSON) for `env_id` whose `private_key` is a [`RefusedKey`].
///
/// # Errors
/// [`KeyError`] when generation fails.
pub fn refused_key_file(kind: RefusedKey, env_id: &str) -> Result<String, KeyError> {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let random = |n: usize| {
        let mut b = vec![0u8; n];
        rand::thread_rng().fill_bytes(&mut b);
        b
    };
    let ec = || {
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|e| KeyError::Ec(format!("keygen: {e}")))?;
        Ok::<_, KeyError>(doc.as_ref().to_vec())
    };
    let private_key = match kind {
        RefusedKey::EcPkcs8 => pem("PRIVATE KEY", "", &ec()?),
        RefusedKey::EcSec1 => {
            let pkcs8 = ec()?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8)
                .map_err(|e| KeyError::Ec(e.to_string()))?;
            let der = pair
                .private_key()
                .as_der()
                .map_err(|e| KeyError::Ec(e.to_string()))?;
            pem("EC PRIVATE KEY", "", der.as_ref())
        }
        RefusedKey::EncryptedPkcs8 => pem("ENCRYPTED PRIVATE KEY", "", &random(640)),
        RefusedKey::EncryptedPkcs1 => pem(
            "RSA PRIVATE KEY",
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,93A5E4A087A926285878B89F2DD1F639\n\n",
            &random(608),
        ),
        RefusedKey::Rsa512 => {
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 512)?;
            key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)?.to_string()
        }
    };
    Ok(serde_json::json!({
        "private_key_id": random_key_id(),
        "private_key": private_key,
        "env_id": env_id,
    })
    .to_string())
}
