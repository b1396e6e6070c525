//! How a WeChat failure is answered (status, code, `Retry-After`) for getPhoneNumber. Every
//! errcode here can come from `stable_token` (the access_token) or from `getuserphonenumber`.

use scf_runtime::FnError;
use wxlogin::WxError;

/// `Retry-After` sent with a 45011 (per-minute quota) answer, seconds.
pub const QUOTA_RETRY_AFTER_SECS: u64 = 60;

/// Map a WeChat failure to the caller's error and HTTP status:
/// - unreachable / unusable: 502 `WX_API_UNREACHABLE` / `WX_API_BAD_RESPONSE` (a watermark for
///   another appid is unusable);
/// - `40029`: 401 `WX_API_ERROR` (invalid or used code); `45011`: 429 with `Retry-After`;
///   `45009` (stable_token daily quota): 429; `-1`: 502;
/// - `40013`, `40125`, `41002`, `41004`: 500 (WX_APPID / WX_SECRET rejected), as for
///   jscode2session; a bad token after the refetch (`40001`, `40014`, `42001`): 502.
///
/// `WX_API_ERROR` carries `errcode` and the cleaned `errmsg`.
pub fn wechat_error(e: WxError) -> FnError {
    match e {
        WxError::Unreachable(m) => FnError::new(
            "WX_API_UNREACHABLE",
            502,
            format!("could not reach the WeChat API: {m}"),
        ),
        WxError::BadResponse(m) => FnError::new(
            "WX_API_BAD_RESPONSE",
            502,
            format!("the WeChat API gave an unusable answer: {m}"),
        ),
        WxError::Api { errcode, errmsg } => {
            let (status, message) = match errcode {
                40029 => (
                    401,
                    "the phone code is invalid or already used; ask the user to tap the button again",
                ),
                45011 => (
                    429,
                    "WeChat's per-minute quota is used up; retry after a minute",
                ),
                45009 => (
                    429,
                    "WeChat's daily access_token quota is used up; retry tomorrow",
                ),
                -1 => (502, "WeChat is busy; retry shortly"),
                40013 | 40125 | 41002 | 41004 => (500, "WeChat rejected WX_APPID or WX_SECRET"),
                40001 | 40014 | 42001 => (
                    502,
                    "WeChat rejected a freshly fetched access_token; retry shortly",
                ),
                _ => (502, "the WeChat API returned an error"),
            };
            let err = FnError::new("WX_API_ERROR", status, message).with_wechat(errcode, errmsg);
            if errcode == 45011 {
                err.with_retry_after(QUOTA_RETRY_AFTER_SECS)
            } else {
                err
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(errcode: i64) -> FnError {
        wechat_error(WxError::Api {
            errcode,
            errmsg: "m".into(),
        })
    }

    #[test]
    fn statuses() {
        for (code, status) in [
            (40029, 401),
            (45011, 429),
            (45009, 429),
            (-1, 502),
            (40013, 500),
            (40125, 500),
            (41002, 500),
            (40001, 502),
            (12345, 502),
        ] {
            let e = api(code);
            assert_eq!(
                (e.error.as_ref(), e.status),
                ("WX_API_ERROR", status),
                "{code}"
            );
            assert_eq!(e.errcode, Some(code));
        }
        assert_eq!(api(45011).retry_after_secs, Some(QUOTA_RETRY_AFTER_SECS));
        assert_eq!(api(45009).retry_after_secs, None);
        assert_eq!(
            wechat_error(WxError::BadResponse("x".into())).error,
            "WX_API_BAD_RESPONSE"
        );
        assert_eq!(wechat_error(WxError::Unreachable("x".into())).status, 502);
    }
}
