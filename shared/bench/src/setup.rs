//! What one bench run measures with: the setup (paths, environment, keys), the two languages, and
//! the figures kept per function.

use std::path::PathBuf;
use std::time::Duration;

use crate::args::Args;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Lang {
    Rust,
    Node,
}

impl Lang {
    pub(super) fn name(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Node => "Node",
        }
    }
}

/// Everything measured for one function in one language.
#[derive(Default)]
pub(super) struct Figures {
    pub(super) cold: Vec<Duration>,
    pub(super) warm: Vec<Duration>,
    pub(super) peak_rss_kb: u64,
    pub(super) zip_bytes: Option<u64>,
}

/// Where to run things and with what.
pub(super) struct Setup {
    pub(super) args: Args,
    /// Cold starts per function and language (`--cold`, or 2 with `--quick`).
    pub(super) cold: usize,
    /// Warm invocations per function and language.
    pub(super) warm: usize,
    /// Seconds of minting for node-sdk and openssl.
    pub(super) mint_seconds: f64,
    pub(super) env: Vec<(String, String)>,
    pub(super) key_1024: PathBuf,
    pub(super) key_2048: PathBuf,
}

impl Setup {
    pub(super) fn bootstrap(&self, lang: Lang, function: &str) -> PathBuf {
        match lang {
            Lang::Rust => self.args.rust_dir.join(function),
            Lang::Node => self
                .args
                .node_dir
                .join("functions")
                .join(function)
                .join("bootstrap"),
        }
    }
}
