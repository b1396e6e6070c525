//! Sign-in with a custom-login ticket, as `@cloudbase/js-sdk` does it, so the whole login runs
//! locally (`make e2e`).
//!
//! What the SDK sends (read from `@cloudbase/oauth` `src/auth/apis.ts` `signInCustom`, js-sdk
//! 2.27.2 and 3.7.0): `POST /auth/v1/signin/custom?client_id={env}` with
//! `{"provider_id": "custom", "ticket": <the ticket as the sign function gave it>}`, and later
//! `POST /auth/v1/token?client_id={env}` with `{"grant_type": "refresh_token", "refresh_token"}`.
//! The answer is credentials (`@cloudbase/oauth` `src/oauth2client/models.ts` `Credentials`):
//! `{token_type, access_token, refresh_token, expires_in, scope, sub}`, `expires_in` in seconds.
//!
//! How a ticket is checked here, written from CloudBase's custom-login documentation (the ticket
//! is `<private_key_id>/@@/<JWT>`, an RS256 JWT signed with the private key of the console's
//! `tcb_custom_login.json`, for the env; node-sdk `auth().createTicket` makes one) and not from
//! our own ticket code, so that it can tell our tickets wrong:
//! 1. the `/@@/` separator: the part before it names the key (`private_key_id`);
//! 2. that key is one the env trusts ([`MockCloudBase::trust_custom_login_key`]);
//! 3. the JWT's header `alg` is `RS256` and its signature (RSASSA-PKCS1-v1_5 with SHA-256)
//!    verifies with the key's public half;
//! 4. the claim `env` is this env id;
//! 5. the claim `exp` (**milliseconds**, as node-sdk writes it) is after the mock's now;
//! 6. the claim `uid` is a customUserId: 4 to 32 of `a-z A-Z 0-9 _ - # @ ~ = * ( ) { } [ ] : . , < > +`.
//!
//! A refusal is HTTP 400 with the OAuth error body the SDK reads (`@cloudbase/oauth`
//! `src/auth/auth-error.ts`: `error` is the status, `error_description` the message,
//! `error_code` the 2.x code): `{"error": "invalid_argument", "error_code": "INVALID_TICKET",
//! "error_description": "invalid ticket: <the rule it broke>"}`. The gRPC-style `error` names
//! come from the SDK's `ErrorType`; the exact `error_code` CloudBase sends for a bad ticket is
//! UNCONFIRMED.
//!
//! Users: one uid per customUserId, made at its first sign-in (a 19-digit uid, as real ones), so
//! a second sign-in of the same user keeps its uid. The access token is a user token of the real
//! shape ([`super::UserClaims`]) whose `iss` is the host the SDK signed in at (the request's
//! `Host`, when it is one of the env's CloudBase hosts), with `meta.wxOpenId` empty, as the one
//! real user token seen; the customUserId is what `/auth/v1/user/me` reports.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::claims::{DEFAULT_TTL_SECS, UserClaims, new_uid};
use super::state::{Shared, bad_request, json_response, mint_with};

/// `POST`: sign in with a custom ticket.
pub(super) const SIGNIN_CUSTOM_PATH: &str = "/auth/v1/signin/custom";
/// `POST`: refresh credentials.
pub(super) const TOKEN_PATH: &str = "/auth/v1/token";
/// `POST`: revoke a token at sign-out (`@cloudbase/oauth` `src/auth/apis.ts` `signOut`).
pub(super) const REVOKE_PATH: &str = "/auth/v1/revoke";
/// `POST`, mock only: `{"offset_secs": N}` moves the mock's clock (what it mints and checks).
pub(super) const CLOCK_PATH: &str = "/mock/clock";
/// `GET`, mock only: `{"signins", "refused", "userMeCalls", "users"}`.
pub(super) const STATS_PATH: &str = "/mock/stats";

/// The separator between the key id and the JWT in a ticket.
const SEPARATOR: &str = "/@@/";
/// The largest request body read, bytes.
const MAX_BODY: usize = 64 * 1024;

/// The error body the SDK reads, HTTP 400.
fn oauth_error(error: &str, code: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_code": code, "error_description": description});
    json_response(StatusCode::BAD_REQUEST, body.to_string())
}

fn invalid_ticket(s: &Shared, why: &str) -> Response {
    s.signin.refused.fetch_add(1, Ordering::SeqCst);
    oauth_error(
        "invalid_argument",
        "INVALID_TICKET",
        &format!("invalid ticket: {why}"),
    )
}

/// Whether `uid` is a customUserId (CloudBase's rule, as node-sdk's `checkCustomUserIdRegex`).
fn is_custom_user_id(uid: &str) -> bool {
    const SPECIAL: &[u8] = b"_-#@~=*(){}[]:.,<>+";
    (4..=32).contains(&uid.len())
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || SPECIAL.contains(&b))
}

/// The customUserId of a good ticket, or the rule it breaks (module docs, in order).
fn check_ticket(s: &Shared, ticket: &str) -> Result<String, String> {
    let Some((key_id, jwt)) = ticket.split_once(SEPARATOR) else {
        return Err(format!(
            "no {SEPARATOR:?} separator (a ticket is <private_key_id>{SEPARATOR}<JWT>)"
        ));
    };
    let (key, key_env) = s
        .signin
        .keys
        .lock()
        .unwrap()
        .get(key_id)
        .cloned()
        .ok_or_else(|| "its private_key_id names no custom-login key of this env".to_owned())?;
    let not_jwt = || "the part after the separator is not a JWT".to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts.as_slice() else {
        return Err(not_jwt());
    };
    let json = |seg: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (json(h), json(c)) else {
        return Err(not_jwt());
    };
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err("the JWT is not RS256".into());
    }
    // aws-lc-rs directly, not jsonwebtoken: custom-login keys may be 1024-bit (node-sdk accepts
    // them), which jsonwebtoken's aws-lc backend refuses.
    let signature = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        &key,
    )
    .verify(format!("{h}.{c}").as_bytes(), &signature)
    .map_err(|_| "the signature does not verify with the custom-login key".to_owned())?;
    let env = claims
        .get("env")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if env != s.env_id || key_env != s.env_id {
        return Err(format!(
            "env {env:?} is not this env ({:?}), or the key is another env's",
            s.env_id
        ));
    }
    let now_ms = s.now().saturating_mul(1000);
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now_ms => {}
        Some(_) => return Err("expired (exp, in milliseconds, is past)".into()),
        None => return Err("no exp (milliseconds)".into()),
    }
    let uid = claims
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !is_custom_user_id(uid) {
        return Err("uid is not a customUserId (4-32 of a-z A-Z 0-9 _-#@~=*(){}[]:.,<>+)".into());
    }
    Ok(uid.to_owned())
}

/// The issuer for a sign-in that came to `host`: `https://{host}` when that is one of the env's
/// CloudBase hosts (the SDK's sign-in host is what real tokens carry), else the mock's issuer.
fn issuer_for_host(s: &Shared, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let candidate = format!("https://{host}");
    if s.accepted_issuers.contains(&candidate) {
        candidate
    } else {
        s.issuer.clone()
    }
}

/// Credentials for `uid` (customUserId `custom`), as the sign-in and refresh routes answer.
fn credentials(s: &Shared, uid: &str, custom: &str, iss: String) -> Response {
    let access_token = mint_with(s, &UserClaims::new(uid).custom_user_id(custom).iss(&iss));
    let refresh_token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    s.signin
        .refresh_tokens
        .lock()
        .unwrap()
        .insert(refresh_token.clone(), uid.to_owned());
    let body = json!({
        "token_type": "Bearer",
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_in": DEFAULT_TTL_SECS,
        "scope": "user sso",
        "sub": uid,
    });
    json_response(StatusCode::OK, body.to_string())
}

fn body_object(body: &Bytes) -> Option<serde_json::Map<String, Value>> {
    if body.len() > MAX_BODY {
        return None;
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// `POST /auth/v1/signin/custom`.
pub(super) async fn signin_custom(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(req) = body_object(&body) else {
        return oauth_error(
            "invalid_argument",
            "INVALID_PARAM",
            "the body is not a JSON object",
        );
    };
    if req.get("provider_id").and_then(Value::as_str) != Some("custom") {
        return oauth_error(
            "invalid_argument",
            "INVALID_PARAM",
            "provider_id must be \"custom\"",
        );
    }
    let Some(ticket) = req.get("ticket").and_then(Value::as_str) else {
        return invalid_ticket(&s, "no ticket");
    };
    let custom = match check_ticket(&s, ticket) {
        Ok(c) => c,
        Err(why) => return invalid_ticket(&s, &why),
    };
    let uid = s
        .signin
        .users
        .lock()
        .unwrap()
        .entry(custom.clone())
        .or_insert_with(new_uid)
        .clone();
    s.signin.signins.fetch_add(1, Ordering::SeqCst);
    credentials(&s, &uid, &custom, issuer_for_host(&s, &headers))
}

/// `POST /auth/v1/token` with `grant_type: refresh_token`.
pub(super) async fn refresh(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = body_object(&body).unwrap_or_default();
    if req.get("grant_type").and_then(Value::as_str) != Some("refresh_token") {
        return oauth_error(
            "invalid_argument",
            "INVALID_PARAM",
            "grant_type must be refresh_token",
        );
    }
    let token = req
        .get("refresh_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let uid = s.signin.refresh_tokens.lock().unwrap().remove(token);
    let Some(uid) = uid else {
        return oauth_error(
            "invalid_grant",
            "INVALID_REFRESH_TOKEN",
            "the refresh token is unknown or used",
        );
    };
    let custom = s
        .custom_users
        .lock()
        .unwrap()
        .get(&uid)
        .cloned()
        .unwrap_or_default();
    credentials(&s, &uid, &custom, issuer_for_host(&s, &headers))
}

/// `POST /auth/v1/revoke` `{"token": …}` (the SDK's `signOut` sends its access token): the
/// answer is `{}`; a refresh token given is forgotten. An access token stays valid until its
/// `exp`, as any JWT checked offline by our functions does.
pub(super) async fn revoke(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if let Some(token) = body_object(&body)
        .as_ref()
        .and_then(|m| m.get("token"))
        .and_then(Value::as_str)
    {
        s.signin.refresh_tokens.lock().unwrap().remove(token);
    }
    json_response(StatusCode::OK, "{}".into())
}

/// `POST /mock/clock` `{"offset_secs": N}`: the mock's clock is the real one plus N seconds.
pub(super) async fn clock(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    match body_object(&body)
        .and_then(|m| m.get("offset_secs").and_then(Value::as_i64))
        .filter(|n| n.abs() <= 10 * 365 * 86_400)
    {
        Some(n) => {
            s.clock_offset_secs.store(n, Ordering::SeqCst);
            json_response(StatusCode::OK, json!({"offset_secs": n}).to_string())
        }
        None => bad_request("expected {\"offset_secs\": <integer seconds, |N| <= 10 years>}"),
    }
}

/// `GET /mock/stats`: counters for a harness (`make e2e`), no token or id.
pub(super) async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let body = json!({
        "signins": s.signin.signins.load(Ordering::SeqCst),
        "refused": s.signin.refused.load(Ordering::SeqCst),
        "userMeCalls": s.user_me_calls.load(Ordering::SeqCst),
        "users": s.signin.users.lock().unwrap().len(),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// The `private_key_id`, the public key (PKCS#1 DER) and the `env_id` of a
/// `tcb_custom_login.json`.
///
/// # Errors
/// `InvalidData` when the JSON or the PEM cannot be read.
pub(super) fn trusted_key(key_file_json: &str) -> std::io::Result<(String, Vec<u8>, String)> {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let v: Value = serde_json::from_str(key_file_json).map_err(|_| bad("not JSON"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| bad(k));
    let (id, pem, env) = (
        field("private_key_id")?,
        field("private_key")?,
        field("env_id")?,
    );
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        })
        .map_err(|_| bad("private_key is not an RSA PEM"))?;
    let der = private
        .to_public_key()
        .to_pkcs1_der()
        .map_err(|_| bad("public key"))?;
    Ok((id.to_owned(), der.as_bytes().to_vec(), env.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::is_custom_user_id;

    #[test]
    fn the_custom_user_id_rule() {
        for ok in ["abcd", "oAbc-_#@~=*(){}[]:.,<>+", &"a".repeat(32)] {
            assert!(is_custom_user_id(ok), "{ok}");
        }
        for bad in ["abc", &"a".repeat(33), "a b c d", "abcd/", "abcé"] {
            assert!(!is_custom_user_id(bad), "{bad}");
        }
    }
}
