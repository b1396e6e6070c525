//! WeChat Mini Program login for CloudBase: what a login function needs beyond the runtime.
//!
//! - [`wechat`]: the WeChat server API client (`sns/jscode2session`), which trusts WeChat's
//!   answer no further than its parsed fields (no redirects, a body cap, `errmsg` cleaned);
//! - [`ticket`]: CloudBase custom-login keys and tickets (node-sdk `auth().createTicket`
//!   compatible).
//!
//! The runtime (event loop, web mode, context, identity, errors) is the `scf-runtime` crate; this
//! crate holds no runtime code.

pub mod ticket;
pub mod wechat;
