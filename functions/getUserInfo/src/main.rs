//! `getUserInfo` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(get_user_info::handle).await
}
