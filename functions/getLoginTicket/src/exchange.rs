//! How a failure of the exchange is answered: a WeChat failure (status, code, `Retry-After`), a
//! ticket that cannot be minted, an env that does not fit the key. Its own file because the
//! configuration (`config.rs`), the login (`login.rs`) and the replay rules (`replay.rs`) all
//! answer with these, and none of them should import another for it.

use scf_runtime::FnError;
use wxlogin::{TicketError, WxError};

pub use wxlogin::QUOTA_RETRY_AFTER_SECS;

/// Map a WeChat failure to the caller's error and HTTP status (`WxError::to_fn_error`, with
/// the errcodes that mean the wx.login code is bad).
pub fn wechat_error(e: WxError) -> FnError {
    e.to_fn_error((
        &[40029, 40163, 40226],
        "the login code is invalid, already used or blocked; call wx.login again",
    ))
}

/// The caller's error for a ticket that cannot be minted: a bad uid or a signing failure is
/// `500 INTERNAL`, an env problem `500 MISCONFIGURED` naming `TCB_ENV`.
pub(crate) fn ticket_error(e: TicketError) -> FnError {
    match e {
        TicketError::InvalidUid(_) => {
            FnError::internal("WeChat's openid is not a valid CloudBase uid")
        }
        TicketError::Signing(m) | TicketError::BadTime(m) => {
            FnError::internal(format!("could not sign the ticket: {m}"))
        }
        other => FnError::misconfigured("TCB_ENV", env_problem(&other)),
    }
}

/// What a caller is told about an env problem (at init, and when minting).
pub(crate) fn env_problem(e: &TicketError) -> &'static str {
    match e {
        TicketError::NoEnv => "not set, and no SCF_NAMESPACE",
        TicketError::KeyWithoutEnvId => {
            "the key file has no env_id; download a current key from the CloudBase console"
        }
        TicketError::EnvMismatch { .. } => "does not match the key file's env_id",
        _ => "cannot be used with this key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_error_statuses() {
        let api = |errcode| {
            wechat_error(WxError::Api {
                errcode,
                errmsg: "m".into(),
            })
        };
        for code in [40029, 40163, 40226] {
            assert_eq!((api(code).status, api(code).errcode), (401, Some(code)));
        }
        assert_eq!(
            (api(45011).status, api(45011).retry_after_secs),
            (429, Some(60))
        );
        assert_eq!(api(-1).status, 502);
        assert_eq!(api(40125).status, 500);
        assert_eq!(
            wechat_error(WxError::Unreachable("x".into())).error,
            "WX_API_UNREACHABLE"
        );
        assert_eq!(wechat_error(WxError::BadResponse("x".into())).status, 502);
    }
}
