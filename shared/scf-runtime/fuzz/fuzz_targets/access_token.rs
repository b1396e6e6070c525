//! Access tokens before any network call: `Authorization` and `X-Cloudbase-Context` from an HTTP
//! event (`auth/credentials.rs`), then the token's shape, header `alg`/`kid` and unverified
//! claims (`auth/verify.rs`), through `scf_runtime::fuzzing::fuzz_offline`. It must not panic,
//! and no `Debug` form or error may show the token.
//!
//! Input: the `Authorization` value, a newline, then the `X-Cloudbase-Context` value. A context
//! starting `gz:` is gzipped and base64-encoded by the harness (so mutations reach the JSON
//! inside), `b64:` base64-encoded only, anything else sent as it is; `-` alone means no such
//! header. Seeds are readable: `Bearer eyJ...` then `gz:{"accessToken":"..."}`.
#![no_main]

use std::io::Write;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fn context(raw: &str) -> Option<String> {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    if raw == "-" {
        None
    } else if let Some(json) = raw.strip_prefix("gz:") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json.as_bytes()).ok()?;
        Some(b64(&gz.finish().ok()?))
    } else if let Some(json) = raw.strip_prefix("b64:") {
        Some(b64(json.as_bytes()))
    } else {
        Some(raw.to_owned())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (auth, ctx) = text.split_once('\n').unwrap_or((text, "-"));
    let auth = (auth != "-").then_some(auth);
    let ctx = context(ctx);
    let _ = scf_runtime::fuzzing::fuzz_offline(auth, ctx.as_deref());
});
