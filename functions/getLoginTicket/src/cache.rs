//! A per-instance cache of what happened to a `wx.login` code, keyed by the code's SHA-256.
//!
//! Generic on purpose: it knows codes, time and room, not what a login returns or when a result
//! may be handed out again. Those rules are the replay policy, all of it in `replay.rs` (which
//! results are kept, which one goes first when the cache is full, who gets a cached ticket).
//!
//! Entries live [`TTL`] (a code's own lifetime); at most [`CAPACITY`] are held. When full,
//! expired entries go first, then the oldest entry not marked `keep`, then the oldest. Codes
//! are not stored, only their hashes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an entry is answered: a code's lifetime (5 minutes).
pub const TTL: Duration = Duration::from_secs(5 * 60);
/// The most entries held.
pub const CAPACITY: usize = 1024;

/// The key a code is kept under: its SHA-256 (the code itself is never stored).
pub fn code_key(code: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

#[derive(Debug)]
struct Entry<V> {
    at: Instant,
    keep: bool,
    value: V,
}

/// Values of type `V` by code, for [`TTL`], at most [`CAPACITY`]. Not `Sync`: the functions run
/// on one thread (event mode serves one invocation at a time; web mode serves requests
/// concurrently as tasks on that thread).
#[derive(Debug)]
pub struct CodeCache<V> {
    entries: HashMap<[u8; 32], Entry<V>>,
}

impl<V> Default for CodeCache<V> {
    fn default() -> Self {
        CodeCache {
            entries: HashMap::new(),
        }
    }
}

impl<V: Clone> CodeCache<V> {
    /// The value recorded for `code`, if younger than [`TTL`] at `now` (an expired one is
    /// dropped).
    pub fn get(&mut self, code: &str, now: Instant) -> Option<V> {
        let key = code_key(code);
        match self.entries.get(&key) {
            Some(e) if now.saturating_duration_since(e.at) < TTL => Some(e.value.clone()),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Record `value` for `code` at `now`. `keep` marks what should outlast the others when the
    /// cache is full: expired entries go first, then the oldest entry without `keep`, then the
    /// oldest.
    pub fn insert(&mut self, code: &str, value: V, keep: bool, now: Instant) {
        if self.entries.len() >= CAPACITY {
            self.entries
                .retain(|_, e| now.saturating_duration_since(e.at) < TTL);
        }
        if self.entries.len() >= CAPACITY
            && let Some(victim) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| (e.keep, e.at))
                .map(|(k, _)| *k)
        {
            self.entries.remove(&victim);
        }
        self.entries.insert(
            code_key(code),
            Entry {
                at: now,
                keep,
                value,
            },
        );
    }

    /// Number of entries (expired ones included until evicted).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_within_ttl_only() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        c.insert("code-a", "first", false, t0);
        assert_eq!(
            c.get("code-a", t0 + Duration::from_secs(299)),
            Some("first")
        );
        assert_eq!(c.get("code-b", t0), None);
        assert_eq!(c.get("code-a", t0 + TTL), None);
        assert!(c.is_empty());
    }

    #[test]
    fn bounded_oldest_first() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        for i in 0..CAPACITY + 10 {
            c.insert(
                &format!("code-{i}"),
                i,
                true,
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(c.len(), CAPACITY);
        assert_eq!(c.get("code-0", t0), None, "the oldest went first");
        assert!(c.get(&format!("code-{}", CAPACITY + 9), t0).is_some());
    }

    /// Entries without `keep` go before any kept one, whatever their age: before, the oldest
    /// went whatever it held, and a flood of 1,024 junk codes pushed a pending ticket out.
    #[test]
    fn entries_without_keep_go_first() {
        let mut c = CodeCache::default();
        let t0 = Instant::now();
        c.insert("real-user", "ticket", true, t0);
        for i in 0..3 * CAPACITY {
            c.insert(
                &format!("junk-{i}"),
                "40029",
                false,
                t0 + Duration::from_millis(1 + i as u64),
            );
        }
        assert_eq!(c.len(), CAPACITY);
        assert_eq!(
            c.get("real-user", t0 + Duration::from_secs(10)),
            Some("ticket")
        );
    }
}
