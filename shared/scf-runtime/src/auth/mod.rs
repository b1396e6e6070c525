//! Caller identity over HTTP from a verified CloudBase access token.
//!
//! The platform channels (`identity.rs`: `userInfo`, the context header on `/next`) carry no
//! identity for HTTP requests. What an HTTP caller does carry, once signed in, is its CloudBase
//! access token: a JWT, RS256, signed with a key of the env's key set (`docs/identity.md`). A
//! token whose signature and claims check out names its caller as surely as a platform channel
//! does; anything else in the request is the client's own writing and names nobody.
//!
//! The steps, one file each: `credentials.rs` finds the token (Bearer or `X-Cloudbase-Context`),
//! `config.rs` reads the settings, `issuer.rs` says which `iss` values are this env's,
//! `jwks.rs` keeps a key set, `verify.rs` checks a token, `introspect.rs` asks CloudBase when no
//! key set can be had, `user_me.rs` looks up a custom-ticket user's customUserId, `fetch.rs` is
//! their HTTP GET.
//!
//! Nothing runs until a handler asks ([`crate::Caller`]): a function that never asks
//! never parses a token or fetches a key.

mod credentials;
mod failure;
mod token_error;

#[cfg(feature = "access-token")]
mod config;
#[cfg(feature = "access-token")]
mod fetch;
#[cfg(feature = "access-token")]
mod introspect;
#[cfg(feature = "access-token")]
mod issuer;
#[cfg(feature = "access-token")]
mod jwks;
#[cfg(feature = "access-token")]
mod url;
#[cfg(feature = "access-token")]
mod user_me;
#[cfg(feature = "access-token")]
mod verifier;
#[cfg(feature = "access-token")]
mod verify;

#[cfg(not(feature = "access-token"))]
mod disabled;

pub(crate) use credentials::Offered;
pub use credentials::{
    ContextHeaderError, MAX_CONTEXT_HEADER_BYTES, MAX_CONTEXT_JSON_BYTES, MAX_TOKEN_BYTES,
    decode_cloudbase_context,
};
#[cfg(not(feature = "access-token"))]
pub(crate) use disabled::Authenticator;
pub(crate) use failure::AuthFailure;
#[cfg(feature = "access-token")]
pub use issuer::issuer_form;
#[cfg(feature = "access-token")]
pub(crate) use verifier::Authenticator;
#[cfg(feature = "fuzzing")]
pub use verifier::fuzz_offline;
