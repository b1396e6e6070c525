//! Child processes the dev tools start: their logs, and how they are asked to stop.
//!
//! The emulator's [`crate::emulator::Runner`] and the tests' [`crate::testkit::WebProcess`] both
//! start a real function binary and need the same two things, so they live here once: every line
//! the child writes on stdout and stderr, kept in order of arrival (and echoed when asked), and
//! SIGTERM, which is how SCF asks an instance to stop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

/// Every line a child wrote on stdout and stderr, as it arrives.
///
/// One buffer for both pipes, because that is how a reader of SCF's logs sees them: one stream,
/// in order of arrival. The pumps run until the pipes close (the child and anything it left
/// running have exited).
#[derive(Debug)]
pub struct ChildLogs {
    text: Arc<Mutex<String>>,
    pumps: Vec<JoinHandle<()>>,
}

impl ChildLogs {
    /// Take `child`'s piped stdout and stderr (a pipe that was not piped is skipped) and copy
    /// their lines into the buffer; with `echo`, to our stderr as well, as they come.
    pub fn capture(child: &mut Child, echo: bool) -> ChildLogs {
        let text = Arc::new(Mutex::new(String::new()));
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(pump(out, text.clone(), echo));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(pump(err, text.clone(), echo));
        }
        ChildLogs { text, pumps }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Read the pipes to their end, waiting at most `limit` for each (a grandchild may hold a
    /// pipe open), and return everything logged.
    pub async fn drain(&mut self, limit: Duration) -> String {
        for p in self.pumps.drain(..) {
            let _ = tokio::time::timeout(limit, p).await;
        }
        self.text()
    }
}

fn pump<R: AsyncRead + Unpin + Send + 'static>(
    r: R,
    text: Arc<Mutex<String>>,
    echo: bool,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("{line}");
            }
            let mut t = text.lock().unwrap();
            t.push_str(&line);
            t.push('\n');
        }
    })
}

/// Send SIGTERM to `pid`, as SCF does to stop an instance. A pid of 0 (unknown) is ignored:
/// kill(2) would signal our whole process group.
pub fn sigterm(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 0 {
        // SAFETY: kill(2) with a positive pid and a valid signal number; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}
