//! Inspection: a ticket checked against a key (format, key id, signature, env, times), for
//! `scripts/ticket inspect` and the tests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::format::TICKET_SEPARATOR;
use super::time::format_ms;

/// What [`inspect`] checks a ticket against: the key's parts (`key.rs` passes its own).
pub(super) struct Against<'k> {
    /// `private_key_id`.
    pub(super) private_key_id: &'k str,
    /// The key file's `env_id`.
    pub(super) env_id: Option<&'k str>,
    /// RS256 verification of `message` and `signature` with the key's public half.
    pub(super) verify: &'k dyn Fn(&[u8], &[u8]) -> bool,
}

/// Inspect a ticket against a key: format, key id, signature, env. Times are reported, not
/// judged, except `exp` against `now_ms`.
pub(super) fn inspect(key: &Against<'_>, ticket: &str, now_ms: u64) -> Inspection {
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
        key_id == key.private_key_id,
        format!("ticket {key_id:?}, key file {:?}", key.private_key_id),
    );
    let sig_ok = match parts.as_slice() {
        [h, c, s] => URL_SAFE_NO_PAD
            .decode(s)
            .is_ok_and(|sig| (key.verify)(format!("{h}.{c}").as_bytes(), &sig)),
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
        key.env_id == Some(env),
        format!(
            "ticket {env:?}, key file {:?}",
            key.env_id.unwrap_or("(none)")
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

/// One check of [`super::CustomLoginKey::inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `format`, `key id`, `signature`, `algorithm`, `env`, `not expired`.
    pub name: &'static str,
    /// Passed?
    pub ok: bool,
    /// What was compared.
    pub detail: String,
}

/// What [`super::CustomLoginKey::inspect`] found.
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
