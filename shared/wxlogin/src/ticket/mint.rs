//! Minting: a ticket's claims, checked in node-sdk's order, and the JWT's signing input. The
//! key signs it (`key.rs`): this file knows no key, so the key can use it without a loop.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};

use super::format::{DEFAULT_EXPIRE_AFTER_MS, DEFAULT_REFRESH_MS, TICKET_LIFETIME_MS};

/// Why a ticket could not be minted. Mirrors node-sdk's `INVALID_PARAM` errors, in its order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// uid fails `^[a-zA-Z0-9_\-#@~=*(){}[\]:.,<>+]{4,32}$` (node-sdk: `Invalid uid: "..."`).
    #[error("Invalid uid: {:?} (4-32 of a-z A-Z 0-9 _-#@~=*(){{}}[]:.,<>+)", .0.chars().take(40).collect::<String>())]
    InvalidUid(String),
    /// No env to put in the ticket (node-sdk: `no env in config`).
    #[error("no env: set TCB_ENV (or run where SCF_NAMESPACE is set)")]
    NoEnv,
    /// The key file has no `env_id` (node-sdk: `当前私钥未包含env_id 信息…`).
    #[error(
        "the key file has no env_id; download a current custom-login key from the CloudBase console"
    )]
    KeyWithoutEnvId,
    /// The key belongs to another env (node-sdk: `当前私钥所属环境与 init 指定环境不一致！`).
    #[error("the key belongs to env {key_env_id:?}, but the ticket is for env {env:?}")]
    EnvMismatch {
        /// `env_id` of the key file.
        key_env_id: String,
        /// The env the ticket was asked for.
        env: String,
    },
    /// aws-lc or jsonwebtoken failed to sign.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A time (ms) so large that `exp` / `expire` would overflow.
    #[error("bad time: {0}")]
    BadTime(String),
}

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
    /// `refresh` claim (a duration); default 3,600,000 ms (one hour).
    pub refresh_ms: Option<u64>,
    /// `expire` claim (an absolute time); default `iat` + 604,800,000 ms (7 days).
    pub expire_ms: Option<u64>,
}

/// The claims of a ticket for `uid` in `env` at `now_ms` (ms since the Unix epoch), for a key
/// whose env is `key_env` ([`super::CustomLoginKey::mint`] signs them).
///
/// Checks in node-sdk's order: uid, env present, key has env_id, env matches.
///
/// # Errors
/// [`TicketError`].
pub(super) fn claims(
    uid: &str,
    env: &str,
    now_ms: u64,
    options: TicketOptions,
    key_env: Option<&str>,
) -> Result<TicketClaims, TicketError> {
    validate_uid(uid)?;
    let env = resolve_env(Some(env), None, key_env)?;
    let later = |after: u64| {
        now_ms.checked_add(after).ok_or_else(|| {
            TicketError::BadTime(format!("now ({now_ms} ms) + {after} ms overflows"))
        })
    };
    Ok(TicketClaims {
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
    })
}

/// The JWS signing input `jsonwebtoken::encode` produces for `claims`: `header.claims`, each
/// base64url JSON (`{"typ":"JWT","alg":"RS256"}` as the header).
///
/// # Errors
/// [`TicketError::Signing`] when the claims cannot be serialised.
pub(super) fn signing_input(claims: &TicketClaims) -> Result<String, TicketError> {
    Ok(format!(
        "{}.{}",
        b64_json(&Header::new(Algorithm::RS256))?,
        b64_json(claims)?
    ))
}

/// Serialise to JSON and base64url without padding, as jsonwebtoken's `b64_encode_part`.
fn b64_json<T: Serialize>(value: &T) -> Result<String, TicketError> {
    let json = serde_json::to_vec(value).map_err(|e| TicketError::Signing(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}
