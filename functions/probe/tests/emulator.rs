//! probe as a real bootstrap on the local SCF runtime-API emulator: a callFunction reports key
//! names and id lengths, never values. (The full sentinel matrix, HTTP and web mode included, is
//! `shared/devtools/tests/probe.rs`; this test also makes `cargo test` build the probe binary that
//! the workspace-wide tests run.)

use std::path::Path;

use scf_emulator::events::call_function;
use serde_json::json;
use wxlogin_devtools::testkit::{response_json, start};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_probe"))
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_reports_names_and_lengths() {
    let rt = start(bin(), &[], 3000).await;
    let body = response_json(
        &rt.invoke(&call_function(
            json!({"page": 2}),
            Some("oSecretOpenid1"),
            Some("wxapp1"),
        ))
        .await,
    );
    assert_eq!(body["mode"], "event", "{body}");
    assert_eq!(body["event"]["kind"], "call");
    assert_eq!(body["event"]["userInfoKeys"], json!(["appId", "openId"]));
    assert_eq!(body["identity"]["openid"], "present, 14 characters");
    assert_eq!(body["caller"]["channel"], "userInfo", "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("oSecretOpenid1") && !text.contains("wxapp1"),
        "{text}"
    );
    let (_, logs) = rt.stop().await;
    assert!(!logs.contains("oSecretOpenid1"));
}
