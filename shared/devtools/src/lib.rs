//! Local development tools for the SCF bootstraps. Nothing here ships in a function binary.
//!
//! - [`emulator`]: an SCF runtime-API emulator (`/runtime/init/ready`, `/runtime/invocation/next`,
//!   `/response`, `/error`) plus a process runner that starts a real `bootstrap` against it,
//!   modelled on cargo-lambda's `watch`/`invoke`.
//! - [`mock_wechat`]: a local `sns/jscode2session` with documented behaviour per code.
//! - [`keys`]: dev custom-login key files in the console's format.
//! - [`events`]: callFunction and HTTP-access event builders.

pub mod emulator;
pub mod events;
pub mod keys;
pub mod mock_wechat;
pub mod testkit;

/// The workspace root (where `Cargo.toml` of the workspace is).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| std::path::PathBuf::from("."))
}
