//! Small measurement helpers shared by `soak` and `bench`.

use std::time::Duration;

/// A duration for a report: `420 µs`, `1.2 ms`, `202 ms` (three significant figures at most).
pub fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 1.0 {
        format!("{m:.1} ms")
    } else {
        format!("{:.0} µs", m * 1000.0)
    }
}

/// `ours / theirs` for a report: `2.50×` when above 1/2, else `1/N`; `n/a` when either is not
/// positive.
pub fn ratio(ours: f64, theirs: f64) -> String {
    if ours <= 0.0 || theirs <= 0.0 {
        return "n/a".into();
    }
    let r = ours / theirs;
    if r <= 0.5 {
        format!("1/{:.0}", 1.0 / r)
    } else {
        format!("{r:.2}×")
    }
}

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
    fn report_formats() {
        assert_eq!(ms(Duration::from_micros(419)), "419 µs");
        assert_eq!(ms(Duration::from_micros(1234)), "1.2 ms");
        assert_eq!(ms(Duration::from_millis(202)), "202 ms");
        assert_eq!(ratio(5.0, 2.0), "2.50×");
        assert_eq!(ratio(1.0, 78.0), "1/78");
        assert_eq!(ratio(1.0, 2.0), "1/2");
        assert_eq!(ratio(22.8, 24.9), "0.92×");
        assert_eq!(ratio(0.0, 2.0), "n/a");
    }

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
