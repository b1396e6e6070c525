//! `getLoginTicket` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    let state = get_login_ticket::init();
    scf_runtime::run(async |event, ctx| get_login_ticket::handle(&state, event, ctx).await).await
}
