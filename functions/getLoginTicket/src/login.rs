//! The login state, built once at init: the WeChat client, the key, the env, the code cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tokio::sync::OnceCell;
use wxlogin::CustomLoginKey;
use wxlogin::WeChatClient;

use crate::cache::{self, CodeCache};

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
