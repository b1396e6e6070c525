//! Who called: the `User` extractor is a signed-in caller the platform vouches for (a
//! callFunction's `userInfo`, the `/next` context header) or, with the `access-token` feature,
//! an HTTP caller's verified CloudBase access token; an anonymous caller is refused (401
//! `ANONYMOUS`). `Caller` takes anonymous callers too, `Caller::optional` also nobody.
//! `with_openid` finds a custom-ticket user's openid. Identity never comes from the input.
//! Build: `cargo build -p scf-runtime --example caller --features access-token`.

use scf_runtime::{Context, Event, FnError, FromContext, User};
use serde_json::{Value, json};

async fn handle(_event: Event, ctx: Context) -> Result<Value, FnError> {
    // 401 UNAUTHENTICATED / INVALID_TOKEN / ANONYMOUS, 503 AUTH_UNAVAILABLE: returned as they are.
    let User(user) = User::from_context(&ctx).await?.with_openid(&ctx).await?;
    Ok(json!({ "uid": user.uid, "openid": user.openid, "channel": user.source_channel }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(handle).await
}
