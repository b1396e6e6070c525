//! An HTTP function: the same handler serves a CloudBase HTTP function when started with `--web`
//! (its `scf_bootstrap` runs `./http_function --web`). The request arrives as `Event::Http`, an
//! `http::Request<Bytes>` in both modes: `method()`, `path()`, `query(name)` and `header(name)`
//! (a repeated one's last copy), and a body read as JSON or a form.

use scf_runtime::{Context, Event, FnError};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Order {
    item: String,
    quantity: u32,
}

async fn handle(event: Event, _ctx: Context) -> Result<Value, FnError> {
    let Event::Http(http) = &event else {
        return Err(FnError::bad_request("call this function over HTTP"));
    };
    let order: Order = event.input()?;
    Ok(json!({
        "path": http.path(),
        "page": http.query("page"),
        "ordered": {"item": order.item, "quantity": order.quantity},
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(handle).await
}
