//! The user's phone number: `POST {WECHAT_API_BASE}/wxa/business/getuserphonenumber
//! ?access_token=TOKEN` with JSON `{code}`, the code from `<button open-type="getPhoneNumber">`.
//!
//! Facts (`docs/platform.md` "WeChat access_token and phone number"; WeChat doc
//! `phonenumber.getPhoneNumber`): the answer is `{errcode: 0, errmsg, phone_info: {phoneNumber,
//! purePhoneNumber, countryCode, watermark: {timestamp, appid}}}`; `countryCode` is a number in
//! WeChat's example and a string in its field table, so both are read and it is always returned
//! as a string. The watermark's appid must be ours: an answer for another mini program is
//! unusable.
//!
//! A phone number is personal data: [`PhoneNumber`]'s `Debug` masks it (`138****8000`), nothing
//! here logs it, and nothing caches it.

use serde::Deserialize;

use crate::error::{WxError, clean_errmsg, parse_json};

/// The API path.
pub const PHONE_PATH: &str = "/wxa/business/getuserphonenumber";
/// Longest `phoneNumber` / `purePhoneNumber` accepted, characters.
pub const MAX_PHONE_CHARS: usize = 32;
/// Longest `countryCode` accepted, characters.
pub const MAX_COUNTRY_CODE_CHARS: usize = 8;

/// A user's phone number as WeChat gives it. `Debug` masks the numbers; never log them.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// With the country code for numbers outside mainland China, e.g. `13800138000` or `+1 650…`.
    pub phone_number: String,
    /// Without the country code, e.g. `13800138000`.
    pub pure_phone_number: String,
    /// The country code as a string, e.g. `86`.
    pub country_code: String,
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneNumber")
            .field("phone_number", &mask_phone(&self.phone_number))
            .field("pure_phone_number", &mask_phone(&self.pure_phone_number))
            .field("country_code", &self.country_code)
            .finish()
    }
}

/// A phone number masked for a log line: the first 3 and last 4 characters kept, the rest `*`
/// (`13800138000` → `138****8000`); a number of 8 characters or fewer is all `*`.
pub fn mask_phone(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 4 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct RawPhoneAnswer {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    phone_info: Option<RawPhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPhoneInfo {
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    pure_phone_number: Option<String>,
    #[serde(default)]
    country_code: Option<serde_json::Value>,
    #[serde(default)]
    watermark: Option<RawWatermark>,
}

#[derive(Deserialize)]
struct RawWatermark {
    #[serde(default)]
    appid: Option<String>,
}

/// Parse a getuserphonenumber body for the mini program `appid`.
///
/// # Errors
/// [`WxError::Api`] for a non-zero `errcode` (`errmsg` cleaned of `echoes`);
/// [`WxError::BadResponse`] when the body is not JSON, lacks `phone_info`, a number or the
/// country code, holds a number that is not digits (`+`, `-` and spaces allowed in
/// `phoneNumber`) or is too long, or when `watermark.appid` is not `appid`. Messages never
/// include a number.
pub fn parse_phone_answer(
    body: &[u8],
    echoes: &[&str],
    appid: &str,
) -> Result<PhoneNumber, WxError> {
    let raw: RawPhoneAnswer = parse_json(body)?;
    if let Some(errcode) = raw.errcode.filter(|c| *c != 0) {
        let errmsg = clean_errmsg(&raw.errmsg.unwrap_or_default(), echoes);
        return Err(WxError::Api { errcode, errmsg });
    }
    let bad = |m: &str| WxError::BadResponse(m.into());
    let info = raw
        .phone_info
        .ok_or_else(|| bad("no phone_info and no errcode"))?;
    if info.watermark.and_then(|w| w.appid).as_deref() != Some(appid) {
        return Err(bad("watermark.appid is not WX_APPID"));
    }
    let digits = |s: &str, extra: &[char], max: usize| {
        !s.is_empty()
            && s.chars().count() <= max
            && s.chars().all(|c| c.is_ascii_digit() || extra.contains(&c))
    };
    let phone_number = info
        .phone_number
        .filter(|n| digits(n, &['+', '-', ' '], MAX_PHONE_CHARS))
        .ok_or_else(|| bad("no usable phoneNumber"))?;
    let pure_phone_number = info
        .pure_phone_number
        .filter(|n| digits(n, &[], MAX_PHONE_CHARS))
        .ok_or_else(|| bad("no usable purePhoneNumber"))?;
    let country_code = match info.country_code {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
    .filter(|c| digits(c, &[], MAX_COUNTRY_CODE_CHARS))
    .ok_or_else(|| bad("no usable countryCode"))?;
    Ok(PhoneNumber {
        phone_number,
        pure_phone_number,
        country_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[u8] = br#"{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"13800138000","purePhoneNumber":"13800138000","countryCode":86,"watermark":{"timestamp":1637744274,"appid":"wxapp"}}}"#;

    #[test]
    fn parses_and_masks() {
        let p = parse_phone_answer(OK, &[], "wxapp").unwrap();
        assert_eq!(p.country_code, "86");
        assert_eq!(p.pure_phone_number, "13800138000");
        let dbg = format!("{p:?}");
        assert!(
            !dbg.contains("13800138000") && dbg.contains("138****8000"),
            "{dbg}"
        );
        let s = String::from_utf8_lossy(OK).replace(r#""countryCode":86"#, r#""countryCode":"86""#);
        assert_eq!(parse_phone_answer(s.as_bytes(), &[], "wxapp").unwrap(), p);
        assert_eq!(mask_phone("12345678"), "********");
        assert_eq!(mask_phone("+1 6505551234"), "+1 ******1234");
    }

    #[test]
    fn refuses_other_apps_and_bad_numbers() {
        let err = parse_phone_answer(OK, &[], "wxother").unwrap_err();
        assert!(
            matches!(&err, WxError::BadResponse(m) if m.contains("watermark")),
            "{err:?}"
        );
        let text = String::from_utf8_lossy(OK);
        for (from, to) in [
            (r#""appid":"wxapp""#, r#""app":"wxapp""#),
            (r#""countryCode":86"#, r#""countryCode":null"#),
            (r#""countryCode":86"#, r#""countryCode":"8a""#),
            (
                r#""purePhoneNumber":"13800138000""#,
                r#""purePhoneNumber":"138<b>""#,
            ),
            (r#""phoneNumber":"13800138000""#, r#""phoneNumber":"""#),
        ] {
            let body = text.replace(from, to);
            let err = parse_phone_answer(body.as_bytes(), &[], "wxapp").unwrap_err();
            assert!(matches!(err, WxError::BadResponse(_)), "{to}: {err:?}");
            assert!(!err.to_string().contains("13800138000"), "{err}");
        }
        let err = parse_phone_answer(
            br#"{"errcode":40029,"errmsg":"invalid code phone.x"}"#,
            &["phone.x"],
            "wxapp",
        )
        .unwrap_err();
        assert_eq!(
            err,
            WxError::Api {
                errcode: 40029,
                errmsg: "invalid code [redacted]".into()
            }
        );
    }
}
