//! The load section of `make bench`: getLoginTicket `--web` against the same login written as a
//! Node HTTP function (`scripts/bench/node/web/getLoginTicket`), under wrk.
//!
//! Web mode exists to serve many concurrent callers from one instance; what that costs per login
//! (requests per second on one core, memory, CPU time, billed GB-s) is its claim against Node.
//! This module measures and formats; `bench` calls it and writes the report.
//!
//! One run is one side at one concurrency:
//! - a fresh mock WeChat in this process for each run (its table of codes seen then stays small,
//!   so growing it never stalls the mock in the middle of a run). Every login uses a code never
//!   seen before, `slow-<ms>...`, which the mock answers after `<ms>` milliseconds (20 by default:
//!   an in-region round trip). wrk makes the codes (`scripts/bench/wrk/login.lua`);
//! - the server is started under `taskset -c <server core>`, wrk under `taskset -c <load core>`,
//!   and the thread of this process that runs the mock is moved to the load core too, so the
//!   server has a core to itself ([`Cores`]). Without two cores or `taskset`, nothing is pinned
//!   and the report says so;
//! - a warm-up run (JIT, connection pools), then the measured run. CPU time is utime+stime of
//!   the server process (all its threads) from `/proc/<pid>/stat` just before and just after the
//!   measured run, in clock ticks (10 ms on Linux): divided by the logins wrk counted. Peak RSS is
//!   `VmHWM` after the measured run. Then SIGTERM.
//!
//! A run in which any answer was not a 200 with a ticket, or any socket error or timeout
//! happened, is not a valid figure: [`Run::errors`] counts them and the report marks the run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use scf_emulator::measure::{ms, proc_status_kb, ratio};
use wxlogin_devtools::mock_wechat::{MockWeChat, SESSION_KEY_MARKER};
use wxlogin_devtools::testkit::APPID;

/// What the load section runs.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Concurrent connections (wrk `-c`), one run per value and side; e.g. `[1, 16, 64, 256]`.
    pub concurrency: Vec<usize>,
    /// Length of each measured run, seconds (wrk takes whole seconds).
    pub seconds: u64,
    /// Length of the warm-up run before each measured run, seconds; 0 for none.
    pub warmup_seconds: u64,
    /// How long the mock WeChat takes to answer jscode2session, milliseconds.
    pub wechat_delay_ms: u64,
    /// `scripts/bench/wrk/login.lua`.
    pub wrk_script: PathBuf,
}

/// A server to load: the program, its arguments and environment. [`run`] adds `PORT` and
/// `WECHAT_API_BASE` (its own mock's address).
#[derive(Clone, Debug)]
pub struct ServerCommand {
    /// Which side, for messages and the report: `Rust` or `Node`.
    pub label: &'static str,
    /// The executable (`getLoginTicket`, `node`).
    pub program: PathBuf,
    /// Its arguments (`--web`; the script path for Node).
    pub args: Vec<String>,
    /// Its environment (function settings); `PATH` is passed through, nothing else is inherited.
    pub env: Vec<(String, String)>,
}

/// The two cores of a pinned run: the server's, and the one wrk and the mock share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cores {
    /// CPU number for the server process.
    pub server: usize,
    /// CPU number for wrk and this process's mock.
    pub load: usize,
}

/// The first two CPUs this thread may run on, when there are two and `taskset` is on `PATH`;
/// `None` means runs are not pinned.
pub fn pick_cores() -> Option<Cores> {
    let taskset = std::process::Command::new("taskset")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let allowed = allowed_cpus()?;
    match (taskset, allowed.as_slice()) {
        (true, [server, load, ..]) => Some(Cores {
            server: *server,
            load: *load,
        }),
        _ => None,
    }
}

fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity(0) writes this thread's mask into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect(),
        )
    }
}

/// Moves the calling thread to `cpu` until dropped, then back to the CPUs it had.
struct PinnedThread(Option<libc::cpu_set_t>);

impl PinnedThread {
    fn to(cpu: usize) -> Self {
        // SAFETY: as in allowed_cpus; sched_setaffinity(0) applies to the calling thread only.
        unsafe {
            let mut old: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old) != 0 {
                return PinnedThread(None);
            }
            let mut new: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut new);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &new) != 0 {
                return PinnedThread(None);
            }
            PinnedThread(Some(old))
        }
    }
}

impl Drop for PinnedThread {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: restores the mask read in `to`.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), old);
            }
        }
    }
}

/// The figures of one measured run.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// wrk `-c`.
    pub concurrency: usize,
    /// Requests wrk completed (each a login with a fresh code).
    pub requests: u64,
    /// Length of the measured run as wrk timed it.
    pub duration: Duration,
    /// Answers that were not a 200 with a ticket, plus socket errors and timeouts. A run with
    /// any is not a valid figure.
    pub errors: u64,
    /// Mean latency (wrk).
    pub latency_mean: Duration,
    /// Median latency (wrk).
    pub latency_p50: Duration,
    /// 99th-percentile latency (wrk).
    pub latency_p99: Duration,
    /// `VmHWM` of the server after the run, kB (KiB). Includes the warm-up.
    pub peak_rss_kb: u64,
    /// CPU time (utime+stime, all threads) the server spent during the measured run.
    pub cpu: Duration,
    /// The kernel's part of [`Run::cpu`] (stime): sockets, epoll, page faults.
    pub cpu_sys: Duration,
    /// Fraction (0–1) of one core that wrk and this process (the mock) used during the run; near
    /// 1 means the load side, not the server, may have been the limit.
    pub load_side_busy: f64,
}

impl Run {
    /// Completed logins per second.
    pub fn rps(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }

    /// Server CPU time per login; `None` when nothing completed.
    pub fn cpu_per_login(&self) -> Option<Duration> {
        (self.requests > 0).then(|| self.cpu.div_f64(self.requests as f64))
    }
}

/// Utime+stime of process `pid` (all its threads), from `/proc/<pid>/stat`; `None` when it is gone.
pub fn proc_cpu(pid: u32) -> Option<Duration> {
    proc_cpu_split(pid).map(|(user, sys)| user + sys)
}

/// Utime and stime of process `pid` (all its threads), from `/proc/<pid>/stat`, in clock ticks
/// (10 ms on Linux) converted to durations; `None` when it is gone.
pub fn proc_cpu_split(pid: u32) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((
        Duration::from_secs_f64(utime as f64 / ticks),
        Duration::from_secs_f64(stime as f64 / ticks),
    ))
}

/// CPU time of this process and of its children that have been waited for (getrusage).
fn rusage_cpu() -> Duration {
    let get = |who| {
        // SAFETY: getrusage fills the struct it is given.
        unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            if libc::getrusage(who, &mut u) != 0 {
                return Duration::ZERO;
            }
            let tv = |t: libc::timeval| {
                Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
            };
            tv(u.ru_utime) + tv(u.ru_stime)
        }
    };
    get(libc::RUSAGE_SELF) + get(libc::RUSAGE_CHILDREN)
}

/// The `BENCH_RESULT {...}` line of `login.lua`.
#[derive(Debug, Default, PartialEq)]
pub struct WrkResult {
    /// Requests completed.
    pub requests: u64,
    /// Run length, microseconds.
    pub duration_us: u64,
    /// Not a 200 with a ticket + connect/read/write errors + timeouts.
    pub errors: u64,
    /// Mean latency, microseconds.
    pub mean_us: f64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th-percentile latency, microseconds.
    pub p99_us: u64,
}

/// Finds and reads the `BENCH_RESULT` line in wrk's output.
///
/// # Errors
/// When there is no such line or it is not the JSON `login.lua` prints.
pub fn parse_wrk(stdout: &str) -> Result<WrkResult, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .ok_or("wrk printed no BENCH_RESULT line (is the script scripts/bench/wrk/login.lua?)")?;
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("BENCH_RESULT is not JSON: {e}"))?;
    let n = |k: &str| v[k].as_f64().ok_or(format!("BENCH_RESULT has no {k}"));
    Ok(WrkResult {
        requests: n("requests")? as u64,
        duration_us: n("duration_us")? as u64,
        errors: (n("bad_answers")?
            + n("connect_errors")?
            + n("read_errors")?
            + n("write_errors")?
            + n("timeouts")?) as u64,
        mean_us: n("latency_mean_us")?,
        p50_us: n("latency_p50_us")? as u64,
        p99_us: n("latency_p99_us")? as u64,
    })
}

async fn wrk(
    port: u16,
    concurrency: usize,
    seconds: u64,
    opts: &LoadOptions,
    cores: Option<Cores>,
    tag: &str,
) -> Result<WrkResult, String> {
    let mut cmd = match cores {
        Some(c) => {
            let mut k = tokio::process::Command::new("taskset");
            k.args(["-c", &c.load.to_string(), "wrk"]);
            k
        }
        None => tokio::process::Command::new("wrk"),
    };
    // One wrk thread: it keeps 256 connections busy at these rates, and leaves the rest of the
    // load core to the mock. A login unanswered after 10 s counts as an error (wrk's default,
    // 2 s, is shorter than what Node's p99 reaches at concurrency 256 on a busy machine).
    cmd.args(["-t1", &format!("-c{concurrency}"), &format!("-d{seconds}s")])
        .args(["--timeout", "10s", "-s"])
        .arg(&opts.wrk_script)
        .arg(format!("http://127.0.0.1:{port}/"))
        .args(["--", tag, &opts.wechat_delay_ms.to_string()])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = cmd.output().await.map_err(|e| {
        format!("cannot run wrk ({e}): install it (apt-get install -y wrk; make bench does this)")
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_wrk(&stdout)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(2000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

/// One measured run of `server` at `concurrency`: start it (pinned), warm up, measure, stop.
/// `secret` is the AppSecret the server's `WX_SECRET` holds (the mock checks it); `tag` (letters
/// and digits) keeps this run's codes apart from every other run's.
///
/// # Errors
/// When the server does not start or listen within 20 s, or wrk cannot run or prints no result.
/// Errors in answers are not an `Err`: they are counted in [`Run::errors`].
pub async fn run(
    server: &ServerCommand,
    concurrency: usize,
    opts: &LoadOptions,
    cores: Option<Cores>,
    secret: &str,
    tag: &str,
) -> Result<Run, String> {
    let who = format!("{} at concurrency {concurrency}", server.label);
    let mock = MockWeChat::start_with(APPID, secret, SESSION_KEY_MARKER)
        .await
        .map_err(|e| format!("{who}: mock WeChat: {e}"))?;
    let port = free_port()?;
    let log = std::env::temp_dir().join(format!("bench-load-{}-{tag}.log", std::process::id()));
    let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = match cores {
        Some(c) => {
            let mut k = tokio::process::Command::new("taskset");
            k.args(["-c", &c.server.to_string()]).arg(&server.program);
            k
        }
        None => tokio::process::Command::new(&server.program),
    };
    cmd.args(&server.args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(
            server
                .env
                .iter()
                .filter(|(k, _)| k != "WECHAT_API_BASE" && k != "PORT")
                .map(|(k, v)| (k, v)),
        )
        .env("WECHAT_API_BASE", mock.base_url())
        .env("PORT", port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{who}: cannot start {}: {e}", server.program.display()))?;
    let pid = child.id().ok_or(format!("{who}: exited at once"))?;
    let result = async {
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{who}: exited before listening ({status})"));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("{who}: not listening on port {port} after 20 s"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if opts.warmup_seconds > 0 {
            wrk(
                port,
                concurrency,
                opts.warmup_seconds,
                opts,
                cores,
                &format!("{tag}w"),
            )
            .await?;
        }
        let cpu_before = proc_cpu_split(pid).ok_or(format!("{who}: exited"))?;
        let load_before = rusage_cpu();
        let measured = wrk(port, concurrency, opts.seconds, opts, cores, tag).await?;
        let cpu_after = proc_cpu_split(pid).ok_or(format!("{who}: exited during the run"))?;
        let load_cpu = rusage_cpu().saturating_sub(load_before);
        let duration = Duration::from_micros(measured.duration_us);
        Ok(Run {
            concurrency,
            requests: measured.requests,
            duration,
            errors: measured.errors,
            latency_mean: Duration::from_secs_f64(measured.mean_us / 1e6),
            latency_p50: Duration::from_micros(measured.p50_us),
            latency_p99: Duration::from_micros(measured.p99_us),
            peak_rss_kb: proc_status_kb(pid, "VmHWM").unwrap_or(0),
            cpu: (cpu_after.0 + cpu_after.1).saturating_sub(cpu_before.0 + cpu_before.1),
            cpu_sys: cpu_after.1.saturating_sub(cpu_before.1),
            load_side_busy: if duration.is_zero() {
                0.0
            } else {
                load_cpu.as_secs_f64() / duration.as_secs_f64()
            },
        })
    }
    .await;
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    if tokio::time::timeout(Duration::from_secs(6), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    let result = result.map_err(|e| format!("{e}\n{}", tail(&log)));
    let _ = std::fs::remove_file(&log);
    result
}

/// Both sides at one concurrency.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// wrk `-c`.
    pub concurrency: usize,
    /// getLoginTicket `--web`.
    pub rust: Run,
    /// The Node HTTP function.
    pub node: Run,
}

/// Every concurrency of `opts`, Rust then Node at each, with this thread on the load core while
/// it runs (the mocks run on it). `label`s of `rust` and `node` name the sides in messages.
///
/// # Errors
/// The first run that could not be measured (see [`run`]).
pub async fn run_all(
    rust: &ServerCommand,
    node: &ServerCommand,
    opts: &LoadOptions,
    cores: Option<Cores>,
    secret: &str,
) -> Result<Vec<Comparison>, String> {
    let _pinned = cores.map(|c| PinnedThread::to(c.load));
    let mut rows = Vec::new();
    for &c in &opts.concurrency {
        eprintln!(
            "bench: load at concurrency {c}: {} s warm-up + {} s per side",
            opts.warmup_seconds, opts.seconds
        );
        let r = run(rust, c, opts, cores, secret, &format!("r{c}")).await?;
        let n = run(node, c, opts, cores, secret, &format!("n{c}")).await?;
        rows.push(Comparison {
            concurrency: c,
            rust: r,
            node: n,
        });
    }
    Ok(rows)
}

/// SCF memory settings, MB, assumed for the cost figures: 64, 128, then every 128 MB up to 3072.
/// The range 64–3072 MB is documented (CloudBase function configuration); the 128 MB step is
/// UNCONFIRMED.
pub fn memory_setting_mb(peak_rss_kb: u64) -> Option<u64> {
    let need_mb = peak_rss_kb.div_ceil(1024);
    std::iter::once(64)
        .chain((1..=24).map(|k| k * 128))
        .find(|&m| m >= need_mb)
}

/// Billed GB-s per million logins: memory setting (GB; 1 GB = 1024 MB) × billed seconds per
/// login × 10⁶. SCF: resource usage (GB-s) = configured memory × execution duration.
pub fn gb_s_per_million(memory_mb: u64, seconds_per_login: f64) -> f64 {
    memory_mb as f64 / 1024.0 * seconds_per_login * 1e6
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The markdown section for the report: setup, the side-by-side table, the cost table and the
/// targets (PASS/MISS). `rsa1024_sign_per_s` is `openssl speed rsa1024`'s sign/s (the
/// functions' key size), for the CPU target. Returns the text and whether every run was valid.
pub fn report(
    rows: &[Comparison],
    opts: &LoadOptions,
    cores: Option<Cores>,
    rsa1024_sign_per_s: Option<f64>,
) -> (String, bool) {
    let mut r = String::new();
    let wrk_version = std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            let first = text.lines().next().unwrap_or("");
            first.split(" Copyright").next().unwrap_or(first).to_owned()
        })
        .unwrap_or_default();
    let pinning = match cores {
        Some(c) => format!(
            "the server pinned to CPU {} (`taskset`), wrk and the mock WeChat on CPU {}",
            c.server, c.load
        ),
        None => "**not pinned** (fewer than two CPUs or no `taskset`): figures share cores".into(),
    };
    let busiest = rows
        .iter()
        .flat_map(|c| [c.rust.load_side_busy, c.node.load_side_busy])
        .fold(0.0, f64::max);
    r.push_str(&format!(
        "\n## Load: getLoginTicket --web against Node as an HTTP function\n\n\
         One process per side, {pinning}. Node: `scripts/bench/node/web/getLoginTicket` (Node's `http` server, \
         `fetch` to jscode2session, `@cloudbase/node-sdk` `createTicket`). Load generator: {wrk_version} \
         (`scripts/bench/wrk/login.lua`), one thread, keep-alive connections, each login with a code never used \
         before; the mock WeChat answers after {} ms. Per side and concurrency: a fresh process, {} s warm-up, \
         then {} s measured. CPU time per login: utime+stime of the server from `/proc/<pid>/stat` (10 ms ticks) \
         over the measured run, divided by the logins completed. Peak RSS: `VmHWM` after the run. The load core \
         (wrk and the mock) was at most {:.0}% busy.\n\n\
         | concurrency | side | logins/s | p50 | p99 | peak RSS | CPU per login | failed |\n\
         |---|---|---|---|---|---|---|---|\n",
        opts.wechat_delay_ms,
        opts.warmup_seconds,
        opts.seconds,
        busiest * 100.0
    ));
    let mut valid = true;
    let cpu = |run: &Run| run.cpu_per_login().map(ms).unwrap_or_else(|| "n/a".into());
    for c in rows {
        for (side, run) in [("Rust", &c.rust), ("Node", &c.node)] {
            valid &= run.errors == 0;
            let failed = if run.errors == 0 {
                "0".to_owned()
            } else {
                format!("**{} (not a valid figure)**", run.errors)
            };
            r.push_str(&format!(
                "| {} | {side} | {:.0} | {} | {} | {} | {} | {failed} |\n",
                c.concurrency,
                run.rps(),
                ms(run.latency_p50),
                ms(run.latency_p99),
                mb(run.peak_rss_kb),
                cpu(run),
            ));
        }
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        r.push_str(&format!(
            "| {} | Rust/Node | {} | {} | {} | {} | {} | |\n",
            c.concurrency,
            ratio(c.rust.rps(), c.node.rps()),
            ratio(
                c.rust.latency_p50.as_secs_f64(),
                c.node.latency_p50.as_secs_f64()
            ),
            ratio(
                c.rust.latency_p99.as_secs_f64(),
                c.node.latency_p99.as_secs_f64()
            ),
            ratio(c.rust.peak_rss_kb as f64, c.node.peak_rss_kb as f64),
            ratio(secs(c.rust.cpu_per_login()), secs(c.node.cpu_per_login())),
        ));
    }
    let delay_s = opts.wechat_delay_ms.max(1) as f64 / 1000.0;
    r.push_str(&format!(
        "\nThe load is closed-loop: each connection sends its next login when the last one is answered, so \
         logins/s at concurrency c can never pass c / {} ms ({:.0}/s at 64), however fast the server.\n",
        opts.wechat_delay_ms,
        64.0 / delay_s
    ));

    r.push_str(&cost_section(rows));
    r.push_str(&targets(rows, opts, rsa1024_sign_per_s));
    (r, valid)
}

fn cost_section(rows: &[Comparison]) -> String {
    let at = |c: usize| rows.iter().find(|r| r.concurrency == c);
    let mut r = String::from(
        "\n### Billed GB-s per million logins\n\n\
         SCF bills resource usage in GB-s = configured memory (GB) × execution duration (s), per invocation, \
         at 1 ms granularity, for event functions; HTTP-triggered functions are billed on the same items \
         (Tencent Cloud SCF, *Billing Mode* https://www.tencentcloud.com/document/product/583/12284, \
         *Billable Items* https://www.tencentcloud.com/document/product/583/44254, *billing by actual \
         execution duration* https://www.tencentcloud.com/document/product/583/12285). An HTTP function serves \
         one request per instance unless *multiple concurrent requests* is turned on \
         (https://www.tencentcloud.com/document/product/583/47183); how the execution duration of an instance \
         that serves several requests at once is billed is **UNCONFIRMED** (no SCF page found states it), so \
         both readings are given. Memory: the smallest setting (64 MB, then 128 MB steps: step UNCONFIRMED) that \
         holds the measured peak RSS, with no headroom (which favours Node).\n\n\
         | billing | billed per login | Rust | Node | Rust/Node |\n|---|---|---|---|---|\n",
    );
    let mut row = |what: &str, how: &str, c: usize, secs: &dyn Fn(&Run) -> f64| {
        let Some(cmp) = at(c) else {
            r.push_str(&format!(
                "| {what} | {how} | n/a (no run at concurrency {c}) | | |\n"
            ));
            return;
        };
        let cell = |run: &Run| match memory_setting_mb(run.peak_rss_kb) {
            Some(m) => {
                let v = gb_s_per_million(m, secs(run));
                (format!("{v:.0} GB-s ({m} MB × {})", ms_f(secs(run))), v)
            }
            None => ("n/a (over 3072 MB)".into(), 0.0),
        };
        let (a, av) = cell(&cmp.rust);
        let (b, bv) = cell(&cmp.node);
        r.push_str(&format!(
            "| {what} | {how} | {a} | {b} | {} |\n",
            ratio(av, bv)
        ));
    };
    row(
        "event function, or HTTP function with one request per instance (the default)",
        "memory × mean latency at concurrency 1",
        1,
        &|run| run.latency_mean.as_secs_f64(),
    );
    row(
        "HTTP function, 64 requests per instance, each request's duration billed (UNCONFIRMED)",
        "memory × mean latency at concurrency 64",
        64,
        &|run| run.latency_mean.as_secs_f64(),
    );
    row(
        "HTTP function, 64 requests per instance, the instance's busy time billed (UNCONFIRMED)",
        "memory ÷ logins/s at concurrency 64",
        64,
        &|run| {
            let rps = run.rps();
            if rps > 0.0 { 1.0 / rps } else { 0.0 }
        },
    );
    r.push_str(
        "\nThe latencies are measured at the client (wrk) on 127.0.0.1, so they include the 20 ms WeChat wait, \
         which SCF bills too. Invocation fees (per request, the same for both sides) are not included.\n",
    );
    r
}

fn ms_f(seconds: f64) -> String {
    ms(Duration::from_secs_f64(seconds.max(0.0)))
}

fn targets(rows: &[Comparison], opts: &LoadOptions, rsa1024_sign_per_s: Option<f64>) -> String {
    let mut r = String::from("\n### Load targets\n\n");
    let mut line = |ok: Option<bool>, text: String| {
        let mark = match ok {
            Some(true) => "PASS:",
            Some(false) => "**MISS:**",
            None => "not measured:",
        };
        r.push_str(&format!("- {mark} {text}\n"));
    };
    let Some(c64) = rows.iter().find(|c| c.concurrency == 64) else {
        line(
            None,
            "the concurrency-64 targets (no run at concurrency 64)".into(),
        );
        return r;
    };
    let (rust, node) = (&c64.rust, &c64.node);
    let bound = 64.0 / (opts.wechat_delay_ms.max(1) as f64 / 1000.0);
    let reachable = if 5.0 * node.rps() > bound {
        format!(
            "; the closed loop caps either side at {bound:.0}/s, so 5× Node's {:.0}/s cannot be reached in this setup",
            node.rps()
        )
    } else {
        format!("; the closed loop caps either side at {bound:.0}/s")
    };
    line(
        Some(rust.rps() >= 5.0 * node.rps()),
        format!(
            "at concurrency 64, at least 5× Node's logins/s: {:.0}/s vs {:.0}/s ({}{reachable})",
            rust.rps(),
            node.rps(),
            ratio(rust.rps(), node.rps())
        ),
    );
    line(
        Some(rust.peak_rss_kb * 10 <= node.peak_rss_kb),
        format!(
            "at concurrency 64, at most 1/10 of Node's memory: {} vs {} ({})",
            mb(rust.peak_rss_kb),
            mb(node.peak_rss_kb),
            ratio(rust.peak_rss_kb as f64, node.peak_rss_kb as f64)
        ),
    );
    match (rust.cpu_per_login(), rsa1024_sign_per_s) {
        (Some(cpu), Some(sign)) if sign > 0.0 => {
            let one_sign = Duration::from_secs_f64(1.0 / sign);
            let sys = rust.cpu_sys.div_f64(rust.requests.max(1) as f64);
            line(
                Some(cpu <= one_sign * 2),
                format!(
                    "CPU time per login at concurrency 64 at most 2× one RSA-1024 signature (openssl speed: {}): {} ({:.2}×), of which {} in the kernel",
                    ms(one_sign),
                    ms(cpu),
                    cpu.as_secs_f64() / one_sign.as_secs_f64(),
                    ms(sys)
                ),
            );
        }
        _ => line(
            None,
            "CPU time per login against one RSA signature (no openssl speed figure)".into(),
        ),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_result_line() {
        let out = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 4 connections\n\
                   BENCH_RESULT {\"requests\":120,\"duration_us\":1000000,\"bad_answers\":2,\"connect_errors\":0,\
                   \"read_errors\":1,\"write_errors\":0,\"status_errors\":2,\"timeouts\":3,\"latency_mean_us\":20500.5,\
                   \"latency_p50_us\":20400,\"latency_p99_us\":23000,\"latency_max_us\":30000}\n";
        let w = parse_wrk(out).unwrap();
        assert_eq!(
            w,
            WrkResult {
                requests: 120,
                duration_us: 1_000_000,
                // bad answers already include the non-2xx (status_errors); socket errors and
                // timeouts are added.
                errors: 6,
                mean_us: 20500.5,
                p50_us: 20400,
                p99_us: 23000,
            }
        );
        assert!(parse_wrk("Running 1s test\n").is_err());
        assert!(parse_wrk("BENCH_RESULT {\"requests\":1}").is_err());
    }

    #[test]
    fn memory_settings_and_cost() {
        assert_eq!(memory_setting_mb(5 * 1024), Some(64));
        assert_eq!(memory_setting_mb(64 * 1024), Some(64));
        assert_eq!(memory_setting_mb(64 * 1024 + 1), Some(128));
        assert_eq!(memory_setting_mb(130 * 1024), Some(256));
        assert_eq!(memory_setting_mb(300 * 1024), Some(384));
        assert_eq!(memory_setting_mb(4000 * 1024), None);
        // 128 MB for 37 ms, a million times: 4,625 GB-s (SCF's own example, doc 583/12285).
        assert!((gb_s_per_million(128, 0.037) - 4625.0).abs() < 1e-6);
    }

    #[test]
    fn run_rates_and_this_process_cpu() {
        let run = Run {
            requests: 500,
            duration: Duration::from_secs(2),
            cpu: Duration::from_millis(100),
            ..Run::default()
        };
        assert_eq!(run.rps(), 250.0);
        assert_eq!(run.cpu_per_login(), Some(Duration::from_micros(200)));
        assert_eq!(Run::default().cpu_per_login(), None);
        assert_eq!(Run::default().rps(), 0.0);
        assert!(proc_cpu(std::process::id()).is_some());
        assert!(proc_cpu(u32::MAX).is_none());
    }
}
