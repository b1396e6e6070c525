//! Small measurement helpers shared by `soak` and `bench`.

use std::time::Duration;

/// The `p`-quantile (0.0–1.0, nearest rank) of `samples`; zero when there are none.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut s = samples.to_vec();
    s.sort_unstable();
    let i = (s.len().saturating_sub(1) as f64 * p).round() as usize;
    s.get(i).copied().unwrap_or_default()
}

/// A `kB` field of `/proc/<pid>/status`, e.g. `VmRSS` (resident now) or `VmHWM` (peak
/// resident); `None` when the process or the field is gone.
pub fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_proc_status() {
        let ms = |n: u64| Duration::from_millis(n);
        let v = [ms(5), ms(1), ms(3), ms(2), ms(4)];
        assert_eq!(
            (
                percentile(&v, 0.0),
                percentile(&v, 0.5),
                percentile(&v, 1.0)
            ),
            (ms(1), ms(3), ms(5))
        );
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        let me = std::process::id();
        assert!(proc_status_kb(me, "VmHWM").is_some_and(|kb| kb > 0));
        assert!(
            proc_status_kb(me, "VmHW").is_none(),
            "a prefix is not the field"
        );
    }
}
