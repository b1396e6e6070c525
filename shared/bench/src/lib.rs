//! The benchmark behind `make bench`: our Rust functions against the same functions in Node with the official SDKs,
//! on this machine, in one run, interleaved. Prints a markdown report and writes it to `--out`.
//!
//! Files: `setup.rs` (paths, keys, figures), `functions.rs` (cold and warm, Rust against Node),
//! `web.rs` (web mode), `load.rs` (the load section), `args.rs` (the command line), `mint.rs` (ticket minting),
//! `report.rs` (the markdown report and its targets), `machine.rs`.
//!
//! - cold start: spawn → the emulator receives the first `/response` (the event is waiting, as on
//!   SCF), median and p90 over `--cold` starts (default 20) per function and runtime;
//! - warm latency: `--warm` (default 10,000) sequential invocations per function through the
//!   emulator, p50 and p99; Rust and Node alternate in blocks of 500;
//! - peak RSS: `VmHWM` of the function process after the warm run;
//! - package size: `dist/<function>.zip` for Rust, a `zip -9` of the Node function with its
//!   `node_modules`;
//! - ticket minting: criterion's estimates (`target/criterion/mint_*`; with
//!   `--criterion-fast-rsa`, also those of a build with aws-lc at -O2, `make build FAST_RSA=1`),
//!   node-sdk `createTicket` (`mint.js`), and `openssl speed rsa1024 rsa2048` sign/s.
//!
//! - web mode: `getLoginTicket --web`, spawn → first HTTP 200 and warm keep-alive latency;
//! - load: `getLoginTicket --web` against the Node HTTP function (`node-dir/web/getLoginTicket`)
//!   under wrk at each `--load-concurrency` (default 1,16,64,256) for `--load-seconds` (default
//!   10) after a 2 s warm-up, each side pinned to a core; logins/s, p50/p99, peak RSS, CPU per
//!   login, billed GB-s per million logins (see `load.rs`).
//!
//! `--quick` is CI's smoke run: 2 cold starts, 200 warm invocations, 1 s of minting, no
//! criterion, load at concurrency 1 and 64 for 2 s each after 1 s of warm-up, and nothing is
//! written unless `--out` is given.
//! Exit status: 0 when every measurement ran (targets missed are reported, not failed),
//! 1 when a function gave a wrong answer (in the load section: any failed login), 2 on bad
//! usage or when a run could not start.

mod args;
mod functions;
pub mod load;
mod machine;
mod mint;
mod report;
mod setup;
mod web;

use std::process::ExitCode;
use std::time::Instant;

pub use args::Args;
use setup::{Figures, Lang, Setup};
use wxlogin_devtools::testkit::{ENV, LoginFixture};

/// The functions of the list (`cloudbaserc.json`): those that have a Node reference to be
/// compared with (`<node-dir>/functions/<name>/bootstrap`), and the others (measured in Rust
/// only).
fn compared(node_dir: &std::path::Path) -> Result<(Vec<String>, Vec<String>), String> {
    let list = scf_emulator::functions::FunctionList::load().map_err(|e| e.to_string())?;
    let (with, without): (Vec<&str>, Vec<&str>) = list.names().into_iter().partition(|f| {
        node_dir
            .join("functions")
            .join(f)
            .join("bootstrap")
            .is_file()
    });
    if !without.is_empty() {
        eprintln!(
            "bench: no Node reference for {} (scripts/bench/node/functions/<name>): Rust only",
            without.join(", ")
        );
    }
    let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
    Ok((owned(with), owned(without)))
}

/// `bench`'s arguments.
/// Run the whole benchmark; the exit code: 0 when every measurement ran (missed targets are
/// reported, not failed), 1 when a function gave a wrong answer (under load: any failed login),
/// 2 when a run could not start or the report could not be written.
pub async fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let load_at_start = machine::loadavg();
    // The mock WeChat and a 1024-bit key (the console's size, used by the functions); a 2048-bit
    // key beside it for minting. All in a temp folder, removed at the end.
    let fx = LoginFixture::new().await;
    let key_2048 = fx.dir().join("key-2048.json");
    let made = wxlogin_devtools::keys::new_key_file(2048, ENV)
        .and_then(|k| wxlogin_devtools::keys::write_key_file(&key_2048, &k));
    if let Err(e) = made {
        eprintln!("bench: key: {e}");
        return ExitCode::from(2);
    }
    let mut env = fx.env();
    // Both sides log at their defaults minus per-invocation info lines.
    env.push(("RUST_LOG".into(), "warn".into()));
    let (cold, warm, mint_seconds, load_options) = args.sizes();
    let s = Setup {
        args,
        cold,
        warm,
        mint_seconds,
        env,
        key_1024: fx.key_path.clone(),
        key_2048,
    };
    let (names, rust_only_names) = match compared(&s.args.node_dir) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all: Vec<(&str, [Figures; 2])> = Vec::new();
    for function in &names {
        match functions::measure(&s, function, &[Lang::Rust, Lang::Node]).await {
            Ok(figs) => all.push((function, figs)),
            Err(e) => {
                eprintln!("bench: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let mut rust_only: Vec<(&str, Figures)> = Vec::new();
    for function in &rust_only_names {
        match functions::measure(&s, function, &[Lang::Rust]).await {
            Ok([rust, _]) => rust_only.push((function, rust)),
            Err(e) => {
                eprintln!("bench: {e}");
                return ExitCode::from(1);
            }
        }
    }
    eprintln!("bench: web mode (getLoginTicket --web)");
    let web = match web::web_mode(&s).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("bench: load (getLoginTicket --web against the Node HTTP function, wrk)");
    let cores = load::pick_cores();
    let [rust_web, node_web] = web::load_servers(&s);
    let load_rows =
        match load::run_all(&rust_web, &node_web, &load_options, cores, &fx.secret).await {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("bench: load: {e}");
                return ExitCode::from(2);
            }
        };
    eprintln!("bench: ticket minting");
    let minting = mint::measure(&s);
    let (text, load_valid) = report::write(&report::Inputs {
        s: &s,
        all: &all,
        rust_only: &rust_only,
        web: &web,
        load_rows: &load_rows,
        load_options: &load_options,
        cores,
        minting: &minting,
        load_at_start: &load_at_start,
        started,
    });
    print!("{text}");
    if let Some(out) = &s.args.out {
        if let Some(parent) = out.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(out, &text) {
            eprintln!("bench: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
        eprintln!("bench: wrote {}", out.display());
    }
    if !load_valid {
        eprintln!("bench: some logins failed under load (see the load table)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
