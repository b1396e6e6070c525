//! `probe` SCF bootstrap: the runtime (`shared/scf-runtime`) runs `probe::handle` for every
//! invocation, as an event function, or as an HTTP function when started with `--web`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    scf_runtime::init_logging();
    scf_runtime::run(probe::handle).await
}
