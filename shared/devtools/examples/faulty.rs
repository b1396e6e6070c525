//! A bootstrap whose handler misbehaves on request, for the runtime-API fault tests: it runs the
//! real runtime loop (or, with `--web`, web mode) in a real process. Input `{"panic": true}`
//! (callFunction data or an HTTP body) panics, `{"huge": true}` returns a 7 MB result (over SCF's
//! 6 MB), anything else answers `{"ok": true, "request_id": ...}`.

use scf_runtime::{Context, Event, FnError};
use serde_json::{Value, json};

async fn handler(event: Event, ctx: Context) -> Result<Value, FnError> {
    let input: Value = match &event {
        Event::Call(v) => v.clone(),
        Event::Http(h) => h.body_data().unwrap_or(Value::Null),
    };
    if input["panic"] == json!(true) {
        panic!("boom on purpose");
    }
    if input["huge"] == json!(true) {
        return Ok(json!("x".repeat(7 * 1024 * 1024)));
    }
    Ok(json!({"ok": true, "request_id": ctx.request_id}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(handler).await
}
