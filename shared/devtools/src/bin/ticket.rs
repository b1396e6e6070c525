//! `scripts/ticket`: CloudBase custom-login ticket tool.
//!
//! ```text
//! scripts/ticket keygen --out FILE [--env ENV] [--bits N]
//! scripts/ticket mint   --key FILE --uid UID [--env ENV] [--now-ms MS] [--refresh MS] [--expire MS]
//! scripts/ticket verify --key FILE TICKET
//! ```
//! All times are milliseconds since the Unix epoch (`--refresh` is a duration in ms), as in the
//! ticket itself. Exit status: 0 ok, 1 a check failed / an error, 2 bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wxlogin::{CustomLoginKey, TicketOptions, format_ms, now_ms};
use wxlogin_devtools::keys;

/// CloudBase custom-login ticket tool. All times are milliseconds since the Unix epoch, as in the
/// ticket itself (`--refresh` is a duration in ms).
#[derive(Parser, Debug)]
#[command(
    name = "scripts/ticket",
    bin_name = "scripts/ticket",
    after_help = "Exit status: 0 ok, 1 a check failed or an error, 2 bad usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a dev key file in the console's format (mode 0600; never overwrites a file)
    Keygen {
        /// The key file to write
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The key's env_id
        #[arg(long, value_name = "ENV", default_value = "local-dev-env")]
        env: String,
        /// RSA key size, 1024 to 4096
        #[arg(long, value_name = "N", default_value_t = 2048)]
        bits: usize,
    },
    /// Print a ticket signed with a key file
    Mint {
        /// The key file (the console's tcb_custom_login.json)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The custom user id the ticket is for
        #[arg(long, value_name = "UID")]
        uid: String,
        /// The env id (default: the key's env_id)
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// Issue time, ms since the epoch (default: now)
        #[arg(long, value_name = "MS")]
        now_ms: Option<u64>,
        /// Refresh interval, ms (a duration)
        #[arg(long, value_name = "MS")]
        refresh: Option<u64>,
        /// Expiry, ms since the epoch
        #[arg(long, value_name = "MS")]
        expire: Option<u64>,
    },
    /// Check a ticket's signature, key id and env; print its claims
    Verify {
        /// The key file that should have signed it
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The ticket (`private_key_id/@@/JWT`)
        ticket: String,
    },
}

/// Why a command failed (exit 1).
#[derive(Debug, thiserror::Error)]
enum TicketError {
    #[error("{} exists; refusing to overwrite a key file (choose another --out)", .0.display())]
    Exists(PathBuf),
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    #[error("{}: {reason}", path.display())]
    Load { path: PathBuf, reason: String },
    #[error("the key file has no env_id; pass --env")]
    NoEnv,
    #[error("{0}")]
    Mint(String),
}

fn main() -> ExitCode {
    let run = match Cli::parse().command {
        Command::Keygen { out, env, bits } => keygen(&out, &env, bits),
        Command::Mint {
            key,
            uid,
            env,
            now_ms,
            refresh,
            expire,
        } => mint(&key, &uid, env, now_ms, refresh, expire),
        Command::Verify { key, ticket } => verify(&key, &ticket),
    };
    match run {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ticket: {e}");
            ExitCode::from(1)
        }
    }
}

fn load(path: &Path) -> Result<CustomLoginKey, TicketError> {
    CustomLoginKey::from_file(path).map_err(|e| TicketError::Load {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn keygen(out: &Path, env: &str, bits: usize) -> Result<ExitCode, TicketError> {
    if out.exists() {
        return Err(TicketError::Exists(out.to_owned()));
    }
    let json = keys::new_key_file(bits, env)?;
    keys::write_key_file(out, &json)?;
    let key = CustomLoginKey::from_json(&json).map_err(|e| TicketError::Load {
        path: out.to_owned(),
        reason: e.to_string(),
    })?;
    println!(
        "wrote {} ({bits}-bit RSA, private_key_id {}, env_id {env}, mode 0600)",
        out.display(),
        key.private_key_id()
    );
    println!(
        "this is a DEV key: CloudBase only accepts tickets signed with the key from its console"
    );
    Ok(ExitCode::SUCCESS)
}

fn mint(
    key: &Path,
    uid: &str,
    env: Option<String>,
    now: Option<u64>,
    refresh_ms: Option<u64>,
    expire_ms: Option<u64>,
) -> Result<ExitCode, TicketError> {
    let key = load(key)?;
    let env = env
        .or_else(|| key.env_id().map(str::to_owned))
        .ok_or(TicketError::NoEnv)?;
    let options = TicketOptions {
        refresh_ms,
        expire_ms,
    };
    let ticket = key
        .mint(uid, &env, now.unwrap_or_else(now_ms), options)
        .map_err(|e| TicketError::Mint(e.to_string()))?;
    println!("{ticket}");
    Ok(ExitCode::SUCCESS)
}

fn verify(key: &Path, ticket: &str) -> Result<ExitCode, TicketError> {
    let key = load(key)?;
    let now = now_ms();
    let report = key.inspect(ticket, now);
    if let Some(h) = &report.header {
        println!("header: {h}");
    }
    if let Some(c) = &report.claims {
        println!("claims:");
        for (k, v) in c.as_object().into_iter().flatten() {
            println!("  {k}: {v}{}", readable(k, v));
        }
    }
    println!("checks (now {}):", format_ms(now));
    for c in &report.checks {
        let mark = if c.ok { "ok" } else { "FAIL" };
        println!("  [{mark}] {}: {}", c.name, c.detail);
    }
    if report.ok() {
        println!(
            "ticket OK for key {} (env {})",
            key.private_key_id(),
            key.env_id().unwrap_or("-")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect();
    println!("ticket INVALID: failed {}", failed.join(", "));
    Ok(ExitCode::from(1))
}

/// A claim's time in words: instants as dates, `refresh` as minutes.
fn readable(claim: &str, v: &serde_json::Value) -> String {
    match (claim, v.as_u64()) {
        ("iat" | "exp" | "expire", Some(ms)) => format!("  ({}, ms since epoch)", format_ms(ms)),
        ("refresh", Some(ms)) => format!("  ({:.0} min, a duration in ms)", ms as f64 / 60000.0),
        _ => String::new(),
    }
}
