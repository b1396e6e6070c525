//! A code a mini program API hands out for the server to exchange once (`wx.login`'s code,
//! the getPhoneNumber button's code): the input rule every function that takes one shares.

use serde::Deserialize;

/// Longest accepted code, bytes. Real codes are 32 (`wx.login`) to under 100 characters.
pub const MAX_CODE_BYTES: usize = 512;

/// A code: at most [`MAX_CODE_BYTES`] bytes, no whitespace or control characters. Read it as a
/// field of a function's input (`#[serde(try_from = "String")]`: a bad one is a `400
/// BAD_REQUEST` naming the field). `Debug` shows only its length: a code is a live, single-use
/// credential.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct WxCode(String);

impl WxCode {
    /// The code, for the one WeChat call that needs it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for WxCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WxCode({} bytes)", self.0.len())
    }
}

impl TryFrom<String> for WxCode {
    type Error = String;
    fn try_from(code: String) -> Result<Self, String> {
        if code.len() > MAX_CODE_BYTES {
            return Err(format!("longer than {MAX_CODE_BYTES} bytes"));
        }
        if code.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains whitespace or control characters".into());
        }
        Ok(WxCode(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(WxCode::try_from("abc".to_owned()).unwrap().as_str(), "abc");
        assert!(WxCode::try_from("x".repeat(513)).is_err());
        assert!(WxCode::try_from("a b".to_owned()).is_err());
        assert!(WxCode::try_from("a\u{0}b".to_owned()).is_err());
        let c = WxCode::try_from("s3cret-code".to_owned()).unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
