//! getUserInfo as a real bootstrap: identity only from platform channels.

use std::path::Path;

use scf_emulator::events::call_function;
use serde_json::{Value, json};
use wxlogin_devtools::testkit::{response_json, start};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_getUserInfo"))
}

fn env() -> Vec<(String, String)> {
    vec![("LOG_FORMAT".into(), "json".into())]
}

#[tokio::test(flavor = "current_thread")]
async fn identity_from_user_info_and_context_header() {
    let rt = start(bin(), &env(), 3000).await;
    let body = response_json(
        &rt.invoke(&call_function(json!({}), Some("oUser1"), Some("wxapp1")))
            .await,
    );
    assert_eq!(
        body,
        json!({"openid": "oUser1", "appid": "wxapp1", "unionid": null})
    );

    // The environ header channel carries UNIONID and the CloudBase uid too.
    let environ = "WX_OPENID=oCtx;WX_APPID=wxctx;WX_UNIONID=uCtx;WX_API_TOKEN=tok-SECRET;TCB_UUID=uuid-1;TCB_CUSTOM_USER_ID=cu1;TCB_ISANONYMOUS_USER=false;WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_UNIONID,WX_API_TOKEN";
    let o = rt
        .invoke_raw(b"{}".to_vec(), vec![("environ".into(), environ.into())])
        .await;
    assert_eq!(
        response_json(&o),
        json!({"openid": "oCtx", "appid": "wxctx", "unionid": "uCtx", "uid": "uuid-1", "customUserId": "cu1", "isAnonymous": false})
    );
    // The JSON `environment` header wins over `environ`, as in node-sdk.
    let environment = json!({"WX_OPENID": "oJson", "WX_APPID": "wxjson"}).to_string();
    let o = rt
        .invoke_raw(
            b"{}".to_vec(),
            vec![
                ("environ".into(), environ.into()),
                ("environment".into(), environment),
            ],
        )
        .await;
    assert_eq!(response_json(&o)["openid"], json!("oJson"));

    // JSON logs: one object per line; invocation lines carry the request_id.
    let (_, logs) = rt.stop().await;
    assert!(!logs.contains("tok-SECRET"), "{logs}");
    let mut with_id = 0;
    for line in logs.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        if v["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invocation"))
        {
            assert!(
                v["span"]["request_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("local-")),
                "{line}"
            );
            with_id += 1;
        }
    }
    assert!(with_id >= 6, "{logs}");
}

/// Context headers as a hostile or sloppy platform might send them: a repeated identity key is
/// trusted in neither copy (a WARN names the key, never a value), and non-ASCII UTF-8 values are
/// parsed instead of dropping the whole header. (Before: the last WX_OPENID won, and one
/// non-ASCII byte lost the header, unionid included, with no log line.)
#[tokio::test(flavor = "current_thread")]
async fn repeated_identity_keys_and_utf8_context_headers() {
    let rt = start(bin(), &[], 3000).await;
    let environ = |v: &str| vec![("environ".to_owned(), v.to_owned())];
    let o = rt
        .invoke_raw(
            b"{}".to_vec(),
            environ("WX_OPENID=oReal;WX_APPID=wx1;WX_OPENID=oVictimRepeat"),
        )
        .await;
    assert_eq!(response_json(&o)["error"], json!("UNAUTHENTICATED"));
    // With the platform's userInfo too, the identity falls back to it.
    let o = rt
        .invoke_raw(
            call_function(json!({}), Some("oUserInfo"), Some("wx1"))
                .to_string()
                .into_bytes(),
            environ("WX_OPENID=oReal;WX_OPENID=oVictimRepeat"),
        )
        .await;
    assert_eq!(response_json(&o)["openid"], json!("oUserInfo"));
    let environment = r#"{"WX_OPENID":"oVictimRepeat","WX_UNIONID":"u1","WX_OPENID":"oReal"}"#;
    let o = rt
        .invoke_raw(
            b"{}".to_vec(),
            vec![("environment".into(), environment.into())],
        )
        .await;
    assert_eq!(response_json(&o)["error"], json!("UNAUTHENTICATED"));
    let o = rt
        .invoke_raw(
            b"{}".to_vec(),
            environ("WX_OPENID=oUtf8;WX_UNIONID=uUtf8;TCB_SOURCE=wx_client;NICK=张三"),
        )
        .await;
    assert_eq!(
        (&response_json(&o)["openid"], &response_json(&o)["unionid"]),
        (&json!("oUtf8"), &json!("uUtf8"))
    );
    // A refused header is logged with the reason, never its content.
    let o = rt
        .invoke_raw(
            b"{}".to_vec(),
            vec![("environment".into(), "{\"WX_OPENID\": oNotJson".into())],
        )
        .await;
    assert_eq!(response_json(&o)["error"], json!("UNAUTHENTICATED"));
    let (_, logs) = rt.stop().await;
    assert!(
        logs.contains("ignoring the context header: environment is not a JSON object"),
        "{logs}"
    );
    assert!(!logs.contains("oNotJson"), "{logs}");
    assert_eq!(
        logs.matches("the context header repeats an identity key")
            .count(),
        3,
        "{logs}"
    );
    assert!(
        logs.contains("key=\"WX_OPENID\"") || logs.contains("key=WX_OPENID"),
        "{logs}"
    );
    assert!(
        !logs.contains("oVictimRepeat") && !logs.contains("oReal"),
        "{logs}"
    );
}
