//! `getLoginTicket` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    wxlogin::logging::init();
    let state = get_login_ticket::init();
    wxlogin::run(async |event, ctx| get_login_ticket::handle(&state, event, ctx).await).await
}
