//! The claims the mock's tokens carry, in the shapes real CloudBase tokens have
//! (`testdata/cloudbase_token_shapes.json`, with their public sources): a user, the anonymous
//! publishable key, a server API key; and the issuer forms. Times in SECONDS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Default token lifetime, seconds (CloudBase access tokens: 2 hours, as far as public docs say).
pub const DEFAULT_TTL_SECS: u64 = 7200;
/// Longest lifetime `POST /mock/auth/token` hands out, seconds.
pub const MAX_TTL_SECS: u64 = 86_400;
/// The gateway issuer (and API base) for `env_id`: `https://{env_id}.api.tcloudbasegateway.com`.
pub fn gateway_issuer(env_id: &str) -> String {
    format!("https://{env_id}.api.tcloudbasegateway.com")
}

/// The issuer real user tokens carry: `https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com`
/// (the js-sdk 2.x sign-in host of the `ap-shanghai` region).
pub fn issuer_for(env_id: &str) -> String {
    format!("https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com")
}

/// Which `iss` the mock's tokens carry (its other issuers' tokens still verify at its routes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MockIssuer {
    /// `https://{env}.ap-shanghai.tcb-api.tencentcloudapi.com`, as every real user token seen.
    #[default]
    TcbApi,
    /// `https://{env}.api.tcloudbasegateway.com`.
    Gateway,
    /// `https://{env}.api.intl.tcloudbasegateway.com`.
    IntlGateway,
    /// The mock's own `http://127.0.0.1:PORT`: a token whose issuer host is reachable, to test
    /// asking the issuer's own key set and profile (`TCB_ISSUER_HOSTS`).
    Loopback,
}

/// A 19-digit numeric uid, as real tokens' `sub` (random).
pub fn new_uid() -> String {
    format!(
        "{}{:018}",
        1 + rand::random::<u8>() % 9,
        rand::random::<u64>() % 1_000_000_000_000_000_000
    )
}

/// Seconds since the Unix epoch (JWT time unit).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The claims of a user token to mint. `UserClaims::new(uid)` gives the real shape
/// (`testdata/cloudbase_token_shapes.json` "user"); the builder methods add WeChat ids, the
/// customUserId the mock's `/auth/v1/user/me` reports, or override a claim for a test.
///
/// Times are Unix SECONDS. The token is (before `extra`):
///
/// ```json
/// {"iss": "https://{env_id}.ap-shanghai.tcb-api.tencentcloudapi.com", "sub": uid, "aud": env_id,
///  "iat": now, "exp": now + ttl_secs, "at_hash": "<random>", "scope": "user sso",
///  "project_id": env_id, "provider_type": "custom",
///  "meta": {"wxOpenId": openid or "", "wxUnionId": unionid or ""},
///  "user_id": uid, "user_type": "external"}
/// ```
///
/// `nbf` appears only when set. Real uids are 19-digit strings ([`new_uid`]); tests may use any.
#[derive(Debug, Clone, PartialEq)]
pub struct UserClaims {
    /// `sub` and `user_id`: the CloudBase uid.
    pub uid: String,
    /// `meta.wxOpenId` (`""` when `None`).
    pub openid: Option<String>,
    /// `meta.wxUnionId` (`""` when `None`).
    pub unionid: Option<String>,
    /// The customUserId the mock's `/auth/v1/user/me` reports for this uid (not in the token,
    /// as with real custom-ticket users).
    pub custom_user_id: Option<String>,
    /// Lifetime: `exp = now + ttl_secs` unless [`UserClaims::exp`] is set. Default 7200.
    pub ttl_secs: u64,
    /// `aud` instead of the env id.
    pub aud: Option<String>,
    /// `iss` instead of the mock's issuer.
    pub iss: Option<String>,
    /// `iat` instead of now, seconds.
    pub iat: Option<i64>,
    /// `nbf`, seconds (absent by default, as in CloudBase tokens).
    pub nbf: Option<i64>,
    /// `exp` instead of `now + ttl_secs`, seconds.
    pub exp: Option<i64>,
    /// Claims applied last: each replaces the claim of that name; a `null` value removes it
    /// (e.g. `("exp", null)` for a token without `exp`).
    pub extra: serde_json::Map<String, Value>,
}

impl UserClaims {
    /// The default claims for `uid` (see the type's docs).
    pub fn new(uid: &str) -> UserClaims {
        UserClaims {
            uid: uid.to_owned(),
            openid: None,
            unionid: None,
            custom_user_id: None,
            ttl_secs: DEFAULT_TTL_SECS,
            aud: None,
            iss: None,
            iat: None,
            nbf: None,
            exp: None,
            extra: serde_json::Map::new(),
        }
    }

    /// With `meta.wxOpenId`.
    pub fn openid(mut self, openid: &str) -> Self {
        self.openid = Some(openid.to_owned());
        self
    }

    /// With `meta.wxUnionId`.
    pub fn unionid(mut self, unionid: &str) -> Self {
        self.unionid = Some(unionid.to_owned());
        self
    }

    /// The customUserId the mock's `/auth/v1/user/me` reports for this user (getLoginTicket's
    /// tickets carry the openid there).
    pub fn custom_user_id(mut self, id: &str) -> Self {
        self.custom_user_id = Some(id.to_owned());
        self
    }

    /// Lifetime in seconds.
    pub fn ttl_secs(mut self, secs: u64) -> Self {
        self.ttl_secs = secs;
        self
    }

    /// `aud` override.
    pub fn aud(mut self, aud: &str) -> Self {
        self.aud = Some(aud.to_owned());
        self
    }

    /// `iss` override.
    pub fn iss(mut self, iss: &str) -> Self {
        self.iss = Some(iss.to_owned());
        self
    }

    /// `iat` override, seconds.
    pub fn iat(mut self, iat: i64) -> Self {
        self.iat = Some(iat);
        self
    }

    /// `nbf`, seconds.
    pub fn nbf(mut self, nbf: i64) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// `exp` override, seconds.
    pub fn exp(mut self, exp: i64) -> Self {
        self.exp = Some(exp);
        self
    }

    /// Set (or, with `null`, remove) any claim, applied last.
    pub fn extra(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The claims as JSON for a token of `env_id` issued at `now` (seconds), with `iss` =
    /// [`issuer_for`]`(env_id)` unless [`UserClaims::iss`] says otherwise.
    pub fn to_json(&self, env_id: &str, now: i64) -> Value {
        let mut c = json!({
            "iss": self.iss.clone().unwrap_or_else(|| issuer_for(env_id)),
            "sub": self.uid,
            "aud": self.aud.as_deref().unwrap_or(env_id),
            "exp": self.exp.unwrap_or(now.saturating_add(self.ttl_secs as i64)),
            "iat": self.iat.unwrap_or(now),
            "at_hash": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            "scope": "user sso",
            "project_id": env_id,
            "provider_type": "custom",
            "meta": {
                "wxOpenId": self.openid.as_deref().unwrap_or_default(),
                "wxUnionId": self.unionid.as_deref().unwrap_or_default(),
            },
            "user_id": self.uid,
            "user_type": "external",
        });
        if let Some(nbf) = self.nbf {
            c["nbf"] = nbf.into();
        }
        apply_extra(&mut c, &self.extra);
        c
    }
}

fn apply_extra(c: &mut Value, extra: &serde_json::Map<String, Value>) {
    if let Value::Object(m) = c {
        for (k, v) in extra {
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The claims of the anonymous publishable key of `env_id` issued by `iss` at `now` (seconds):
/// `testdata/cloudbase_token_shapes.json` "publishable_key" (`sub: "anon"`, `scope:
/// "anonymous"`, `exp` in 2099).
pub fn publishable_key_claims(env_id: &str, iss: &str, now: i64) -> Value {
    json!({
        "iss": iss, "sub": "anon", "aud": env_id,
        "exp": 4_070_908_800_i64, "iat": now,
        "scope": "anonymous", "role": "anon", "is_anonymous": true,
        "client_type": "client_user",
        "meta": {"platform": "PublishableKey"},
    })
}

/// The claims of a server API key of `env_id` at `now` (seconds):
/// `testdata/cloudbase_token_shapes.json` "api_key" (no `iss`, no `sub`).
pub fn api_key_claims(env_id: &str, now: i64) -> Value {
    json!({
        "aud": env_id, "exp": 253_402_300_799_i64, "iat": now,
        "groups": ["administrator"], "is_system_admin": true,
        "meta": {"platform": "ApiKey", "internalUserType": "administrator"},
    })
}
