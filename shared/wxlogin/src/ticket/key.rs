//! Custom-login keys: the console's `tcb_custom_login.json`, loaded and checked once.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use scf_runtime::Secret;
use serde::Deserialize;

use super::aws_lc_rsa::AwsLcRsaKey;
use super::format::{DEFAULT_KEY_FILE, MIN_KEY_BITS, TICKET_SEPARATOR};
use super::inspect::{self, Inspection};
use super::mint::{self, TicketClaims, TicketError, TicketOptions};

/// Why a key could not be loaded. Messages name files and fields, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key configured and no default key file.
    #[error("no custom-login key: set TCB_CUSTOM_LOGIN_KEY (JSON) or TCB_CUSTOM_LOGIN_KEY_FILE, or ship {DEFAULT_KEY_FILE} (looked for {})", .0.display())]
    NotFound(PathBuf),
    /// The file exists but could not be read.
    #[error("cannot read key file {path}: {1}", path = .0.display())]
    Unreadable(PathBuf, String),
    /// Not a JSON object of the console's shape (position only).
    #[error("key file is not the console's JSON ({0})")]
    NotJson(String),
    /// A required field is missing or empty.
    #[error("key file has no {0}")]
    MissingField(&'static str),
    /// `private_key_id` is not 1–128 visible ASCII characters, or contains the ticket separator
    /// `/@@/` (the console's ids are UUIDs; such an id would make the ticket ambiguous).
    #[error(
        "private_key_id must be 1-128 visible ASCII characters without the ticket separator (the console's ids are UUIDs)"
    )]
    BadKeyId,
    /// An encrypted PEM (`ENCRYPTED PRIVATE KEY` / `Proc-Type: 4,ENCRYPTED`).
    #[error("private_key is an encrypted PEM; use the unencrypted key the console gives")]
    Encrypted,
    /// Not a PEM RSA private key (EC keys, public keys, garbage land here).
    #[error("private_key is not a PEM RSA private key (PKCS#1 or PKCS#8)")]
    NotRsaPem,
    /// The key is smaller than [`MIN_KEY_BITS`].
    #[error("private_key is {0} bits; at least {MIN_KEY_BITS} are needed")]
    TooSmall(u32),
    /// The RSA key failed aws-lc's consistency check.
    #[error("private_key is not a consistent RSA key")]
    Invalid,
}

#[derive(Deserialize)]
struct KeyFile {
    private_key_id: Option<String>,
    private_key: Option<Secret>,
    env_id: Option<String>,
}

/// A loaded custom-login key, parsed once. `Debug` never shows key material.
pub struct CustomLoginKey {
    pub(super) private_key_id: String,
    pub(super) env_id: Option<String>,
    pub(super) bits: u32,
    pub(super) aws_lc: AwsLcRsaKey,
    /// Set for keys of 2048 bits or more: aws-lc-rs's safe signer, parsed once.
    pub(super) pair: Option<aws_lc_rs::signature::RsaKeyPair>,
}

impl std::fmt::Debug for CustomLoginKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomLoginKey")
            .field("private_key_id", &self.private_key_id)
            .field("env_id", &self.env_id)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

/// Where a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `TCB_CUSTOM_LOGIN_KEY` (the JSON content).
    EnvJson,
    /// A key file.
    File(PathBuf),
}

impl CustomLoginKey {
    /// Parse the console's JSON `{private_key_id, private_key, env_id}`.
    ///
    /// # Errors
    /// [`KeyError`]: not JSON, missing field, a `private_key_id` that is not 1–128 visible ASCII
    /// characters or contains `/@@/`, encrypted / non-RSA / invalid PEM, under 1024 bits.
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let file: KeyFile = serde_json::from_str(json)
            .map_err(|e| KeyError::NotJson(format!("line {} column {}", e.line(), e.column())))?;
        let private_key_id = file
            .private_key_id
            .filter(|s| !s.trim().is_empty())
            .ok_or(KeyError::MissingField("private_key_id"))?;
        if private_key_id.len() > 128
            || !private_key_id.bytes().all(|b| b.is_ascii_graphic())
            || private_key_id.contains(TICKET_SEPARATOR)
        {
            return Err(KeyError::BadKeyId);
        }
        let pem = file
            .private_key
            .filter(|s| !s.expose().trim().is_empty())
            .ok_or(KeyError::MissingField("private_key"))?;
        let mut key = Self::from_pem(pem.expose())?;
        key.private_key_id = private_key_id;
        key.env_id = file.env_id.filter(|s| !s.is_empty());
        Ok(key)
    }

    /// Parse a PEM RSA private key (PKCS#1 or PKCS#8) with an empty key id and no env_id.
    ///
    /// # Errors
    /// As [`CustomLoginKey::from_json`].
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.contains("ENCRYPTED") {
            return Err(KeyError::Encrypted);
        }
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::NotRsaPem)?;
        let aws_lc = AwsLcRsaKey::from_pkcs1_der(encoding.as_bytes()).ok_or(KeyError::Invalid)?;
        let bits = aws_lc.bits();
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall(bits));
        }
        Ok(CustomLoginKey {
            private_key_id: String::new(),
            env_id: None,
            bits,
            aws_lc,
            pair: if bits >= 2048 {
                Some(
                    aws_lc_rs::signature::RsaKeyPair::from_der(encoding.as_bytes())
                        .map_err(|_| KeyError::Invalid)?,
                )
            } else {
                None
            },
        })
    }

    /// Read and parse a key file.
    ///
    /// # Errors
    /// [`KeyError::NotFound`] / [`KeyError::Unreadable`], then as [`CustomLoginKey::from_json`].
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeyError::NotFound(path.to_owned()),
            _ => KeyError::Unreadable(path.to_owned(), e.kind().to_string()),
        })?;
        Self::from_json(&text)
    }

    /// Load the key the way the functions do: `TCB_CUSTOM_LOGIN_KEY` (the JSON content, or that
    /// JSON in standard base64, which survives config templating and env-var editors), else
    /// `TCB_CUSTOM_LOGIN_KEY_FILE` (a path), else `tcb_custom_login.json` in `code_dir`.
    ///
    /// # Errors
    /// [`KeyError`]; the caller reports it as `MISCONFIGURED`.
    pub fn load(
        lookup: impl Fn(&str) -> Option<String>,
        code_dir: &Path,
    ) -> Result<(Self, KeySource), KeyError> {
        if let Some(value) = lookup("TCB_CUSTOM_LOGIN_KEY").filter(|v| !v.trim().is_empty()) {
            let value = value.trim();
            let json = if value.starts_with('{') {
                value.to_owned()
            } else {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|_| {
                        KeyError::NotJson(
                            "TCB_CUSTOM_LOGIN_KEY is neither JSON nor base64 of it".into(),
                        )
                    })?;
                String::from_utf8(bytes).map_err(|_| {
                    KeyError::NotJson("TCB_CUSTOM_LOGIN_KEY base64 is not UTF-8".into())
                })?
            };
            return Self::from_json(&json).map(|k| (k, KeySource::EnvJson));
        }
        let path = lookup("TCB_CUSTOM_LOGIN_KEY_FILE")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| code_dir.join(DEFAULT_KEY_FILE));
        Self::from_file(&path).map(|k| (k, KeySource::File(path)))
    }

    /// `private_key_id`, the ticket prefix.
    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// `env_id` of the key file, if it has one.
    pub fn env_id(&self) -> Option<&str> {
        self.env_id.as_deref()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Mint a ticket for `uid` in `env` at `now_ms` (ms since the Unix epoch):
    /// `<private_key_id>/@@/<jwt>`, node-sdk `auth().createTicket`'s format.
    ///
    /// Checks in node-sdk's order: uid, env present, key has env_id, env matches.
    ///
    /// # Errors
    /// [`TicketError`].
    pub fn mint(
        &self,
        uid: &str,
        env: &str,
        now_ms: u64,
        options: TicketOptions,
    ) -> Result<String, TicketError> {
        let claims = mint::claims(uid, env, now_ms, options, self.env_id())?;
        let jwt = self.sign_jwt(&claims)?;
        Ok(format!("{}{TICKET_SEPARATOR}{jwt}", self.private_key_id))
    }

    /// Inspect a ticket against this key: format, key id, signature, env. Times are reported,
    /// not judged, except `exp` against `now_ms` (ms since the Unix epoch).
    pub fn inspect(&self, ticket: &str, now_ms: u64) -> Inspection {
        let verify =
            |message: &[u8], signature: &[u8]| self.aws_lc.verify_rs256(message, signature);
        let against = inspect::Against {
            private_key_id: &self.private_key_id,
            env_id: self.env_id.as_deref(),
            verify: &verify,
        };
        inspect::inspect(&against, ticket, now_ms)
    }

    /// The JWS compact serialisation `jsonwebtoken::encode` produces, signed with the key parsed
    /// at load.
    pub(super) fn sign_jwt(&self, claims: &TicketClaims) -> Result<String, TicketError> {
        let message = mint::signing_input(claims)?;
        let sig = match &self.pair {
            Some(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message.as_bytes(),
                    &mut sig,
                )
                .map_err(|e| TicketError::Signing(format!("aws-lc-rs: {e}")))?;
                sig
            }
            None => self
                .aws_lc
                .sign_rs256(message.as_bytes())
                .ok_or_else(|| TicketError::Signing("aws-lc RSA_sign failed".into()))?,
        };
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}
