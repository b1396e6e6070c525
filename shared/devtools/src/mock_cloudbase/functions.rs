//! Calling functions as a signed-in `@cloudbase/js-sdk` client does: the `/web` action
//! `functions.invokeFunction` (js-sdk 2.x's default) and the gateway's `POST /v1/functions/{name}`
//! (`endPointMode: 'GATEWAY'`, js-sdk 3.x's default), run against our own function processes.
//!
//! What the SDK sends (`@cloudbase/functions` `src/index.ts` `callFunction`, `@cloudbase/app`
//! `src/libs/request.ts` `request()` / `gateWay()`, 2.27.2 and 3.7.0):
//! - `/web?env={env}`: a JSON body `{action: "functions.invokeFunction", dataVersion, env,
//!   function_name, request_data: JSON.stringify(data), access_token}`. The SDK reads
//!   `{code, message}` as an error, else `data.response_data` (a JSON string it parses).
//! - `/v1/functions/{name}`: the data as the JSON body, `Authorization: Bearer <access_token>`;
//!   the SDK takes the answer body as the result (a body with `code` is an error).
//!
//! What a function gets here:
//! - through `/web`, the event function on the emulator ([`FunctionBackend::event`]): the event is
//!   the data, and the `/next` `environ` header carries the caller as CloudBase gives a js-sdk
//!   caller's function (the keys node-sdk `auth().getUserInfo()` reads: `TCB_UUID`,
//!   `TCB_CUSTOM_USER_ID`, `TCB_ISANONYMOUS_USER`, plus `TCB_ENV`, `TCB_SOURCE`, `TCB_CONTEXT_KEYS`;
//!   docs/platform.md "Identity channels"). The access token is checked here first, as the platform
//!   does: an invalid one gets `{code: "INVALID_ACCESS_TOKEN"}`, an expired one
//!   `{code: "ACCESS_TOKEN_EXPIRED"}` (the code the SDK's `fetch()` refreshes on; what `/web`
//!   answers for an expired token is UNCONFIRMED);
//! - through the gateway, the function's HTTP mode ([`FunctionBackend::web_url`]), with the
//!   caller's `Authorization` passed as it came: our function verifies the token itself.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::claims::new_uid;
use super::state::{FunctionBackend, Shared, json_response};
use scf_emulator::emulator::Outcome;

/// `POST`: the `/web` API (`functions.invokeFunction`).
pub(super) const WEB_PATH: &str = "/web";
/// `POST`: the gateway's function route.
pub(super) const GATEWAY_FUNCTION_PATH: &str = "/v1/functions/{name}";
/// The largest request body passed on, bytes (SCF's synchronous limit).
const MAX_BODY: usize = 6 * 1024 * 1024;

fn code(code: &str, message: &str) -> Response {
    json_response(
        StatusCode::OK,
        json!({"code": code, "message": message, "requestId": new_uid()}).to_string(),
    )
}

fn backend(s: &Shared, name: &str) -> Option<FunctionBackend> {
    s.functions.lock().unwrap().get(name).cloned()
}

/// The `environ` header CloudBase's platform gives a js-sdk caller's function.
fn environ(s: &Shared, claims: &Value) -> String {
    let uid = claims["sub"].as_str().unwrap_or_default();
    let anonymous = claims["scope"]
        .as_str()
        .is_some_and(|sc| sc.split_whitespace().any(|w| w == "anonymous"));
    let custom = s
        .custom_users
        .lock()
        .unwrap()
        .get(uid)
        .cloned()
        .unwrap_or_default();
    format!(
        "TCB_UUID={uid};TCB_CUSTOM_USER_ID={custom};TCB_ISANONYMOUS_USER={anonymous};TCB_ENV={env};\
         TCB_SOURCE=web_sdk;TCB_CONTEXT_KEYS=TCB_UUID,TCB_CUSTOM_USER_ID,TCB_ISANONYMOUS_USER",
        env = s.env_id
    )
}

/// `POST /web`: only `functions.invokeFunction`.
pub(super) async fn web(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    if body.len() > MAX_BODY {
        return code("INVALID_PARAM", "the request is over 6 MB");
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return code("INVALID_PARAM", "the body is not a JSON object");
    };
    if req.get("action").and_then(Value::as_str) != Some("functions.invokeFunction") {
        return code(
            "ACTION_NOT_SUPPORTED",
            "this mock serves functions.invokeFunction only",
        );
    }
    let token = req
        .get("access_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(claims) = s.verify(token) else {
        let expired = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(token)
            .ok()
            .and_then(|c| c.get("exp").and_then(Value::as_i64))
            .is_some_and(|exp| exp <= s.now());
        return if expired {
            code("ACCESS_TOKEN_EXPIRED", "the access token has expired")
        } else {
            code("INVALID_ACCESS_TOKEN", "the access token is not valid")
        };
    };
    let name = req
        .get("function_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(runner) = backend(&s, name).and_then(|b| b.event) else {
        return code(
            "FUNCTIONS_NOT_FOUND",
            &format!("no function {name:?} in this env"),
        );
    };
    let data = match req.get("request_data").and_then(Value::as_str) {
        None | Some("") => "{}".to_owned(),
        Some(d) => d.to_owned(),
    };
    let environ = environ(&s, &claims);
    let outcome = runner
        .lock()
        .await
        .invoke_raw(data.into_bytes(), vec![("environ".into(), environ)])
        .await;
    match outcome {
        Outcome::Response(b) => json_response(
            StatusCode::OK,
            json!({
                "requestId": new_uid(),
                "data": {"response_data": String::from_utf8_lossy(&b)},
            })
            .to_string(),
        ),
        Outcome::Error(b) => code("FUNCTIONS_EXECUTE_FAIL", &String::from_utf8_lossy(&b)),
        Outcome::Timeout => code("FUNCTIONS_TIME_LIMIT_EXCEEDED", "the function timed out"),
        Outcome::Crashed(why) => code("FUNCTIONS_EXECUTE_FAIL", &why),
    }
}

/// `POST /v1/functions/{name}`: forwarded to the function's HTTP mode with the caller's
/// `Authorization` and `Content-Type`.
pub(super) async fn gateway(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(url) = backend(&s, &name).and_then(|b| b.web_url) else {
        return code(
            "FUNCTIONS_NOT_FOUND",
            &format!("no function {name:?} in this env"),
        );
    };
    let port = url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
        .unwrap_or_default();
    let mut pass = Vec::new();
    for h in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(v) = headers.get(&h).and_then(|v| v.to_str().ok()) {
            pass.push((h.as_str().to_owned(), v.to_owned()));
        }
    }
    let pass: Vec<(&str, &str)> = pass.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match scf_emulator::http::request(port, "POST", "/", &pass, &body).await {
        Ok(a) => {
            let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let ct = a
                .headers
                .get("content-type")
                .cloned()
                .unwrap_or_else(|| "application/json".into());
            (status, [(header::CONTENT_TYPE, ct)], a.body).into_response()
        }
        Err(e) => code(
            "FUNCTIONS_EXECUTE_FAIL",
            &format!("the function is unreachable: {e}"),
        ),
    }
}
