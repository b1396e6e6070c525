//! Local development tools for the SCF bootstraps. Nothing here ships in a function binary.
//!
//! - [`emulator`]: an SCF runtime-API emulator (`/runtime/init/ready`, `/runtime/invocation/next`,
//!   `/response`, `/error`) plus a process runner that starts a real `bootstrap` against it,
//!   modelled on cargo-lambda's `watch`/`invoke`.
//! - [`functions`]: the function list, read from `cloudbaserc.json` (the single source of truth).
//! - [`mock_wechat`]: a local `sns/jscode2session` with documented behaviour per code.
//! - [`mock_cloudbase`]: CloudBase's access-token JWKS and introspection, with its own keys,
//!   rotation and faults.
//! - [`keys`]: dev custom-login key files in the console's format.
//! - [`events`]: callFunction and HTTP-access event builders.
//! - [`measure`]: percentiles, `/proc` memory figures and report formats (the tests, and
//!   `shared/bench`: make bench, make soak).
//! - [`functions`]: the function list (`cloudbaserc.json`).
//! - [`http`]: the one HTTP client of the tools and tests; [`process`]: child logs and SIGTERM.
//! - [`testkit`]: fixtures, the leak check and web-mode processes for the integration tests.

pub mod emulator;
pub mod events;
pub mod functions;
pub mod http;
pub mod keys;
pub mod measure;
pub mod mock_cloudbase;
pub mod mock_wechat;
pub mod process;
pub mod testkit;

/// The workspace root: the nearest folder at or above the current one that holds both
/// `Cargo.toml` and `cloudbaserc.json`, else the checkout this crate was compiled from.
///
/// Why the current folder first: a tool binary in a shared target folder may have been compiled
/// from another checkout (the scaffold check builds a copy of the repository into it), and the
/// compiled-in path then names a folder that is gone. `scripts/invoke` runs from the root; tests
/// run from their package's folder, inside the checkout they test.
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::env::current_dir().ok();
    let found = here.as_deref().and_then(|dir| {
        dir.ancestors()
            .find(|d| d.join("Cargo.toml").is_file() && d.join("cloudbaserc.json").is_file())
            .map(std::path::Path::to_path_buf)
    });
    found.unwrap_or_else(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap_or_else(|_| std::path::PathBuf::from("."))
    })
}

/// An axum app served on `127.0.0.1`, a free port. Dropping it stops the server.
pub(crate) struct LocalServer {
    pub(crate) addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Bind and serve.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub(crate) async fn start(app: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(listener, app)
    }

    /// Serve on a listener already bound (when the app must know its own port first).
    ///
    /// # Errors
    /// When the listener has no local address.
    pub(crate) fn serve(
        listener: tokio::net::TcpListener,
        app: axum::Router,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LocalServer { addr, task })
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

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
