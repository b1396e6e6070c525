//! `make bench`: our Rust functions against the same functions in Node with the official SDKs.
//! The benchmark lives in the `wxlogin-bench` library; this binary parses its arguments.

use clap::Parser as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    wxlogin_bench::run(wxlogin_bench::Args::parse()).await
}
