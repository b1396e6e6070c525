//! The login state, built once at init (the WeChat client, the key, the env, the replay state),
//! and the login itself: a code → `jscode2session` → a ticket minted for the code's openid,
//! under the replay rules of `replay.rs`.

use scf_runtime::{Context, FnError};
use tracing::info;
use wxlogin::{CustomLoginKey, TicketOptions, WeChatClient, now_ms};

use crate::exchange::{ticket_error, wechat_error};
use crate::replay::Replays;
use crate::request::LoginRequest;
use crate::result::LoginResult;

/// Everything built once at init.
pub struct Login {
    wechat: WeChatClient,
    key: CustomLoginKey,
    env: String,
    pub(crate) replays: Replays,
}

impl Login {
    pub(crate) fn new(wechat: WeChatClient, key: CustomLoginKey, env: String) -> Self {
        Login {
            wechat,
            key,
            env,
            replays: Replays::default(),
        }
    }

    /// Exchange the request's code and mint a ticket. A code seen in the last 5 minutes gets
    /// the *first* answer again (the same ticket, or the same WeChat error) without a second
    /// jscode2session call, handed out by the rules of `replay.rs`.
    ///
    /// # Errors
    /// As [`wechat_error`]; `401 CODE_USER_MISMATCH`; `401 WX_API_ERROR` 40163 for another
    /// attempt's replay; `500 INTERNAL` when signing fails; `500 MISCONFIGURED` for an env that
    /// does not fit the key.
    pub async fn login(&self, req: &LoginRequest, ctx: &Context) -> Result<LoginResult, FnError> {
        self.replays
            .run(req, &ctx.identity, self.wechat.appid(), async || {
                self.exchange(&req.code, ctx).await
            })
            .await
    }

    /// One jscode2session call (with its one retry) and, on success, a ticket for the openid.
    async fn exchange(&self, code: &str, ctx: &Context) -> Result<LoginResult, FnError> {
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
            .map_err(ticket_error)?;
        info!(unionid = session.unionid.is_some(), "ticket issued");
        Ok(LoginResult {
            ticket,
            openid: session.openid,
            unionid: session.unionid,
        })
    }
}
