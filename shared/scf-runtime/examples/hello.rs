//! The smallest function: a handler is a plain async function of the event and its context.
//!
//! As an SCF bootstrap (event mode) it answers each invocation's input; started with `--web` it
//! is a CloudBase HTTP function on `0.0.0.0:${PORT:-9000}`. Try it locally with the workspace's
//! emulator: `scripts/invoke hello --bootstrap target/debug/examples/hello '{"name":"you"}'`.
//! Built without features: no TLS, no JWT code in the binary.

use scf_runtime::{Context, Event, FnError};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Input {
    name: Option<String>,
}

/// `{"name": "..."}` in, `{"hello": name, "request_id": ...}` out; anything else is 400.
async fn handle(event: Event, ctx: Context) -> Result<Value, FnError> {
    let input: Input = event.input()?;
    let name = input.name.unwrap_or_else(|| "world".into());
    Ok(json!({ "hello": name, "request_id": ctx.request_id }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(handle).await
}
