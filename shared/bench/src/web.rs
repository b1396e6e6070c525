//! Web mode: getLoginTicket `--web` as an HTTP function (spawn → first 200, warm keep-alive
//! latency), and the two HTTP servers the load section runs.

use serde_json::json;
use std::time::{Duration, Instant};

use crate::load::ServerCommand;
use crate::setup::Setup;
use scf_emulator::measure::proc_status_kb;

/// A keep-alive HTTP/1.1 connection to a web-mode process (what a gateway in front of an HTTP
/// function would hold open).
pub(super) struct KeepAlive {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl KeepAlive {
    async fn connect(port: u16) -> std::io::Result<Self> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(KeepAlive {
            stream: tokio::io::BufReader::new(stream),
        })
    }

    /// POST `body` to `/`; the status and the body.
    async fn post(&mut self, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Scf-Timeout: 3000\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut status = 0;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if status == 0 {
                status = l
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

pub(super) fn spawn_web(s: &Setup, port: u16) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(s.args.rust_dir.join("getLoginTicket"))
        .arg("--web")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .envs(s.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

pub(super) async fn stop_web(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        scf_emulator::process::sigterm(pid);
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// Web mode (getLoginTicket --web): spawn → first HTTP 200, and warm keep-alive latency.
pub(super) async fn web_mode(s: &Setup) -> Result<(Vec<Duration>, Vec<Duration>, u64), String> {
    let mut cold = Vec::new();
    for i in 0..s.cold {
        let port = free_port();
        let body = json!({ "code": format!("benchwebcold{i}.1") }).to_string();
        let spawned = Instant::now();
        let child = spawn_web(s, port).map_err(|e| format!("getLoginTicket --web: {e}"))?;
        let mut conn = loop {
            match KeepAlive::connect(port).await {
                Ok(c) => break c,
                Err(_) if spawned.elapsed() < Duration::from_secs(10) => {
                    tokio::task::yield_now().await
                }
                Err(e) => return Err(format!("getLoginTicket --web never listened: {e}")),
            }
        };
        let (status, b) = conn.post(&body).await.map_err(|e| format!("web: {e}"))?;
        cold.push(spawned.elapsed());
        if status != 200 {
            return Err(format!(
                "web cold start: HTTP {status}: {}",
                String::from_utf8_lossy(&b)
            ));
        }
        stop_web(child).await;
    }
    let port = free_port();
    let child = spawn_web(s, port).map_err(|e| format!("getLoginTicket --web: {e}"))?;
    let started = Instant::now();
    let mut conn = loop {
        match KeepAlive::connect(port).await {
            Ok(c) => break c,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(1)).await
            }
            Err(e) => return Err(format!("getLoginTicket --web never listened: {e}")),
        }
    };
    let mut warm = Vec::with_capacity(s.warm);
    for i in 0..s.warm {
        let body = json!({ "code": format!("benchwebwarm{i}.1") }).to_string();
        let t = Instant::now();
        let (status, b) = conn.post(&body).await.map_err(|e| format!("web: {e}"))?;
        warm.push(t.elapsed());
        if status != 200 {
            return Err(format!(
                "web warm: HTTP {status}: {}",
                String::from_utf8_lossy(&b)
            ));
        }
    }
    let rss = child
        .id()
        .and_then(|pid| proc_status_kb(pid, "VmHWM"))
        .unwrap_or(0);
    stop_web(child).await;
    Ok((cold, warm, rss))
}

/// The two servers of the load section: our web mode and the Node HTTP function, with the
/// functions' settings (the load section gives each run its own mock WeChat and port).
pub(super) fn load_servers(s: &Setup) -> [ServerCommand; 2] {
    [
        ServerCommand {
            label: "Rust",
            program: s.args.rust_dir.join("getLoginTicket"),
            args: vec!["--web".into()],
            env: s.env.clone(),
        },
        ServerCommand {
            label: "Node",
            program: "node".into(),
            args: vec![
                s.args
                    .node_dir
                    .join("web/getLoginTicket/index.js")
                    .display()
                    .to_string(),
            ],
            env: s.env.clone(),
        },
    ]
}
