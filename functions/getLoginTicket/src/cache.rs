//! Per-instance cache of getLoginTicket results, keyed by the SHA-256 of the code.
//!
//! A `wx.login` code is single-use: a second jscode2session call costs quota and answers 40163.
//! When a client retries the same code (network hiccup, double tap), the cache answers with the
//! first result instead: the same ticket, or the same error. Each entry keeps the first request's
//! idempotency key (hashed), so that `Login::login` gives a cached ticket only to a retry of the
//! same attempt (see `request.rs`). Only *final* results are kept: a
//! success, or a WeChat errcode other than -1 (busy) and 45011 (quota), which may succeed later.
//! Entries live 5 minutes (a code's own lifetime; tickets live 10); the cache holds at most
//! [`CodeCache::CAPACITY`] entries. When it is full, an error goes before any ticket: anybody can
//! send junk codes (each a cached 40029), but a ticket takes a real `wx.login`, so a flood of junk
//! cannot push a real user's pending retry out (about 1,100 junk codes did). Codes are not stored, only their hashes; no session_key is
//! stored. The tickets are held in memory only and never logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use scf_runtime::FnError;

use crate::request::IdempotencyKey;
use crate::result::LoginResult;

/// The first result for a code.
pub type Outcome = Result<LoginResult, FnError>;

/// A code's first result, and the idempotency key of the request that got it.
#[derive(Debug, Clone, PartialEq)]
pub struct First {
    /// The result.
    pub outcome: Outcome,
    /// The first request's key; `None` when it sent none.
    pub key: Option<IdempotencyKey>,
}

/// Whether an outcome may be replayed for the same code.
pub fn is_final(outcome: &Outcome) -> bool {
    match outcome {
        Ok(_) => true,
        Err(e) => e.error == wxlogin::WX_API_ERROR && !matches!(e.errcode, Some(-1) | Some(45011)),
    }
}

/// The cache. Not `Sync`: the functions run on one thread (event mode serves one invocation at
/// a time; web mode serves requests concurrently as tasks on that thread).
#[derive(Debug, Default)]
pub struct CodeCache {
    entries: HashMap<[u8; 32], (Instant, First)>,
}

impl CodeCache {
    /// How long an outcome is replayed: a code's lifetime.
    pub const TTL: Duration = Duration::from_secs(5 * 60);
    /// Maximum number of entries.
    pub const CAPACITY: usize = 1024;

    /// The key a code is kept under: its SHA-256.
    pub fn key(code: &str) -> [u8; 32] {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code.as_bytes());
        let mut k = [0u8; 32];
        k.copy_from_slice(d.as_ref());
        k
    }

    /// The first result recorded for `code`, if younger than [`Self::TTL`] at `now`.
    pub fn get(&mut self, code: &str, now: Instant) -> Option<First> {
        let key = Self::key(code);
        match self.entries.get(&key) {
            Some((at, first)) if now.saturating_duration_since(*at) < Self::TTL => {
                Some(first.clone())
            }
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Record a first result. When full: expired entries go first; then the oldest error; a
    /// ticket only when every entry is one (the oldest ticket, then).
    pub fn insert(&mut self, code: &str, first: First, now: Instant) {
        if self.entries.len() >= Self::CAPACITY {
            self.entries
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < Self::TTL);
        }
        if self.entries.len() >= Self::CAPACITY
            && let Some(victim) = self
                .entries
                .iter()
                .min_by_key(|(_, (at, f))| (f.outcome.is_ok(), *at))
                .map(|(k, _)| *k)
        {
            self.entries.remove(&victim);
        }
        self.entries.insert(Self::key(code), (now, first));
    }

    /// Number of entries (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(openid: &str) -> First {
        First {
            outcome: Ok(LoginResult {
                ticket: "k/@@/t".into(),
                openid: openid.into(),
                unionid: None,
            }),
            key: None,
        }
    }

    #[test]
    fn replays_within_ttl_only() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        c.insert("code-a", ok("o1"), t0);
        assert_eq!(
            c.get("code-a", t0 + Duration::from_secs(299)),
            Some(ok("o1"))
        );
        assert_eq!(c.get("code-b", t0), None);
        assert_eq!(c.get("code-a", t0 + CodeCache::TTL), None);
        assert!(c.is_empty());
    }

    #[test]
    fn bounded() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        for i in 0..CodeCache::CAPACITY + 10 {
            c.insert(
                &format!("code-{i}"),
                ok("o"),
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(c.len(), CodeCache::CAPACITY);
        assert_eq!(c.get("code-0", t0), None, "the oldest went first");
        assert!(
            c.get(&format!("code-{}", CodeCache::CAPACITY + 9), t0)
                .is_some()
        );
    }

    /// A flood of junk codes (each a cached 40029) does not push out a pending ticket: errors go
    /// first. Before, the oldest entry went whatever it held, and the ticket was gone after 1,024.
    #[test]
    fn junk_codes_do_not_evict_a_ticket() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        c.insert("real-user", ok("o-real"), t0);
        let junk = First {
            outcome: Err(FnError::new("WX_API_ERROR", 401, "x").with_wechat(40029, "m")),
            key: None,
        };
        for i in 0..3 * CodeCache::CAPACITY {
            c.insert(
                &format!("junk-{i}"),
                junk.clone(),
                t0 + Duration::from_millis(1 + i as u64),
            );
        }
        assert_eq!(c.len(), CodeCache::CAPACITY);
        assert_eq!(
            c.get("real-user", t0 + Duration::from_secs(10)),
            Some(ok("o-real"))
        );
    }

    #[test]
    fn only_final_outcomes() {
        let api = |code| Err(FnError::new("WX_API_ERROR", 401, "x").with_wechat(code, "m"));
        assert!(is_final(&ok("o").outcome));
        assert!(is_final(&api(40029)));
        assert!(!is_final(&api(-1)));
        assert!(!is_final(&api(45011)));
        assert!(!is_final(&Err(FnError::new(
            "WX_API_UNREACHABLE",
            502,
            "x"
        ))));
    }
}
