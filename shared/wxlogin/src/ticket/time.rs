//! Time: milliseconds since the Unix epoch (CloudBase tickets count in milliseconds, not JWT's
//! seconds), and their RFC 3339 form.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Largest time [`format_ms`] can show: 9999-12-31T23:59:59.999Z, in ms since the Unix epoch.
pub const MAX_FORMATTABLE_MS: u64 = 253_402_300_799_999;

/// `ms` since the Unix epoch as RFC 3339 UTC with milliseconds, e.g. `2026-11-21T05:05:54.123Z`.
/// Past year 9999 (a time in µs or ns read as ms, say) it says so instead.
pub fn format_ms(ms: u64) -> String {
    if ms > MAX_FORMATTABLE_MS {
        return format!("{ms} is after year 9999: not milliseconds?");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}
