//! Answering with a status and headers: a `Reply` is a `200` by default; over HTTP its status
//! and headers are the response's, for a callFunction only its body counts. Errors are
//! `FnError`s: `{error, message}` with their own status.

use scf_runtime::{Context, Event, FnError, Reply};
use serde_json::{Value, json};

async fn handle(event: Event, _ctx: Context) -> Result<Reply<Value>, FnError> {
    let method = match &event {
        Event::Http(h) => Some(h.method()),
        Event::Call(_) => None,
    };
    match method {
        Some("POST") => Ok(Reply::new(json!({"created": true}))
            .with_status(201)
            .with_header("location", "/items/1")),
        Some("GET") | None => Ok(Reply::new(json!({"items": []}))),
        Some(other) => Err(FnError::method_not_allowed(other, "GET, POST")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(handle).await
}
