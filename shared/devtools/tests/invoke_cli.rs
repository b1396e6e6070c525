//! `scripts/invoke` end to end: the invoke binary, the embedded mock and dev key, a real bootstrap.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
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
    // An unknown option is exit 2 too.
    assert_eq!(
        invoke()
            .args(["test", "--nope"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

/// A bootstrap that answers its one event with the event's own bytes (ASCII events only: the
/// script counts characters). Remove `.parent()` when done.
fn echo_bootstrap() -> PathBuf {
    script_bootstrap(
        "echo",
        r#"export LC_ALL=C
next() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'GET /runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; local r; r=$(cat <&3); EVENT="${r#*$'\r\n\r\n'}"; }
post /runtime/init/ready ' '; next; post /runtime/invocation/response "$EVENT"; exec sleep 30"#,
    )
}

/// Run `invoke function args --bootstrap bootstrap` with `stdin`; (exit code, stdout, stderr).
fn run(
    function: &str,
    args: &[&str],
    bootstrap: &std::path::Path,
    stdin: Option<&[u8]>,
) -> (i32, String, String) {
    use std::io::Write as _;
    let mut c = invoke();
    c.arg(function)
        .args(args)
        .arg("--bootstrap")
        .arg(bootstrap)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const TIMER: &str =
    r#"{"Type":"Timer","TriggerName":"daily","Time":"2026-12-02T00:00:00Z","Message":""}"#;

#[test]
fn invoke_gives_user_info_only_to_call_function_events() {
    // getUserInfo: a timer event has no caller in the cloud, so none locally either.
    let bin = function_bin("getUserInfo");
    let (code, out, err) = run("getUserInfo", &[TIMER], &bin, None);
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(body["error"], "UNAUTHENTICATED", "{out}");
    assert!(err.contains("a timer event"), "{err}");
    let (code, out, err) = run(
        "getUserInfo",
        &[r#"{"a":1}"#, "--openid", "oCaller"],
        &bin,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["openid"], "oCaller", "{out}");

    // Every non-callFunction shape is delivered as given: no userInfo, even with --openid.
    let echo = echo_bootstrap();
    for event in [
        TIMER,
        r#"{"TriggerName":"t"}"#,
        r#"{"Records":[{"cos":{"cosObject":{"key":"/a"}}}]}"#,
        r#"{"Records":[{"CMQ":{"msgBody":"m"}}]}"#,
        r#"{"httpMethod":"GET","path":"/me","headers":{"host":"x"},"requestContext":{"stage":"release"}}"#,
        r#"{"httpMethod":"POST","path":"/login","headers":{},"body":"{}"}"#,
        r#"[{"a":1}]"#,
    ] {
        let (code, out, err) = run(
            "test",
            &[event, "--openid", "oX", "--unionid", "uX"],
            &echo,
            None,
        );
        assert_eq!(code, 0, "{event}: {err}");
        assert_eq!(out, format!("{event}\n"), "{err}");
    }
    // --call makes HTTP-shaped data a callFunction (as the platform would deliver it).
    let (_, out, err) = run(
        "test",
        &[
            r#"{"httpMethod":"POST","headers":{}}"#,
            "--call",
            "--openid",
            "oX",
        ],
        &echo,
        None,
    );
    assert_eq!(
        out,
        "{\"userInfo\":{\"appId\":\"wx0000000000local\",\"openId\":\"oX\"},\"httpMethod\":\"POST\",\"headers\":{}}\n",
        "{err}"
    );
    // --http wraps the data, as given, in an HTTP access event with no userInfo.
    let data = r#"{"code":"a.1", "code":"b.1"}"#;
    let (code, out, err) = run("test", &[data, "--http", "POST", "/login"], &echo, None);
    assert_eq!(code, 0, "{err}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["httpMethod"], "POST");
    assert_eq!(e["body"], data, "{out}");
    assert!(e.get("userInfo").is_none(), "{out}");
    std::fs::remove_dir_all(echo.parent().unwrap()).unwrap();
}

#[test]
fn invoke_delivers_events_byte_for_byte() {
    let echo = echo_bootstrap();
    let dir = echo.parent().unwrap();
    // A repeated key, a big integer, a trailing zero, an escape and odd spacing: all survive.
    let event = "{ \"a\": 1,\n  \"a\": 2, \"big\": 12345678901234567890123, \"f\": 1.50, \"s\": \"\\u00e9\" }";
    let file = dir.join("event.json");
    std::fs::write(&file, event).unwrap();
    let at_file = format!("@{}", file.display());
    let spliced = format!(
        "{{\"userInfo\":{{\"appId\":\"wx0000000000local\",\"openId\":\"oLocalDevUser0000000000000001\"}},{}\n",
        &event[1..]
    );
    // As given with --anonymous; with the userInfo spliced in otherwise; from a file, stdin or
    // the command line alike.
    for (args, stdin, expect) in [
        (
            vec![at_file.as_str(), "--anonymous"],
            None,
            format!("{event}\n"),
        ),
        (vec![at_file.as_str()], None, spliced.clone()),
        (vec!["-"], Some(event.as_bytes()), spliced.clone()),
        (vec![event], None, spliced.clone()),
    ] {
        let (code, out, err) = run("test", &args, &echo, stdin);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out, expect, "{args:?}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn invoke_delivers_an_event_that_is_not_json() {
    // The runtime, not invoke, decides: exit 1 with EVENT_NOT_JSON.
    let bin = function_bin("test");
    for event in ["{bad json", "not json at all"] {
        let (code, out, err) = run("test", &[event], &bin, None);
        assert_eq!(code, 1, "{event}: {err}");
        let body: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(body["errorCode"], "EVENT_NOT_JSON", "{out}");
    }
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

/// Every JWT starts with the base64url of `{"`: a token in a log shows as `eyJ`.
const JWT_START: &str = "eyJ";

#[test]
fn invoke_access_token_for_sends_a_token_the_cloudbase_mock_vouches_for() {
    // The real getUserInfo: the HTTP request goes through and the function answers with the
    // token's caller; the token is never in invoke's output.
    let bin = function_bin("getUserInfo");
    let answer = |args: &[&str]| {
        let mut all = vec!["--http", "GET", "/"];
        all.extend(args);
        let (code, out, err) = run("getUserInfo", &all, &bin, None);
        assert_eq!(code, 0, "{err}");
        let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(r["statusCode"], 200, "{out}");
        assert!(
            !out.contains(JWT_START) && !err.contains(JWT_START),
            "{out}\n{err}"
        );
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        (body, err)
    };
    let (body, err) = answer(&["--access-token-for", "uid-cli-1", "--openid", "oTokenUser"]);
    assert_eq!(
        (body["uid"].clone(), body["openid"].clone()),
        (json!("uid-cli-1"), json!("oTokenUser"))
    );
    assert!(
        err.contains("uid uid-cli-1") && err.contains("not printed"),
        "{err}"
    );
    assert!(!err.contains("--openid ignored"), "{err}");

    // A custom-ticket user: no openid in the token; the mock's /auth/v1/user/me names the
    // customUserId, which getUserInfo reports, and as the openid.
    let (body, _) = answer(&[
        "--access-token-for",
        "uid-cli-3",
        "--custom-user-id",
        "oCustom3",
    ]);
    assert_eq!(
        (body["customUserId"].clone(), body["openid"].clone()),
        (json!("oCustom3"), json!("oCustom3")),
        "{body}"
    );

    // The anonymous publishable key: a verified caller, anonymous, no openid.
    let (body, err) = answer(&["--anonymous-token"]);
    assert_eq!(
        body,
        json!({"openid": null, "appid": null, "unionid": null, "uid": "anon", "isAnonymous": true})
    );
    assert!(err.contains("publishable key"), "{err}");

    // A probe bootstrap, while the invocation runs: takes the token from the event's
    // Authorization header, fetches the JWKS and asks introspection, over the URLs invoke gave it,
    // and answers with all of it.
    let probe = script_bootstrap(
        "token-probe",
        r#"export LC_ALL=C
next() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'GET /runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; local r; r=$(cat <&3); EVENT="${r#*$'\r\n\r\n'}"; }
fetch() { local rest=${1#http://}; local hp=${rest%%/*}; exec 4<>/dev/tcp/${hp%:*}/${hp#*:}; printf 'GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n' "${rest#*/}" "$hp" "$2" >&4; local r; r=$(cat <&4); exec 4<&-; printf '%s' "${r#*$'\r\n\r\n'}"; }
post /runtime/init/ready ' '; next
tok=${EVENT#*\"authorization\":\"Bearer }; tok=${tok%%\"*}
jwks=$(fetch "$TCB_JWKS_URL" '')
intro=$(fetch "$TCB_INTROSPECT_URL" "Authorization: Bearer $tok"$'\r\n')
post /runtime/invocation/response "$tok
$jwks
$intro
$TCB_ENV ${TCB_TOKEN_ISSUER:-unset} $TCB_JWKS_URL $TCB_INTROSPECT_URL $TCB_USER_ME_URL $TCB_ISSUER_HOSTS"; exec sleep 30"#,
    );
    let (code, out, err) = run(
        "getUserInfo",
        &[
            "{}",
            "--http",
            "POST",
            "/me",
            "--access-token-for",
            "uid-cli-2",
            "--openid",
            "oProbe",
            "--unionid",
            "uProbe",
        ],
        &probe,
        None,
    );
    std::fs::remove_dir_all(probe.parent().unwrap()).unwrap();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}\n{err}");
    let (token, jwks, intro) = (lines[0], lines[1], lines[2]);
    let vars: Vec<&str> = lines[3].split(' ').collect();
    let env = vars[0];
    assert!(token.starts_with(JWT_START), "{out}");
    assert!(!err.contains(token), "{err}");
    // The variables point at one local mock; the issuer is left to the function's defaults (the
    // token carries a real issuer form), and no real issuer host is asked.
    assert_eq!(vars[1], "unset", "{out}");
    assert!(vars[2].starts_with("http://127.0.0.1:") && vars[2].ends_with("/auth/v1/certs"));
    assert!(vars[3].ends_with("/auth/v1/token/introspect"), "{out}");
    assert!(vars[4].ends_with("/auth/v1/user/me"), "{out}");
    assert_eq!(vars[5], "false", "{out}");
    // The real header shape: {alg, kid}, no typ.
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ, None);
    let iss = format!("https://{env}.ap-shanghai.tcb-api.tencentcloudapi.com");
    // The JWKS it served verifies the token, for this env, with the flags in its meta.
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(jwks).unwrap_or_else(|e| panic!("{e}: {out}"));
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[env]);
    v.set_issuer(&[&iss]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "uid-cli-2");
    assert_eq!(
        claims["meta"],
        serde_json::json!({"wxOpenId": "oProbe", "wxUnionId": "uProbe"})
    );
    // And introspection vouches for it.
    let intro: Value = serde_json::from_str(intro).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        intro,
        serde_json::json!({"token_type": "Bearer", "client_id": env, "sub": "uid-cli-2", "scope": "user sso"})
    );
}

#[test]
fn invoke_access_token_for_needs_http() {
    let bin = function_bin("getUserInfo");
    let (code, out, err) = run("getUserInfo", &["--access-token-for", "u1"], &bin, None);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("add --http METHOD PATH"), "{err}");
    for extra in [["--anonymous"], ["--call"]] {
        let mut args = vec!["--http", "GET", "/", "--access-token-for", "u1"];
        args.extend(extra);
        let (code, _, err) = run("getUserInfo", &args, &bin, None);
        assert_eq!(code, 2, "{extra:?}: {err}");
    }
    let (code, _, err) = run("getUserInfo", &["--anonymous-token"], &bin, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--anonymous-token sends the token"), "{err}");
    let long = "u".repeat(257);
    let (code, _, err) = run(
        "getUserInfo",
        &["--http", "GET", "/", "--access-token-for", &long],
        &bin,
        None,
    );
    assert_eq!(code, 2, "{err}");
}

/// A function's own settings (its `envVariables` in cloudbaserc.json) pass through from invoke's
/// environment, others do not; the WeChat mock and the dev key are made only for functions whose
/// settings name them. Before, `ORDERS_TABLE=orders-prod scripts/invoke getOrders` gave the
/// function no ORDERS_TABLE, and every function got a mock WeChat and a dev key.
#[test]
fn a_functions_own_settings_pass_through_and_only_the_stand_ins_it_needs_start() {
    let dir = std::env::temp_dir().join(format!("invoke-rc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rc = dir.join("cloudbaserc.json");
    std::fs::write(
        &rc,
        r#"{"functions":[
            {"name":"getOrders","envVariables":{"ORDERS_TABLE":"{{env.ORDERS_TABLE}}","TCB_ENV":"{{env.ENV_ID}}"}},
            {"name":"login","envVariables":{"WX_APPID":"x","WX_SECRET":"y","TCB_CUSTOM_LOGIN_KEY":"z"}}]}"#,
    )
    .unwrap();
    let echo = script_bootstrap(
        "echo-settings",
        r#"post /runtime/init/ready ' '
get /runtime/invocation/next >/dev/null
post /runtime/invocation/response "ORDERS_TABLE=${ORDERS_TABLE:-unset} UNLISTED=${UNLISTED:-unset} WX_APPID=${WX_APPID:-unset} KEY=${TCB_CUSTOM_LOGIN_KEY_FILE:-unset}"
exec sleep 30"#,
    );
    let run_with_rc = |function: &str| {
        let out = invoke()
            .env("CLOUDBASERC", &rc)
            .env("ORDERS_TABLE", "orders-prod")
            .env("UNLISTED", "nope")
            .args([function, "{}", "--bootstrap"])
            .arg(&echo)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        (String::from_utf8_lossy(&out.stdout).trim().to_owned(), err)
    };
    let (out, err) = run_with_rc("getOrders");
    assert_eq!(
        out, "ORDERS_TABLE=orders-prod UNLISTED=unset WX_APPID=unset KEY=unset",
        "{err}"
    );
    assert!(
        !err.contains("jscode2session mock") && !err.contains("dev key"),
        "{err}"
    );
    // A function that talks to WeChat and mints tickets gets both stand-ins.
    let (out, err) = run_with_rc("login");
    assert!(
        out.starts_with("ORDERS_TABLE=unset UNLISTED=unset WX_APPID=wx")
            && !out.ends_with("KEY=unset"),
        "{out}\n{err}"
    );
    std::fs::remove_dir_all(echo.parent().unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// invoke finds the workspace from the folder it runs in, not from the path compiled into it: a
/// binary built from another checkout (the scaffold check builds a copy into the shared target
/// folder) used to read the copy's cloudbaserc.json, gone after the check.
#[test]
fn the_function_list_is_the_current_checkouts() {
    let dir = std::env::temp_dir().join(format!("invoke-root-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
    std::fs::write(
        dir.join("cloudbaserc.json"),
        r#"{"functions":[{"name":"onlyHere"}]}"#,
    )
    .unwrap();
    let out = invoke()
        .current_dir(dir.join("sub"))
        .env_remove("CLOUDBASERC")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(
        help.contains(&format!(
            "Functions in {}: onlyHere",
            dir.join("cloudbaserc.json").display()
        )),
        "{help}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
