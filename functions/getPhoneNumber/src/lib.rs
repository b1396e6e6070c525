//! getPhoneNumber: `{code}` from `<button open-type="getPhoneNumber">` → WeChat
//! `wxa/business/getuserphonenumber` on the instance's shared access_token →
//! `{phoneNumber, purePhoneNumber, countryCode}`.
//!
//! Input (`request.rs`): `{code}` as callFunction data, or on an HTTP `POST` as a JSON body
//! (whatever its label) or a form body; the same rules as getLoginTicket's `code`.
//!
//! The access_token (`wxlogin`'s `access_token.rs`, through [`WeChatClient`]): fetched with `stable_token`, cached until
//! `expires_in` minus 5 minutes, one fetch shared by concurrent requests, refetched once when
//! WeChat rejects it. The WeChat error mapping: `exchange.rs`. Configuration, read once at init:
//! `config.rs` (a problem makes every call answer `MISCONFIGURED`, naming the setting).
//!
//! Privacy: the phone number is personal data. It is in the answer only: no log line holds it
//! (at most masked, `138****8000`), and it is not cached. The code is WeChat's proof that the
//! user agreed to share the number; when the platform vouches for the caller (callFunction), the
//! caller's openid is logged with the request.

mod config;
mod exchange;
mod request;

use scf_runtime::{Configured, Context, Event, FnError, Settings, configure};
use serde::Serialize;
use tracing::info;
use wxlogin::WeChatClient;
use wxlogin::{PhoneNumber, mask_phone};

pub use exchange::{QUOTA_RETRY_AFTER_SECS, wechat_error};
pub use request::{MAX_CODE_BYTES, PhoneCode, request_from};

/// The function's state: the WeChat client (with its access_token cache), or the configuration
/// error every call answers with.
pub type State = Configured<WeChatClient>;

/// What a successful call returns, in WeChat's field names. `countryCode` is always a string.
/// `Debug` masks the numbers.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneAnswer {
    /// The number with its country code for numbers outside mainland China.
    pub phone_number: String,
    /// The number without the country code.
    pub pure_phone_number: String,
    /// The country code, e.g. `"86"`.
    pub country_code: String,
}

impl std::fmt::Debug for PhoneAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneAnswer")
            .field("phone_number", &mask_phone(&self.phone_number))
            .field("pure_phone_number", &mask_phone(&self.pure_phone_number))
            .field("country_code", &self.country_code)
            .finish()
    }
}

impl From<PhoneNumber> for PhoneAnswer {
    fn from(p: PhoneNumber) -> Self {
        PhoneAnswer {
            phone_number: p.phone_number,
            pure_phone_number: p.pure_phone_number,
            country_code: p.country_code,
        }
    }
}

/// Build the state from the process environment, once, at init (see `config.rs`).
pub fn init() -> State {
    init_from(&Settings::from_env())
}

/// [`init`] with explicit settings (for tests).
pub fn init_from(settings: &Settings<'_>) -> State {
    configure("getPhoneNumber", settings, config::build)
}

/// The handler: the request (`request.rs`), then the phone number on the shared access_token.
///
/// # Errors
/// `MISCONFIGURED` (500) when init failed; as [`request_from`] and [`wechat_error`] otherwise.
pub async fn handle(state: &State, event: Event, ctx: Context) -> Result<PhoneAnswer, FnError> {
    let wechat = state.as_ref().map_err(Clone::clone)?;
    let code = request_from(&event)?;
    if let Some(openid) = ctx.identity.openid.as_deref() {
        info!(openid, "phone number asked for by the verified caller");
    }
    let phone = wechat
        .phone_number(code.as_str(), ctx.deadline)
        .await
        .map_err(wechat_error)?;
    info!(
        phone = %mask_phone(&phone.pure_phone_number),
        country_code = %phone.country_code,
        "phone number given"
    );
    Ok(phone.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misconfiguration_names_the_setting_not_the_value() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Settings::from_lookup(move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        let msg = |s: State| {
            s.err()
                .map(|e| (e.error.as_str().to_owned(), e.message))
                .unwrap()
        };
        let (code, m) = msg(init_from(&env(&[("WX_SECRET", "s3cr3t-value")])));
        assert_eq!(code, "MISCONFIGURED");
        assert!(m.starts_with("WX_APPID") && !m.contains("s3cr3t"), "{m}");
        let (_, m) = msg(init_from(&env(&[("WX_APPID", "wx1"), ("WX_SECRET", "  ")])));
        assert!(m.starts_with("WX_SECRET"), "{m}");
        let (_, m) = msg(init_from(&env(&[
            ("WX_APPID", "wx1"),
            ("WX_SECRET", "s3cr3t-value"),
            ("WECHAT_API_BASE", "ftp://x"),
        ])));
        assert!(m.starts_with("WECHAT_API_BASE"), "{m}");
        assert!(init_from(&env(&[("WX_APPID", "wx1"), ("WX_SECRET", "s")])).is_ok());
    }

    #[test]
    fn the_answer_has_wechat_names_and_masks_in_debug() {
        let a = PhoneAnswer {
            phone_number: "13800138000".into(),
            pure_phone_number: "13800138000".into(),
            country_code: "86".into(),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": "86"})
        );
        assert!(!format!("{a:?}").contains("13800138000"));
    }
}
