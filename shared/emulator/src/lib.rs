//! Run an SCF custom-runtime function on a laptop as SCF runs it. Nothing here ships in a
//! function binary, and nothing here knows of WeChat: the WeChat and CloudBase mocks, dev keys
//! and this project's fixtures are `wxlogin-devtools`.
//!
//! - [`emulator`]: an SCF runtime-API emulator (`/runtime/init/ready`, `/runtime/invocation/next`,
//!   `/response`, `/error`) plus a process runner that starts a real `bootstrap` against it,
//!   modelled on cargo-lambda's `watch`/`invoke`.
//! - [`events`]: callFunction and HTTP-access event builders.
//! - [`functions`]: the function list, read from `cloudbaserc.json` (the single source of truth).
//! - [`measure`]: percentiles, `/proc` memory figures and report formats (the tests, and
//!   `shared/bench`: make bench, make soak).
//! - [`http`]: the one HTTP client of the tools and tests; [`process`]: child logs and SIGTERM;
//!   [`script_bootstrap`]: a bash bootstrap that misbehaves on purpose; [`testing`]: a runner
//!   started as every test starts one, and the readers of its outcome.
//!
//! Why its own crate: the scf-runtime's own integration tests (`shared/scf-runtime/tests`) need
//! the emulator and nothing else, and a team writing functions without WeChat login can use it
//! as it is.

pub mod emulator;
pub mod events;
pub mod functions;
pub mod http;
pub mod measure;
pub mod process;
mod script;
pub mod testing;

pub use script::script_bootstrap;

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

/// An axum app served on `127.0.0.1`, a free port (the emulator, and the mocks of
/// `wxlogin-devtools`). Dropping it stops the server.
pub struct LocalServer {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Bind and serve.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(app: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(listener, app)
    }

    /// Serve on a listener already bound (when the app must know its own port first).
    ///
    /// # Errors
    /// When the listener has no local address.
    pub fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<Self> {
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
