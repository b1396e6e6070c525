//! How a WeChat failure is answered (status, code, `Retry-After`) for getPhoneNumber. Every
//! errcode here can come from `stable_token` (the access_token) or from `getuserphonenumber`.

use scf_runtime::FnError;
use wxlogin::WxError;

pub use wxlogin::QUOTA_RETRY_AFTER_SECS;

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
    e.to_fn_error((
        &[40029],
        "the phone code is invalid or already used; ask the user to tap the button again",
    ))
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
