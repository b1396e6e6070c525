//! `getPhoneNumber` SCF bootstrap: the state (the WeChat client and its access_token cache) is
//! built once at init and shared by every invocation, as an event function, or as an HTTP
//! function when started with `--web`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    let state = get_phone_number::init();
    scf_runtime::run(async |event, ctx| get_phone_number::handle(&state, event, ctx).await).await
}
