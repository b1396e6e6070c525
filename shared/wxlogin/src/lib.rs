//! WeChat Mini Program login for CloudBase: what a login function needs beyond the runtime.
//!
//! - `wechat.rs`: the WeChat server API client ([`WeChatClient`]: `sns/jscode2session`), which
//!   trusts WeChat's answer no further than its parsed fields (no redirects, a body cap, `errmsg`
//!   cleaned);
//! - `access_token.rs`: the access_token (`cgi-bin/stable_token`), cached and shared by the
//!   instance, and the calls that take it;
//! - `transport.rs`: how every WeChat call is made (one client, a time budget, one retry rule, a
//!   capped read); `error.rs`: their errors ([`WxError`]) and the cleaning of `errmsg`;
//! - `phone.rs`: `wxa/business/getuserphonenumber` on that token ([`PhoneNumber`]);
//! - `code.rs`: the code a mini program hands the server ([`WxCode`]), checked the same way
//!   for every function;
//! - `ticket/`: CloudBase custom-login keys and tickets ([`CustomLoginKey`]; node-sdk
//!   `auth().createTicket` compatible).
//!
//! Modules are private; their API is re-exported here.
//!
//! The runtime (event loop, web mode, context, identity, errors) is the `scf-runtime` crate; this
//! crate holds no runtime code.

mod access_token;
mod code;
mod error;
mod phone;
mod ticket;
mod transport;
mod wechat;

// The surface functions and tools use; the rest stays inside (the limits and parsers have their
// unit tests beside them). Types that appear in a public signature are exported with it.
pub use access_token::FETCH_FAILURE_BACKOFF;
pub use code::{MAX_CODE_BYTES, WxCode};
pub use error::{
    ClientError, QUOTA_RETRY_AFTER_SECS, WX_API_BAD_RESPONSE, WX_API_ERROR, WX_API_UNREACHABLE,
    WxError,
};
pub use phone::{PhoneNumber, mask_phone};
pub use ticket::{
    Check, CustomLoginKey, Inspection, KeyError, KeySource, MIN_KEY_BITS, TicketClaims,
    TicketError, TicketOptions, format_ms, now_ms, resolve_env,
};
pub use transport::{DEADLINE_MARGIN, MAX_ANSWER_BYTES};
pub use wechat::{Session, WeChatClient};
