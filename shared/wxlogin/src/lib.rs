//! WeChat Mini Program login for CloudBase: what a login function needs beyond the runtime.
//!
//! - [`wechat`]: the WeChat server API client (`sns/jscode2session`), which trusts WeChat's
//!   answer no further than its parsed fields (no redirects, a body cap, `errmsg` cleaned);
//! - [`access_token`]: the access_token (`cgi-bin/stable_token`), cached and shared by the
//!   instance, and the calls that take it;
//! - [`phone`]: `wxa/business/getuserphonenumber` on that token;
//! - [`ticket`]: CloudBase custom-login keys and tickets (node-sdk `auth().createTicket`
//!   compatible).
//!
//! The runtime (event loop, web mode, context, identity, errors) is the `scf-runtime` crate; this
//! crate holds no runtime code.

pub mod access_token;
pub mod phone;
pub mod ticket;
pub mod wechat;
