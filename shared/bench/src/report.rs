//! The report `make bench` prints and writes to docs/benchmarks.md: the functions, web mode, the
//! load section, minting, and the targets (met or missed; a missed target is reported, not failed).

use std::time::{Duration, Instant};

use crate::load::{self, LoadOptions};
use crate::machine::{self, kb};
use crate::mint::Minting;
use crate::setup::{Figures, Setup};
use scf_emulator::measure::{ms, percentile, ratio};

/// Everything the report is made of.
pub(super) struct Inputs<'a> {
    pub(super) s: &'a Setup,
    pub(super) all: &'a [(&'a str, [Figures; 2])],
    /// Functions without a Node reference: Rust figures only.
    pub(super) rust_only: &'a [(&'a str, Figures)],
    pub(super) web: &'a (Vec<Duration>, Vec<Duration>, u64),
    pub(super) load_rows: &'a [load::Comparison],
    pub(super) load_options: &'a LoadOptions,
    pub(super) cores: Option<load::Cores>,
    pub(super) minting: &'a Minting,
    pub(super) load_at_start: &'a str,
    pub(super) started: Instant,
}

/// The markdown report, and whether every login of the load section succeeded.
pub(super) fn write(i: &Inputs<'_>) -> (String, bool) {
    let Inputs {
        s,
        all,
        rust_only,
        web,
        load_rows,
        load_options,
        cores,
        minting,
        load_at_start,
        started,
    } = *i;
    let Minting {
        ours,
        fast,
        node,
        openssl,
        openssl_version,
    } = minting;
    let (ours, node, openssl) = (*ours, *node, *openssl);
    // The report.
    let mut r = String::new();
    let cmd = if s.args.quick {
        "make bench-smoke"
    } else {
        "make bench"
    };
    r.push_str(&format!(
        "# Benchmarks: Rust bootstraps against Node with the official SDKs\n\n\
         Produced by `{cmd}` on {}; {} cold starts and {} warm invocations per function and runtime, \
         interleaved. The emulator and mock WeChat run on 127.0.0.1 in the same process as the harness.\n\n\
         Machine:\n{}- {openssl_version}\n- load average (1 / 5 / 15 min) at the start: {load_at_start}; at the end: {}\n\n",
        wxlogin::format_ms(wxlogin::now_ms()),
        s.cold,
        s.warm,
        machine::machine(),
        machine::loadavg(),
    ));
    r.push_str("Node: `@cloudbase/node-sdk` 3.18.3 and `wx-server-sdk` 4.0.2 (`scripts/bench/node`), each function a long-lived process that loads its SDK at init, on a thin SCF runtime client. Rust: the musl release binaries as shipped. Keys: 1024-bit (the console's size) for the functions.\n\n");
    r.push_str(
        "## Functions\n\n| function | figure | Rust | Node | Rust/Node |\n|---|---|---|---|---|\n",
    );
    for (function, [rust, node]) in all {
        let row = |r: &mut String, what: &str, a: Duration, b: Duration| {
            r.push_str(&format!(
                "| {function} | {what} | {} | {} | {} |\n",
                ms(a),
                ms(b),
                ratio(a.as_secs_f64(), b.as_secs_f64())
            ));
        };
        row(
            &mut r,
            "cold start, median",
            percentile(&rust.cold, 0.5),
            percentile(&node.cold, 0.5),
        );
        row(
            &mut r,
            "cold start, p90",
            percentile(&rust.cold, 0.9),
            percentile(&node.cold, 0.9),
        );
        row(
            &mut r,
            "warm, p50",
            percentile(&rust.warm, 0.5),
            percentile(&node.warm, 0.5),
        );
        row(
            &mut r,
            "warm, p99",
            percentile(&rust.warm, 0.99),
            percentile(&node.warm, 0.99),
        );
        r.push_str(&format!(
            "| {function} | peak RSS | {:.1} MB | {:.1} MB | {} |\n",
            rust.peak_rss_kb as f64 / 1024.0,
            node.peak_rss_kb as f64 / 1024.0,
            ratio(rust.peak_rss_kb as f64, node.peak_rss_kb as f64)
        ));
        let z = |b: Option<u64>| b.map(kb).unwrap_or_else(|| "n/a".into());
        r.push_str(&format!(
            "| {function} | package (zip) | {} | {} | {} |\n",
            z(rust.zip_bytes),
            z(node.zip_bytes),
            ratio(
                rust.zip_bytes.unwrap_or(0) as f64,
                node.zip_bytes.unwrap_or(0) as f64
            )
        ));
    }
    if !rust_only.is_empty() {
        r.push_str("\n## Functions without a Node reference (Rust only)\n\nThe same runs as above (callFunction events from a vouched caller, the mock WeChat on 127.0.0.1); getPhoneNumber's first invocation also fetches the access_token, which the warm invocations reuse.\n\n| function | cold start, median | cold start, p90 | warm, p50 | warm, p99 | peak RSS | package (zip) |\n|---|---|---|---|---|---|---|\n");
        for (function, f) in rust_only {
            r.push_str(&format!(
                "| {function} | {} | {} | {} | {} | {:.1} MB | {} |\n",
                ms(percentile(&f.cold, 0.5)),
                ms(percentile(&f.cold, 0.9)),
                ms(percentile(&f.warm, 0.5)),
                ms(percentile(&f.warm, 0.99)),
                f.peak_rss_kb as f64 / 1024.0,
                f.zip_bytes.map(kb).unwrap_or_else(|| "n/a".into()),
            ));
        }
    }
    r.push_str(&format!(
        "\n## Web mode (getLoginTicket --web, Rust only)\n\nThe same binary as a CloudBase HTTP function: spawn → first HTTP 200 (WeChat mock round trip and one signature included), then warm requests on one keep-alive connection.\n\n| figure | value |\n|---|---|\n| cold start, median | {} |\n| cold start, p90 | {} |\n| warm, p50 | {} |\n| warm, p99 | {} |\n| peak RSS | {:.1} MB |\n",
        ms(percentile(&web.0, 0.5)),
        ms(percentile(&web.0, 0.9)),
        ms(percentile(&web.1, 0.5)),
        ms(percentile(&web.1, 0.99)),
        web.2 as f64 / 1024.0
    ));
    let (load_report, load_valid) = load::report(load_rows, load_options, cores, openssl[0]);
    r.push_str(&load_report);
    r.push_str("\n## Ticket minting, one process, tickets per second\n\n| key | Rust (criterion) | node-sdk createTicket | openssl speed (sign/s) | Rust/openssl | Rust/Node |\n|---|---|---|---|---|---|\n");
    for (i, bits) in [1024, 2048].into_iter().enumerate() {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "n/a".into());
        let rr = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}", a / b),
            _ => "n/a".into(),
        };
        r.push_str(&format!(
            "| RSA {bits} | {} | {} | {} | {} | {} |\n",
            f(ours[i]),
            f(node[i]),
            f(openssl[i]),
            rr(ours[i], openssl[i]),
            rr(ours[i], node[i])
        ));
    }
    if let Some(fast) = fast {
        for (i, bits) in [1024, 2048].into_iter().enumerate() {
            if let (Some(a), Some(o)) = (fast[i], openssl[i]) {
                r.push_str(&format!(
                    "| RSA {bits}, aws-lc at -O2 (`FAST_RSA=1`) | {a:.0} | | | {:.2} | |\n",
                    a / o
                ));
            }
        }
    }
    r.push_str("\nThe shipped build compiles aws-lc at the release profile's -Os, which keeps getLoginTicket's zip about 400 KB smaller; `make package FAST_RSA=1` compiles it at -O2 instead (the `-O2` rows).\n");

    // Targets.
    r.push_str("\n## Targets\n\n");
    let mut target = |ok: bool, text: String| {
        r.push_str(&format!(
            "- {} {text}\n",
            if ok { "met:" } else { "**missed:**" }
        ));
    };
    for (function, [rust, node]) in all {
        let (a, b) = (percentile(&rust.cold, 0.5), percentile(&node.cold, 0.5));
        target(
            a.as_secs_f64() * 20.0 <= b.as_secs_f64(),
            format!(
                "{function} cold start at most 1/20 of Node's: {} vs {} ({})",
                ms(a),
                ms(b),
                ratio(a.as_secs_f64(), b.as_secs_f64())
            ),
        );
        target(
            rust.peak_rss_kb <= 10 * 1024,
            format!(
                "{function} peak RSS at most 10 MB: {:.1} MB",
                rust.peak_rss_kb as f64 / 1024.0
            ),
        );
        if let Some(z) = rust.zip_bytes {
            target(
                z <= 1_500_000,
                format!("{function} zip at most 1.5 MB: {}", kb(z)),
            );
        }
    }
    if let Some((_, [rust, _])) = all.iter().find(|(f, _)| *f == "getUserInfo") {
        let p50 = percentile(&rust.warm, 0.5);
        target(
            p50 <= Duration::from_micros(200),
            format!(
                "getUserInfo warm p50 at most 200 µs through the emulator: {}",
                ms(p50)
            ),
        );
    }
    for (i, bits) in [1024, 2048].into_iter().enumerate() {
        if let (Some(a), Some(b)) = (ours[i], openssl[i]) {
            target(
                a >= 0.8 * b,
                format!(
                    "RSA {bits} minting at least 0.8 × openssl sign/s: {a:.0}/s vs {b:.0}/s ({:.2})",
                    a / b
                ),
            );
        }
    }
    r.push_str(&format!(
        "\nThe whole run took {:.0} s.\n",
        started.elapsed().as_secs_f64()
    ));
    (r, load_valid)
}
