//! The login state built once at init, and what a login returns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use tokio::sync::OnceCell;
use wxlogin::CustomLoginKey;
use wxlogin::WeChatClient;

use crate::cache::{self, CodeCache};

/// What a successful call returns. `Debug` does not show the ticket.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    /// `private_key_id/@@/<jwt>`, for `auth.signInWithCustomTicket()`. Lives 10 minutes.
    pub ticket: String,
    /// The user's OPENID (also the ticket's uid).
    pub openid: String,
    /// UNIONID, present only when WeChat gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

impl std::fmt::Debug for LoginResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResult")
            .field("ticket", &"[redacted]")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .finish()
    }
}

/// Everything built once at init.
pub struct Login {
    pub(crate) wechat: WeChatClient,
    pub(crate) key: CustomLoginKey,
    pub(crate) env: String,
    pub(crate) cache: RefCell<CodeCache>,
    /// Exchanges under way, by code hash: a request for a code that is being exchanged waits
    /// for that exchange instead of calling jscode2session again (web mode serves concurrently).
    pub(crate) in_flight: RefCell<HashMap<[u8; 32], Rc<OnceCell<cache::First>>>>,
}

impl Login {
    pub(crate) fn new(wechat: WeChatClient, key: CustomLoginKey, env: String) -> Self {
        Login {
            wechat,
            key,
            env,
            cache: RefCell::new(CodeCache::default()),
            in_flight: RefCell::new(HashMap::new()),
        }
    }
}
