//! `scripts/invoke` end to end: the invoke binary, the embedded mock and dev key, a real bootstrap.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use wxlogin_devtools::testkit::script_bootstrap;

fn invoke() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_invoke"));
    for k in wxlogin_devtools::FUNCTION_CONFIG_VARS {
        c.env_remove(k);
    }
    c
}

/// A function binary built beside `invoke` (cargo test --workspace builds every bin).
fn function_bin(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_BIN_EXE_invoke")).with_file_name(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --workspace`) first",
        p.display()
    );
    p
}

#[test]
fn invoke_get_login_ticket_with_the_embedded_mock() {
    let out = invoke()
        .args(["getLoginTicket", r#"{"code":"cli-user.1"}"#, "--bootstrap"])
        .arg(function_bin("getLoginTicket"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let body: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stderr}"));
    assert!(body["ticket"].as_str().unwrap().contains("/@@/"));
    assert!(
        stderr.contains("local jscode2session mock") && stderr.contains("-> response"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ticket issued"),
        "function logs go to stderr: {stderr}"
    );

    let out = invoke()
        .args([
            "getLoginTicket",
            "{}",
            "--http",
            "GET",
            "/login",
            "--bootstrap",
        ])
        .arg(function_bin("getLoginTicket"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["statusCode"], 405);
}

#[test]
fn invoke_exit_codes() {
    // Identity from the flags, and none with --anonymous.
    let out = invoke()
        .args(["getUserInfo", "--openid", "oFlag", "--bootstrap"])
        .arg(function_bin("getUserInfo"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["openid"],
        "oFlag"
    );
    let out = invoke()
        .args(["test", "--anonymous", "--bootstrap"])
        .arg(function_bin("test"))
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["error"],
        "UNAUTHENTICATED"
    );
    // A bootstrap that dies at init is exit 3.
    let out = invoke()
        .args(["test", "--bootstrap", "/bin/false"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Usage errors are exit 2.
    assert_eq!(
        invoke().args(["nope"]).output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(
        invoke()
            .args(["test", "{bad json"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn invoke_exit_1_on_error_and_4_on_timeout() {
    let errs = script_bootstrap(
        "error",
        r#"post /runtime/init/ready ' '; sleep 0.3; get /runtime/invocation/next; post /runtime/invocation/error '{"errorCode":"X"}'; sleep 5"#,
    );
    let out = invoke()
        .args(["test", "--bootstrap"])
        .arg(&errs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"errorCode":"X"}"#
    );

    let hangs = script_bootstrap("hang", "post /runtime/init/ready ' '; sleep 30");
    let out = invoke()
        .args(["test", "--timeout-ms", "300", "--bootstrap"])
        .arg(&hangs)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("timeout"));
    for p in [errs, hangs] {
        std::fs::remove_dir_all(p.parent().unwrap()).unwrap();
    }
}
