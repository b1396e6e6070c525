//! This project's development tools: the WeChat and CloudBase mocks, dev custom-login keys, the
//! integration tests' kit, and the `invoke`, `ticket` and `e2e` commands. Nothing here ships in a
//! function binary. The generic part (the SCF runtime-API emulator, event builders, the function
//! list, the HTTP client, measurements) is the `scf-emulator` crate, which knows nothing of
//! WeChat.
//!
//! - [`mock_wechat`]: a local `sns/jscode2session` (and stable_token, getuserphonenumber) with
//!   documented behaviour per code.
//! - [`mock_cloudbase`]: CloudBase's access-token key set, introspect, sign-in and functions,
//!   with its own keys, rotation and faults.
//! - [`keys`]: dev custom-login key files in the console's format.
//! - [`testkit`]: fixtures, the leak check, forged tokens and web-mode processes for the
//!   integration tests.

pub mod keys;
pub mod mock_cloudbase;
pub mod mock_wechat;
pub mod testkit;

/// The variables the functions read that `scripts/invoke` passes through from its own environment:
/// getLoginTicket's WeChat and key settings, and the access-token verification settings
/// (`TCB_TOKEN_VERIFY` = jwks | introspect | off, and the URL / issuer overrides).
pub const FUNCTION_CONFIG_VARS: &[&str] = &[
    "WX_APPID",
    "WX_SECRET",
    "TCB_ENV",
    "WECHAT_API_BASE",
    "TCB_CUSTOM_LOGIN_KEY",
    "TCB_CUSTOM_LOGIN_KEY_FILE",
    "TCB_TOKEN_VERIFY",
    "TCB_JWKS_URL",
    "TCB_INTROSPECT_URL",
    "TCB_TOKEN_ISSUER",
    "TCB_USER_ME_URL",
    "TCB_ISSUER_HOSTS",
    "TCB_CUSTOM_USER_ID_IS_OPENID",
    "TCB_TRUST_WECHAT_CONTEXT",
];
