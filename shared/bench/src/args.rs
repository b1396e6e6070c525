//! The benchmark's command line (`make bench`, `make bench-smoke`). Its own file because the run
//! (`lib.rs`) and the setup (`setup.rs`) both read it.

use std::path::PathBuf;

use crate::load::LoadOptions;

/// The command line of `make bench` and `make bench-smoke`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "bench",
    about = "Our Rust functions against the same functions in Node with the official SDKs (make bench)",
    after_help = "Run it through `make bench` (or `make bench-smoke`): it builds the musl binaries, the zips, the criterion estimates and the Node side first."
)]
pub struct Args {
    /// Folder of the Rust function binaries (the musl release build).
    #[arg(long, value_name = "DIR")]
    pub rust_dir: PathBuf,
    /// Folder of the Node reference functions (scripts/bench/node).
    #[arg(long, value_name = "DIR")]
    pub node_dir: PathBuf,
    /// Folder of the packaged zips.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
    /// criterion's output folder.
    #[arg(long, value_name = "DIR", default_value = "target/criterion")]
    pub criterion: PathBuf,
    /// criterion's output of a FAST_RSA=1 build, for the -O2 rows.
    #[arg(long, value_name = "DIR")]
    pub criterion_fast_rsa: Option<PathBuf>,
    /// Where to write the report (docs/benchmarks.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Cold starts per function and language.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub cold: u64,
    /// Warm invocations per function and language.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub warm: u64,
    /// Seconds of minting for node-sdk and openssl.
    #[arg(long, default_value_t = 3.0)]
    pub mint_seconds: f64,
    /// Load concurrencies, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256", value_parser = clap::value_parser!(u64).range(1..))]
    pub load_concurrency: Vec<u64>,
    /// Seconds measured per load run (after the warm-up).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub load_seconds: u64,
    /// wrk's Lua script for the load section.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "scripts/bench/wrk/login.lua"
    )]
    pub wrk_script: PathBuf,
    /// CI's smoke run: 2 cold starts, 200 warm invocations, 1 s of minting, no criterion, load at
    /// concurrency 1 and 64 for 2 s each after 1 s of warm-up.
    #[arg(long)]
    pub quick: bool,
}

impl Args {
    /// The run's sizes, `--quick` applied.
    pub(crate) fn sizes(&self) -> (usize, usize, f64, LoadOptions) {
        let mut load = LoadOptions {
            concurrency: self.load_concurrency.iter().map(|&c| c as usize).collect(),
            seconds: self.load_seconds,
            warmup_seconds: 2,
            wechat_delay_ms: 20,
            wrk_script: self.wrk_script.clone(),
        };
        if self.quick {
            load.concurrency = vec![1, 64];
            load.seconds = 2;
            load.warmup_seconds = 1;
            return (2, 200, 1.0, load);
        }
        (
            self.cold as usize,
            self.warm as usize,
            self.mint_seconds,
            load,
        )
    }
}
