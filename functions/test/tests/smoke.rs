//! `test` as a real bootstrap, plus runtime-loop behaviour seen from outside the process.

use std::path::Path;
use std::time::Duration;

use scf_emulator::events::{call_function, http_access};
use serde_json::json;
use wxlogin_devtools::testkit::{ENV, http_parts, response_json, start};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_test"))
}

#[tokio::test(flavor = "current_thread")]
async fn smoke_with_and_without_identity() {
    let rt = start(bin(), &[], 3000).await;
    let body = response_json(
        &rt.invoke(&call_function(json!({}), Some("oUser1"), Some("wxapp1")))
            .await,
    );
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["message"], json!("Authentication successful"));
    assert_eq!(
        body["identity"],
        json!({"openid": "oUser1", "appid": "wxapp1", "unionid": "Not available"})
    );
    let ts = body["timestamp"].as_str().unwrap();
    let parsed = humantime_parse(ts);
    let now = std::time::SystemTime::now();
    let skew = now
        .duration_since(parsed)
        .or_else(|_| parsed.duration_since(now))
        .unwrap();
    assert!(skew < Duration::from_secs(60), "{ts} is not now in UTC");

    let body = response_json(&rt.invoke(&json!({})).await);
    assert_eq!(
        (body["success"].clone(), body["error"].clone()),
        (json!(false), json!("UNAUTHENTICATED"))
    );
    let (status, _, body) = http_parts(&rt.invoke(&http_access("GET", "/test", None, ENV)).await);
    assert_eq!((status, body["success"].clone()), (401, json!(false)));
    rt.shutdown().await;
}

fn humantime_parse(ts: &str) -> std::time::SystemTime {
    // 2026-11-21T05:05:54.123Z
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z'));
    let day = |s: &str| s.parse::<i64>().unwrap();
    let (y, m, d) = (day(&ts[0..4]), day(&ts[5..7]), day(&ts[8..10]));
    let (hh, mm, ss, ms) = (
        day(&ts[11..13]),
        day(&ts[14..16]),
        day(&ts[17..19]),
        day(&ts[20..23]),
    );
    // days from civil (Howard Hinnant)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hh * 3600 + mm * 60 + ss;
    std::time::UNIX_EPOCH + Duration::from_millis((secs * 1000 + ms) as u64)
}
