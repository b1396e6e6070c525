//! `getUserInfo` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    wxlogin::logging::init();
    wxlogin::run(get_user_info::handle).await
}
