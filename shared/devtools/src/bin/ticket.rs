//! `scripts/ticket`: CloudBase custom-login ticket tool.
//!
//! ```text
//! scripts/ticket keygen --out FILE [--env ENV] [--bits N]
//! scripts/ticket mint   --key FILE --uid UID [--env ENV] [--now-ms MS] [--refresh MS] [--expire MS]
//! scripts/ticket verify --key FILE TICKET
//! ```
//! All times are milliseconds since the Unix epoch (`--refresh` is a duration in ms), as in the
//! ticket itself. Exit status: 0 ok, 1 a check failed / an error, 2 bad usage.

use std::path::PathBuf;
use std::process::ExitCode;

use wxlogin::ticket::{CustomLoginKey, TicketOptions, format_ms, now_ms};
use wxlogin_devtools::keys;

const USAGE: &str = "usage:
  scripts/ticket keygen --out FILE [--env ENV] [--bits N]      write a dev key file in the console's format (default 2048 bits, env local-dev-env)
  scripts/ticket mint --key FILE --uid UID [--env ENV] [--now-ms MS] [--refresh MS] [--expire MS]
                                                             print a ticket (env defaults to the key's env_id)
  scripts/ticket verify --key FILE TICKET                     check signature, key id and env; print the claims";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) if e.is_empty() => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("ticket: {e}");
            ExitCode::from(1)
        }
    }
}

struct Opts {
    flags: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], known: &[&str]) -> Result<Self, String> {
        let mut o = Opts {
            flags: Vec::new(),
            positional: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "-h" || a == "--help" {
                return Err(String::new());
            }
            if let Some(name) = a.strip_prefix("--") {
                if !known.contains(&name) {
                    return Err(format!("unknown option --{name}\n{USAGE}"));
                }
                let v = it.next().ok_or(format!("--{name} needs a value"))?;
                o.flags.push((name.to_owned(), v.clone()));
            } else {
                o.positional.push(a.clone());
            }
        }
        Ok(o)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or(format!("--{name} is required\n{USAGE}"))
    }

    fn num(&self, name: &str) -> Result<Option<u64>, String> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("--{name} takes a whole number of milliseconds"))
            })
            .transpose()
    }
}

fn load(path: &str) -> Result<CustomLoginKey, String> {
    CustomLoginKey::from_file(&PathBuf::from(path)).map_err(|e| e.to_string())
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(String::new());
    };
    match cmd.as_str() {
        "keygen" => {
            let o = Opts::parse(rest, &["out", "env", "bits"])?;
            let out = PathBuf::from(o.need("out")?);
            let bits = o
                .get("bits")
                .map(|b| {
                    b.parse::<usize>()
                        .map_err(|_| "--bits takes a number".to_owned())
                })
                .transpose()?
                .unwrap_or(2048);
            let env = o.get("env").unwrap_or("local-dev-env");
            if out.exists() {
                return Err(format!(
                    "{} exists; refusing to overwrite a key file",
                    out.display()
                ));
            }
            let json = keys::generate(bits, env)?;
            keys::write_key_file(&out, &json)?;
            let key = CustomLoginKey::from_json(&json).map_err(|e| e.to_string())?;
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
        "mint" => {
            let o = Opts::parse(rest, &["key", "uid", "env", "now-ms", "refresh", "expire"])?;
            let key = load(o.need("key")?)?;
            let env = o
                .get("env")
                .map(str::to_owned)
                .or_else(|| key.env_id().map(str::to_owned))
                .ok_or("the key file has no env_id; pass --env")?;
            let options = TicketOptions {
                refresh_ms: o.num("refresh")?,
                expire_ms: o.num("expire")?,
            };
            let now = o.num("now-ms")?.unwrap_or_else(now_ms);
            let ticket = key
                .mint(o.need("uid")?, &env, now, options)
                .map_err(|e| e.to_string())?;
            println!("{ticket}");
            Ok(ExitCode::SUCCESS)
        }
        "verify" => {
            let o = Opts::parse(rest, &["key"])?;
            let key = load(o.need("key")?)?;
            let [ticket] = o.positional.as_slice() else {
                return Err(format!("verify takes exactly one TICKET\n{USAGE}"));
            };
            let now = now_ms();
            let report = key.inspect(ticket, now);
            if let Some(h) = &report.header {
                println!("header: {h}");
            }
            if let Some(c) = &report.claims {
                println!("claims:");
                for (k, v) in c.as_object().into_iter().flatten() {
                    let readable = match (k.as_str(), v.as_u64()) {
                        ("iat" | "exp" | "expire", Some(ms)) => {
                            format!("  ({}, ms since epoch)", format_ms(ms))
                        }
                        ("refresh", Some(ms)) => {
                            format!("  ({:.0} min, a duration in ms)", ms as f64 / 60000.0)
                        }
                        _ => String::new(),
                    };
                    println!("  {k}: {v}{readable}");
                }
            }
            println!("checks (now {}):", format_ms(now));
            for c in &report.checks {
                println!(
                    "  [{}] {}: {}",
                    if c.ok { "ok" } else { "FAIL" },
                    c.name,
                    c.detail
                );
            }
            if report.ok() {
                println!(
                    "ticket OK for key {} (env {})",
                    key.private_key_id(),
                    key.env_id().unwrap_or("-")
                );
                Ok(ExitCode::SUCCESS)
            } else {
                let failed: Vec<&str> = report
                    .checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| c.name)
                    .collect();
                println!("ticket INVALID: failed {}", failed.join(", "));
                Ok(ExitCode::from(1))
            }
        }
        _ => Err(String::new()),
    }
}
