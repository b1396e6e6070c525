//! Helpers for the integration tests that run the real function binaries, by concern:
//! - [`fixtures`]: the mock WeChat with a fresh key ([`LoginFixture`]), built binaries
//!   ([`function_bin`]), and starting a runner ([`script_bootstrap`], a bash bootstrap that
//!   misbehaves on purpose, is `scf-emulator`'s);
//! - [`leaks`]: unique secrets ([`Sentinels`]) and the record of everything a run produced
//!   ([`Transcript`]) with the check that none of them leaked;
//! - re-exported from `scf-emulator`: starting a runner and reading an invocation's result;
//! - [`web`]: a function binary in web mode ([`WebProcess`]);
//! - [`tokens`]: forged and broken CloudBase access tokens against a
//!   [`MockCloudBase`](crate::mock_cloudbase::MockCloudBase).
//!
//! It is a library module, not a `tests/common`, because `soak` and `bench` use the same
//! fixture, and `cargo test` builds one copy instead of one per test file.

mod fixtures;
mod leaks;
pub mod tokens;
mod web;

pub use fixtures::{APPID, ENV, LoginFixture, SECRET, function_bin};
pub use leaks::{Sentinels, Transcript, pem_body_lines};
pub use web::{WebProcess, raise_own_nofile_limit, web_request};

/// Re-exported from `scf-emulator`, where the emulator they serve lives.
pub use scf_emulator::script_bootstrap;
pub use scf_emulator::testing::{http_parts, response_json, start, try_start};
