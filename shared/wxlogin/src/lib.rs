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

pub use access_token::{
    BAD_TOKEN_ERRCODES, FETCH_FAILURE_BACKOFF, MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME_SECS,
    TOKEN_MARGIN_SECS, cache_lifetime, parse_token_answer,
};
pub use code::{MAX_CODE_BYTES, WxCode};
pub use error::{
    ClientError, MAX_ERRMSG_CHARS, QUOTA_RETRY_AFTER_SECS, WX_API_BAD_RESPONSE, WX_API_ERROR,
    WX_API_UNREACHABLE, WxError, clean_errmsg,
};
pub use phone::{
    MAX_COUNTRY_CODE_CHARS, MAX_PHONE_CHARS, PHONE_PATH, PhoneNumber, mask_phone,
    parse_phone_answer,
};

pub use ticket::{
    Check, CustomLoginKey, DEFAULT_EXPIRE_AFTER_MS, DEFAULT_KEY_FILE, DEFAULT_REFRESH_MS,
    Inspection, KeyError, KeySource, MAX_FORMATTABLE_MS, MIN_KEY_BITS, TICKET_LIFETIME_MS,
    TICKET_SEPARATOR, TicketClaims, TicketError, TicketOptions, format_ms, now_ms, resolve_env,
    validate_uid,
};
pub use transport::{CONNECT_TIMEOUT, DEADLINE_MARGIN, MAX_ANSWER_BYTES, MIN_ATTEMPT};
pub use wechat::{DEFAULT_API_BASE, Session, WeChatClient, parse_answer};
