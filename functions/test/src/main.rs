//! `test` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    wxlogin::logging::init();
    wxlogin::run(fn_test::handle).await
}
