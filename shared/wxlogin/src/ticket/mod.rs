//! CloudBase custom-login tickets, compatible with `@cloudbase/node-sdk` `auth().createTicket`.
//!
//! Mirrors node-sdk 3.18.3 `src/auth/index.ts` `createTicket` (`cloudbase-auth.md` §1):
//! - ticket = `private_key_id + "/@@/" + <RS256 JWT>`;
//! - JWT header `{"typ":"JWT","alg":"RS256"}`, no `kid`;
//! - claims, in this order: `{alg:"RS256", env, iat, exp, uid, refresh, expire}`, **all in
//!   milliseconds** (not JWT's seconds): `iat` = now (ms since the Unix epoch),
//!   `exp` = iat + 600 000 (the ticket lives 10 minutes), `refresh` = a duration, default
//!   3 600 000, `expire` = an absolute time, default iat + 7 days.
//!
//! Keys: the console's `tcb_custom_login.json` `{private_key_id, private_key, env_id}`, PKCS#1 or
//! PKCS#8 PEM, 1024 bits or more, parsed once (jsonwebtoken's PEM reader). Keys of 2048 bits or
//! more are signed with aws-lc-rs's `RsaKeyPair`, parsed once and kept: jsonwebtoken's
//! `aws_lc_rs` backend re-parses the DER key on every `encode`, and that re-parse (plus the
//! Montgomery set-up a fresh key needs on its first signature) cost more than the signature
//! itself (`make bench`: 1.85 ms per 2048-bit ticket against 0.74 ms for the signature). 1024–2047-bit
//! keys (what the console issues), which aws-lc-rs's safe API refuses, go through aws-lc's own
//! `RSA_sign` (see `aws_lc_rsa.rs`). Every path gives the bytes `jsonwebtoken::encode` gives
//! (tested).

mod aws_lc_rsa;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use aws_lc_rsa::AwsLcRsaKey;
use scf_runtime::Secret;

/// Between the key id and the JWT in a ticket.
pub const TICKET_SEPARATOR: &str = "/@@/";
/// Ticket lifetime, **milliseconds** (`exp - iat`).
pub const TICKET_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// Default `refresh` claim, a duration in **milliseconds** (1 hour).
pub const DEFAULT_REFRESH_MS: u64 = 60 * 60 * 1000;
/// Default `expire` claim offset from `iat`, **milliseconds** (7 days).
pub const DEFAULT_EXPIRE_AFTER_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// Smallest accepted key, bits.
pub const MIN_KEY_BITS: u32 = 1024;
/// Key file name looked up in the code directory when no key is configured.
pub const DEFAULT_KEY_FILE: &str = "tcb_custom_login.json";

/// Why a key could not be loaded. Messages name files and fields, never key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// No key configured and no default key file.
    NotFound(PathBuf),
    /// The file exists but could not be read.
    Unreadable(PathBuf, String),
    /// Not a JSON object of the console's shape (position only).
    NotJson(String),
    /// A required field is missing or empty.
    MissingField(&'static str),
    /// `private_key_id` is not 1–128 visible ASCII characters, or contains the ticket separator
    /// `/@@/` (the console's ids are UUIDs; such an id would make the ticket ambiguous).
    BadKeyId,
    /// An encrypted PEM (`ENCRYPTED PRIVATE KEY` / `Proc-Type: 4,ENCRYPTED`).
    Encrypted,
    /// Not a PEM RSA private key (EC keys, public keys, garbage land here).
    NotRsaPem,
    /// The key is smaller than [`MIN_KEY_BITS`].
    TooSmall(u32),
    /// The RSA key failed aws-lc's consistency check.
    Invalid,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NotFound(p) => write!(
                f,
                "no custom-login key: set TCB_CUSTOM_LOGIN_KEY (JSON) or TCB_CUSTOM_LOGIN_KEY_FILE, or ship {} (looked for {})",
                DEFAULT_KEY_FILE,
                p.display()
            ),
            KeyError::Unreadable(p, e) => write!(f, "cannot read key file {}: {e}", p.display()),
            KeyError::NotJson(e) => write!(f, "key file is not the console's JSON ({e})"),
            KeyError::MissingField(k) => write!(f, "key file has no {k}"),
            KeyError::BadKeyId => f.write_str(
                "private_key_id must be 1-128 visible ASCII characters without the ticket separator (the console's ids are UUIDs)",
            ),
            KeyError::Encrypted => f.write_str(
                "private_key is an encrypted PEM; use the unencrypted key the console gives",
            ),
            KeyError::NotRsaPem => {
                f.write_str("private_key is not a PEM RSA private key (PKCS#1 or PKCS#8)")
            }
            KeyError::TooSmall(bits) => write!(
                f,
                "private_key is {bits} bits; at least {MIN_KEY_BITS} are needed"
            ),
            KeyError::Invalid => f.write_str("private_key is not a consistent RSA key"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a ticket could not be minted. Mirrors node-sdk's `INVALID_PARAM` errors, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketError {
    /// uid fails `^[a-zA-Z0-9_\-#@~=*(){}[\]:.,<>+]{4,32}$` (node-sdk: `Invalid uid: "..."`).
    InvalidUid(String),
    /// No env to put in the ticket (node-sdk: `no env in config`).
    NoEnv,
    /// The key file has no `env_id` (node-sdk: `当前私钥未包含env_id 信息…`).
    KeyWithoutEnvId,
    /// The key belongs to another env (node-sdk: `当前私钥所属环境与 init 指定环境不一致！`).
    EnvMismatch {
        /// `env_id` of the key file.
        key_env_id: String,
        /// The env the ticket was asked for.
        env: String,
    },
    /// aws-lc or jsonwebtoken failed to sign.
    Signing(String),
    /// A time (ms) so large that `exp` / `expire` would overflow.
    BadTime(String),
}

impl std::fmt::Display for TicketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketError::InvalidUid(uid) => {
                let shown: String = uid.chars().take(40).collect();
                write!(f, "Invalid uid: {shown:?} (4-32 of a-z A-Z 0-9 _-#@~=*(){{}}[]:.,<>+)")
            }
            TicketError::NoEnv => f.write_str("no env: set TCB_ENV (or run where SCF_NAMESPACE is set)"),
            TicketError::KeyWithoutEnvId => {
                f.write_str("the key file has no env_id; download a current custom-login key from the CloudBase console")
            }
            TicketError::EnvMismatch { key_env_id, env } => {
                write!(f, "the key belongs to env {key_env_id:?}, but the ticket is for env {env:?}")
            }
            TicketError::Signing(e) => write!(f, "signing failed: {e}"),
            TicketError::BadTime(e) => write!(f, "bad time: {e}"),
        }
    }
}

impl std::error::Error for TicketError {}

/// Check a uid against node-sdk's `checkCustomUserIdRegex`:
/// `^[a-zA-Z0-9_\-#@~=*(){}[\]:.,<>+]{4,32}$`.
///
/// # Errors
/// [`TicketError::InvalidUid`].
pub fn validate_uid(uid: &str) -> Result<(), TicketError> {
    const SPECIAL: &[u8] = b"_-#@~=*(){}[]:.,<>+";
    let ok = (4..=32).contains(&uid.len())
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || SPECIAL.contains(&b));
    if ok {
        Ok(())
    } else {
        Err(TicketError::InvalidUid(uid.to_owned()))
    }
}

/// Resolve the ticket's env as node-sdk does: the configured env (`TCB_ENV`), else the current
/// env (`SCF_NAMESPACE`), and it must equal the key's `env_id`.
///
/// # Errors
/// [`TicketError::NoEnv`], [`TicketError::KeyWithoutEnvId`], [`TicketError::EnvMismatch`].
pub fn resolve_env(
    configured: Option<&str>,
    current: Option<&str>,
    key_env_id: Option<&str>,
) -> Result<String, TicketError> {
    let env = configured
        .filter(|e| !e.is_empty())
        .or(current.filter(|e| !e.is_empty()))
        .ok_or(TicketError::NoEnv)?;
    let key_env = key_env_id
        .filter(|e| !e.is_empty())
        .ok_or(TicketError::KeyWithoutEnvId)?;
    if key_env != env {
        return Err(TicketError::EnvMismatch {
            key_env_id: key_env.to_owned(),
            env: env.to_owned(),
        });
    }
    Ok(env.to_owned())
}

/// The JWT claims of a ticket, in node-sdk's order. All times in **milliseconds**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    /// Always `"RS256"` (node-sdk puts `alg` in the payload too).
    pub alg: String,
    /// CloudBase env id.
    pub env: String,
    /// Issued at, ms since the Unix epoch.
    pub iat: u64,
    /// Ticket expiry, ms since the Unix epoch (`iat + 600000`).
    pub exp: u64,
    /// CloudBase custom user id.
    pub uid: String,
    /// access_token refresh period, a duration in ms.
    pub refresh: u64,
    /// access_token expiry, ms since the Unix epoch.
    pub expire: u64,
}

/// Options of `createTicket(uid, {refresh, expire})`, both in **milliseconds**.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TicketOptions {
    /// `refresh` claim (a duration); default [`DEFAULT_REFRESH_MS`].
    pub refresh_ms: Option<u64>,
    /// `expire` claim (an absolute time); default `iat +` [`DEFAULT_EXPIRE_AFTER_MS`].
    pub expire_ms: Option<u64>,
}

#[derive(Deserialize)]
struct KeyFile {
    private_key_id: Option<String>,
    private_key: Option<Secret>,
    env_id: Option<String>,
}

/// A loaded custom-login key, parsed once. `Debug` never shows key material.
pub struct CustomLoginKey {
    private_key_id: String,
    env_id: Option<String>,
    bits: u32,
    aws_lc: AwsLcRsaKey,
    /// Set for keys of 2048 bits or more: aws-lc-rs's safe signer, parsed once.
    pair: Option<aws_lc_rs::signature::RsaKeyPair>,
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

    /// Mint a ticket for `uid` in `env` at `now_ms` (ms since the Unix epoch).
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
        validate_uid(uid)?;
        let env = resolve_env(Some(env), None, self.env_id())?;
        let later = |after: u64| {
            now_ms.checked_add(after).ok_or_else(|| {
                TicketError::BadTime(format!("now ({now_ms} ms) + {after} ms overflows"))
            })
        };
        let claims = TicketClaims {
            alg: "RS256".into(),
            env,
            iat: now_ms,
            exp: later(TICKET_LIFETIME_MS)?,
            uid: uid.to_owned(),
            refresh: options.refresh_ms.unwrap_or(DEFAULT_REFRESH_MS),
            expire: match options.expire_ms {
                Some(e) => e,
                None => later(DEFAULT_EXPIRE_AFTER_MS)?,
            },
        };
        let jwt = self.sign_jwt(&claims)?;
        Ok(format!("{}{TICKET_SEPARATOR}{jwt}", self.private_key_id))
    }

    /// The JWS compact serialisation `jsonwebtoken::encode` produces, signed with the key parsed
    /// at load.
    fn sign_jwt(&self, claims: &TicketClaims) -> Result<String, TicketError> {
        let message = format!(
            "{}.{}",
            b64_json(&Header::new(Algorithm::RS256))?,
            b64_json(claims)?
        );
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

    /// Inspect a ticket against this key: format, key id, signature, env. Times are reported,
    /// not judged, except `exp` against `now_ms`.
    pub fn inspect(&self, ticket: &str, now_ms: u64) -> Inspection {
        let mut checks = Vec::new();
        let mut check =
            |name: &'static str, ok: bool, detail: String| checks.push(Check { name, ok, detail });
        // At the last separator: a JWT never contains one, a private_key_id may.
        let Some((key_id, jwt)) = ticket.trim().rsplit_once(TICKET_SEPARATOR) else {
            check(
                "format",
                false,
                format!("no {TICKET_SEPARATOR:?} separator: a ticket is <private_key_id>/@@/<jwt>"),
            );
            return Inspection {
                header: None,
                claims: None,
                checks,
            };
        };
        let parts: Vec<&str> = jwt.split('.').collect();
        let decode = |s: &str| -> Option<serde_json::Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
        };
        let (header, claims) = match parts.as_slice() {
            [h, c, _] => (decode(h), decode(c)),
            _ => (None, None),
        };
        check(
            "format",
            header.is_some() && claims.is_some(),
            if header.is_some() && claims.is_some() {
                "<private_key_id>/@@/<jwt>".into()
            } else {
                "the JWT is not three base64url JSON parts".into()
            },
        );
        check(
            "key id",
            key_id == self.private_key_id,
            format!("ticket {key_id:?}, key file {:?}", self.private_key_id),
        );
        let sig_ok = match parts.as_slice() {
            [h, c, s] => URL_SAFE_NO_PAD.decode(s).is_ok_and(|sig| {
                self.aws_lc
                    .verify_rs256(format!("{h}.{c}").as_bytes(), &sig)
            }),
            _ => false,
        };
        check(
            "signature",
            sig_ok,
            if sig_ok {
                "RS256, valid for this key".into()
            } else {
                "does not verify with this key".into()
            },
        );
        let alg = header
            .as_ref()
            .and_then(|h| h.get("alg"))
            .and_then(|a| a.as_str())
            .unwrap_or("");
        check("algorithm", alg == "RS256", format!("header alg {alg:?}"));
        let env = claims
            .as_ref()
            .and_then(|c| c.get("env"))
            .and_then(|e| e.as_str())
            .unwrap_or("");
        check(
            "env",
            self.env_id.as_deref() == Some(env),
            format!(
                "ticket {env:?}, key file {:?}",
                self.env_id.as_deref().unwrap_or("(none)")
            ),
        );
        let exp = claims
            .as_ref()
            .and_then(|c| c.get("exp"))
            .and_then(|e| e.as_u64());
        check(
            "not expired",
            exp.is_some_and(|e| e > now_ms),
            match exp {
                Some(e) => format!("exp {} (ms)", format_ms(e)),
                None => "no exp".into(),
            },
        );
        Inspection {
            header,
            claims,
            checks,
        }
    }
}

/// Serialise to JSON and base64url without padding, as jsonwebtoken's `b64_encode_part`.
fn b64_json<T: Serialize>(value: &T) -> Result<String, TicketError> {
    let json = serde_json::to_vec(value).map_err(|e| TicketError::Signing(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// One check of [`CustomLoginKey::inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `format`, `key id`, `signature`, `algorithm`, `env`, `not expired`.
    pub name: &'static str,
    /// Passed?
    pub ok: bool,
    /// What was compared.
    pub detail: String,
}

/// What [`CustomLoginKey::inspect`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Decoded JWT header, if it decoded.
    pub header: Option<serde_json::Value>,
    /// Decoded claims, if they decoded.
    pub claims: Option<serde_json::Value>,
    /// Checks, in order.
    pub checks: Vec<Check>,
}

impl Inspection {
    /// All checks passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Largest time [`format_ms`] can show: 9999-12-31T23:59:59.999Z, in ms since the Unix epoch.
pub const MAX_FORMATTABLE_MS: u64 = 253_402_300_799_999;

/// `ms` since the Unix epoch as RFC 3339 UTC with milliseconds, e.g. `2026-11-21T05:05:54.123Z`.
/// Past year 9999 (a time in µs or ns read as ms, say) it says so instead.
pub fn format_ms(ms: u64) -> String {
    if ms > MAX_FORMATTABLE_MS {
        return format!("{ms} is after year 9999: not milliseconds?");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests;
