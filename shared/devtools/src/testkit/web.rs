//! A function binary in web mode (`--web`), as CloudBase HTTP functions run it: started on a
//! free loopback port, optionally with the 1,024 descriptors of an SCF instance, driven over HTTP,
//! and stopped with SIGTERM.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use scf_emulator::process::{ChildLogs, sigterm};

/// A function binary started in web mode (`--web`) on a free loopback port.
pub struct WebProcess {
    /// The port it serves.
    pub port: u16,
    child: tokio::process::Child,
    logs: ChildLogs,
}

impl WebProcess {
    /// Start `bin --web` with `PORT` set to a free port and `env`, and wait until it accepts
    /// connections (at most 10 s).
    pub async fn start(bin: &Path, env: &[(String, String)]) -> WebProcess {
        Self::start_with_nofile(bin, env, None).await
    }

    /// As [`WebProcess::start`]; with `Some(n)`, the child's `RLIMIT_NOFILE` is `n`, soft and hard
    /// (set with setrlimit(2) between fork and exec), like the 1,024 descriptors of an SCF instance.
    pub async fn start_with_nofile(
        bin: &Path,
        env: &[(String, String)],
        nofile: Option<u64>,
    ) -> WebProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut command = tokio::process::Command::new(bin);
        command
            .arg("--web")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(n) = nofile {
            // SAFETY: the closure runs in the forked child before exec and only calls
            // setrlimit(2), which is async-signal-safe; it allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().expect("spawn");
        let logs = ChildLogs::capture(&mut child, false);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} --web exited: {status}\n{}", bin.display(), logs.text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} --web is not listening on {port}",
                bin.display()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        WebProcess { port, child, logs }
    }

    /// One HTTP/1.1 request (`Connection: close`): `(status, headers lower-cased, body)`.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, BTreeMap<String, String>, Vec<u8>) {
        web_request(self.port, method, path, headers, body).await
    }

    /// The server's process id (`None` once it has been waited for).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        self.logs.text()
    }

    /// SIGTERM; wait for the exit (at most 10 s). Returns the exit status text and every log line.
    pub async fn stop(mut self) -> (String, String) {
        if let Some(pid) = self.child.id() {
            sigterm(pid);
        }
        let status = match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(s)) => s.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => {
                let _ = self.child.start_kill();
                "did not exit within 10 s of SIGTERM".into()
            }
        };
        let logs = self.logs.drain(Duration::from_secs(2)).await;
        (status, logs)
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`): `(status, headers
/// lower-cased, body)`. Panics when there is no answer.
///
/// Written on a raw socket, not with [`scf_emulator::http::request`], because web mode's tests send
/// bodies the server refuses before reading them (over 6 MB: 413 at once). The server answers and
/// closes; our write then fails, and hyper's client reports that write error and drops the answer
/// that had already arrived. Here a write error is not fatal: the answer is read after it.
pub async fn web_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, BTreeMap<String, String>, Vec<u8>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

/// Raise this process's soft `RLIMIT_NOFILE` to its hard limit (a test that holds more than the
/// usual 1,024 sockets needs it). Returns the new soft limit.
pub fn raise_own_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}
