//! The leak check. Every hardening section runs with unique values for each secret a function
//! handles ([`Sentinels`]), records every response and log line ([`Transcript`]), and asserts that
//! no secret appears anywhere and no ticket appears in a log line.
//!
//! Unique random values, not fixed strings, so a match can only come from this run's secret; and
//! the check is tested to fail (below), because a leak check that cannot fail proves nothing.

use serde_json::Value;

use crate::mock_wechat::{ACCESS_TOKEN_MARKER, MOCK_PHONE};
use scf_emulator::emulator::Outcome;

/// The base64 body lines (16 characters or more) of the `private_key` PEM in a key file's JSON;
/// empty when the text is not such a file.
pub fn pem_body_lines(key_json: &str) -> Vec<String> {
    serde_json::from_str::<Value>(key_json)
        .ok()
        .and_then(|v| v["private_key"].as_str().map(str::to_owned))
        .map(|pem| {
            pem.lines()
                .filter(|l| !l.starts_with("-----") && !l.contains(':') && l.trim().len() >= 16)
                .map(|l| l.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Unique values for every secret a function handles, so a test can prove none leaks.
#[derive(Debug, Clone)]
pub struct Sentinels {
    /// The AppSecret (`WX_SECRET`).
    pub app_secret: String,
    /// Prefix of every session_key the mock returns.
    pub session_key: String,
    /// `WX_API_TOKEN`, sent in the `environ` header.
    pub wx_api_token: String,
}

impl Default for Sentinels {
    fn default() -> Self {
        Self::new()
    }
}

impl Sentinels {
    /// Fresh random sentinels.
    pub fn new() -> Self {
        let r = rand::random::<u64>();
        Sentinels {
            app_secret: format!("SentinelAppSecret{r:016x}"),
            session_key: format!("SentinelSessionKey{r:016x}"),
            wx_api_token: format!("SentinelWxApiToken{r:016x}"),
        }
    }

    /// An `environ` header value vouching for `openid` under `appid`, carrying `WX_API_TOKEN`.
    pub fn environ(&self, openid: &str, appid: &str) -> String {
        format!(
            "WX_OPENID={openid};WX_APPID={appid};WX_API_TOKEN={};WX_CONTEXT_KEYS=WX_OPENID,WX_APPID,WX_API_TOKEN",
            self.wx_api_token
        )
    }
}

/// Everything a set of invocations produced that a leak could hide in: every response and error
/// body, and every log line, each with a label saying where it came from.
#[derive(Debug, Default)]
pub struct Transcript {
    /// `(where, text)` of each response or error body.
    pub responses: Vec<(String, String)>,
    /// `(where, text)` of each process's stdout and stderr.
    pub logs: Vec<(String, String)>,
    /// Private-key PEM lines that must never appear anywhere.
    pub pem_lines: Vec<String>,
}

impl Transcript {
    /// Record an outcome's body.
    pub fn outcome(&mut self, label: impl Into<String>, o: &Outcome) {
        let text = match o {
            Outcome::Response(b) | Outcome::Error(b) => String::from_utf8_lossy(b).into_owned(),
            Outcome::Timeout => "<timeout>".into(),
            Outcome::Crashed(s) => format!("<crashed: {s}>"),
        };
        self.responses.push((label.into(), text));
    }

    /// Record a process's logs.
    pub fn logs(&mut self, label: impl Into<String>, logs: String) {
        self.logs.push((label.into(), logs));
    }

    /// Append another transcript.
    pub fn extend(&mut self, other: Transcript) {
        self.responses.extend(other.responses);
        self.logs.extend(other.logs);
        self.pem_lines.extend(other.pem_lines);
    }

    /// Every ticket's signature part found in the responses (`.../@@/<jwt>`).
    pub fn ticket_signatures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, text) in &self.responses {
            for part in text.split("/@@/").skip(1) {
                let jwt: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if let Some(sig) = jwt.rsplit('.').next().filter(|s| s.len() >= 16) {
                    out.push(sig.to_owned());
                }
            }
        }
        out
    }

    /// Panic naming the place if any sentinel (or the emulator's fake `TENCENTCLOUD_SECRETKEY` /
    /// `TENCENTCLOUD_SESSIONTOKEN`, or a mock access_token, [`ACCESS_TOKEN_MARKER`]) appears in
    /// any response or log line, or any ticket or the mock's phone number ([`MOCK_PHONE`]; both
    /// may be in a response) appears in a log line.
    pub fn assert_no_leak(&self, s: &Sentinels) {
        let mut needles: Vec<(&str, &str)> = vec![
            ("the AppSecret", &s.app_secret),
            ("a session_key", &s.session_key),
            ("WX_API_TOKEN", &s.wx_api_token),
            ("an access_token", ACCESS_TOKEN_MARKER),
            // The emulator's fake role credentials: every bootstrap has them in its environment.
            (
                "TENCENTCLOUD_SECRETKEY",
                scf_emulator::emulator::FAKE_SECRET_KEY,
            ),
            (
                "TENCENTCLOUD_SESSIONTOKEN",
                scf_emulator::emulator::FAKE_SESSION_TOKEN,
            ),
        ];
        for l in &self.pem_lines {
            needles.push(("the private key", l));
        }
        for (label, text) in self.responses.iter().chain(&self.logs) {
            for (what, needle) in &needles {
                assert!(!text.contains(needle), "{what} leaked in {label}:\n{text}");
            }
        }
        let tickets = self.ticket_signatures();
        for (label, text) in &self.logs {
            assert!(
                !text.contains(MOCK_PHONE),
                "a phone number leaked in {label}:\n{text}"
            );
            for t in &tickets {
                assert!(
                    !text.contains(t.as_str()),
                    "a ticket leaked in {label}:\n{text}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leak_check_covers_the_fake_role_credentials() {
        let s = Sentinels::new();
        for planted in [
            scf_emulator::emulator::FAKE_SECRET_KEY,
            scf_emulator::emulator::FAKE_SESSION_TOKEN,
        ] {
            let mut t = Transcript::default();
            t.logs("log", format!("DEBUG env {planted}"));
            assert!(
                std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err(),
                "{planted} not caught in a log"
            );
            let mut t = Transcript::default();
            t.outcome("r", &Outcome::Response(planted.as_bytes().to_vec()));
            assert!(
                std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err(),
                "{planted} not caught in a response"
            );
        }
        // A mock access_token anywhere, a phone number in a log line.
        let mut t = Transcript::default();
        t.outcome(
            "r",
            &Outcome::Response(format!("{ACCESS_TOKEN_MARKER}-1").into_bytes()),
        );
        assert!(std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err());
        let mut t = Transcript::default();
        t.outcome("r", &Outcome::Response(MOCK_PHONE.as_bytes().to_vec()));
        t.assert_no_leak(&s);
        t.logs("log", format!("INFO phone={MOCK_PHONE}"));
        assert!(std::panic::catch_unwind(|| t.assert_no_leak(&s)).is_err());
        // The secret id is not a secret.
        let mut t = Transcript::default();
        t.logs("log", scf_emulator::emulator::FAKE_SECRET_ID.into());
        t.assert_no_leak(&s);
    }
}
