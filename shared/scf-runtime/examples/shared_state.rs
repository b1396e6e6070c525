//! State built once at init and shared by every invocation: a counter, and a setting read from
//! the environment with a clear error for the callers when it is missing (`configure`).

use std::cell::Cell;

use scf_runtime::{Configured, Context, Event, FnError, Settings, configure};
use serde_json::{Value, json};

/// Built once: the greeting (`GREETING`, required) and how many calls this instance served.
struct State {
    greeting: String,
    served: Cell<u64>,
}

/// The state, or the `500 MISCONFIGURED` every call answers with (naming the setting).
fn init() -> Configured<State> {
    configure("shared_state", &Settings::from_env(), |s| {
        Ok(State {
            greeting: s.required("GREETING")?,
            served: Cell::new(0),
        })
    })
}

async fn handle(state: &Configured<State>, _event: Event, ctx: Context) -> Result<Value, FnError> {
    let state = state.as_ref().map_err(Clone::clone)?;
    state.served.set(state.served.get() + 1);
    Ok(json!({
        "greeting": state.greeting,
        "served_by_this_instance": state.served.get(),
        "ms_left": ctx.remaining().as_millis() as u64,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    let state = init();
    scf_runtime::run(async |event, ctx| handle(&state, event, ctx).await).await
}
