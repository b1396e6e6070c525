//! `make bench`: our Rust functions against the same functions in Node with the official SDKs.
//! The benchmark lives in `wxlogin_devtools::bench`; this binary parses its arguments.

use clap::Parser as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    wxlogin_devtools::bench::run(wxlogin_devtools::bench::Args::parse()).await
}
