//! CloudBase custom-login tickets, compatible with `@cloudbase/node-sdk` `auth().createTicket`.
//!
//! Mirrors node-sdk 3.18.3 `src/auth/index.ts` `createTicket` (`docs/platform.md` "Custom-login tickets"):
//! - ticket = `private_key_id + "/@@/" + <RS256 JWT>`;
//! - JWT header `{"typ":"JWT","alg":"RS256"}`, no `kid`;
//! - claims, in this order: `{alg:"RS256", env, iat, exp, uid, refresh, expire}`, **all in
//!   milliseconds** (not JWT's seconds): `iat` = now (ms since the Unix epoch),
//!   `exp` = iat + 600 000 (the ticket lives 10 minutes), `refresh` = a duration, default
//!   3 600 000, `expire` = an absolute time, default iat + 7 days.
//!
//! Keys: the console's `tcb_custom_login.json` `{private_key_id, private_key, env_id}`, PKCS#1 or
//! PKCS#8 PEM, 1024 bits or more, parsed once (jsonwebtoken's PEM reader). Keys of 2048 bits or
//! more are signed with aws-lc-rs's `RsaKeyPair`, parsed once and kept: jsonwebtoken's
//! `aws_lc_rs` backend re-parses the DER key on every `encode`, and that re-parse (plus the
//! Montgomery set-up a fresh key needs on its first signature) cost more than the signature
//! itself (`make bench`: 1.85 ms per 2048-bit ticket against 0.74 ms for the signature). 1024–2047-bit
//! keys (what the console issues), which aws-lc-rs's safe API refuses, go through aws-lc's own
//! `RSA_sign` (see `aws_lc_rsa.rs`). Every path gives the bytes `jsonwebtoken::encode` gives
//! (tested).
//!
//! Files: `format.rs` (the separator, lifetimes, key size, file name), `key.rs` (loading and checking keys), `mint.rs` (claims and signing), `inspect.rs`
//! (checking a ticket against a key, for `scripts/ticket`), `time.rs` (milliseconds and their
//! RFC 3339 form), `aws_lc_rsa.rs` (the signer for 1024–2047-bit keys).

mod aws_lc_rsa;
mod format;
mod inspect;
mod key;
mod mint;
mod time;

pub use format::MIN_KEY_BITS;
pub use inspect::{Check, Inspection};
pub use key::{CustomLoginKey, KeyError, KeySource};
pub use mint::{TicketClaims, TicketError, TicketOptions, resolve_env};
pub use time::{format_ms, now_ms};

#[cfg(test)]
mod tests;
