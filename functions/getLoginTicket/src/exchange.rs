//! The WeChat exchange: a code → `jscode2session` → a ticket minted for the code's openid, and
//! how a WeChat failure is answered (status, code, `Retry-After`).

use scf_runtime::{Context, FnError};
use tracing::info;
use wxlogin::WxError;
use wxlogin::{TicketError, TicketOptions, now_ms};

use crate::config::env_problem;
use crate::login::Login;
use crate::result::LoginResult;

pub use wxlogin::QUOTA_RETRY_AFTER_SECS;

/// Map a WeChat failure to the caller's error and HTTP status (`WxError::to_fn_error`, with
/// the errcodes that mean the wx.login code is bad).
pub fn wechat_error(e: WxError) -> FnError {
    e.to_fn_error((
        &[40029, 40163, 40226],
        "the login code is invalid, already used or blocked; call wx.login again",
    ))
}

impl Login {
    /// One jscode2session call (with its one retry) and, on success, a ticket for the openid.
    pub(crate) async fn exchange(&self, code: &str, ctx: &Context) -> Result<LoginResult, FnError> {
        let session = self
            .wechat
            .code2session(code, ctx.deadline)
            .await
            .map_err(wechat_error)?;
        let ticket = self
            .key
            .mint(
                &session.openid,
                &self.env,
                now_ms(),
                TicketOptions::default(),
            )
            .map_err(|e| match e {
                TicketError::InvalidUid(_) => {
                    FnError::internal("WeChat's openid is not a valid CloudBase uid")
                }
                TicketError::Signing(m) | TicketError::BadTime(m) => {
                    FnError::internal(format!("could not sign the ticket: {m}"))
                }
                other => FnError::misconfigured("TCB_ENV", env_problem(&other)),
            })?;
        info!(unionid = session.unionid.is_some(), "ticket issued");
        Ok(LoginResult {
            ticket,
            openid: session.openid,
            unionid: session.unionid,
        })
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
