//! The ticket format's constants: the separator, the lifetimes (**milliseconds**), the smallest
//! key, the key file's name. Their own file because the key loader, the minter and the inspector
//! all use them, and the module root only re-exports.

/// Between the key id and the JWT in a ticket.
pub const TICKET_SEPARATOR: &str = "/@@/";
/// Ticket lifetime, **milliseconds** (`exp - iat`).
pub const TICKET_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// Default `refresh` claim, a duration in **milliseconds** (1 hour).
pub const DEFAULT_REFRESH_MS: u64 = 60 * 60 * 1000;
/// Default `expire` claim offset from `iat`, **milliseconds** (7 days).
pub const DEFAULT_EXPIRE_AFTER_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// Smallest accepted key, bits.
pub const MIN_KEY_BITS: u32 = 1024;
/// Key file name looked up in the code directory when no key is configured.
pub const DEFAULT_KEY_FILE: &str = "tcb_custom_login.json";
