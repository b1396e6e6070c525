//! `test` SCF bootstrap.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(fn_test::handle).await
}
