//! Counts of outcomes: per outcome, per error code, per key id of the key ring, and a latency
//! histogram. Lock-free on the hot path except the per-key map's read lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::error::ErrorCode;

/// Histogram bucket upper bounds, in microseconds (Prometheus `le`, converted to seconds).
pub(crate) const BUCKETS_US: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// Distinct key ids counted one by one; past this (a ring rotated many times over), into `OTHER_KEYS`.
const MAX_KEYS: usize = 1000;
/// The bucket for key ids past `MAX_KEYS`.
pub(crate) const OTHER_KEYS: &str = "(other)";

#[derive(Debug, Default)]
pub(crate) struct KeyCounts {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) aborted: AtomicU64,
    by_code: Vec<AtomicU64>,
    keys: RwLock<HashMap<Arc<str>, KeyCounts>>,
    /// Cumulative-free counts per bucket; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            by_code: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            keys: RwLock::default(),
            buckets: Default::default(),
            sum_us: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// Counts a verdict. `key`: the id of a key of the ring (never a client's unknown id).
    pub(crate) fn verdict(&self, code: Option<ErrorCode>, key: Option<&Arc<str>>, elapsed: Duration) {
        match code {
            None => self.accepted.fetch_add(1, Ordering::Relaxed),
            Some(c) => {
                if let Some(i) = ErrorCode::ALL.iter().position(|x| *x == c) {
                    self.by_code[i].fetch_add(1, Ordering::Relaxed);
                }
                self.rejected.fetch_add(1, Ordering::Relaxed)
            }
        };
        if let Some(id) = key {
            self.per_key(id, |k| if code.is_none() { &k.accepted } else { &k.rejected });
        }
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(BUCKETS_US.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn per_key(&self, id: &Arc<str>, which: impl Fn(&KeyCounts) -> &AtomicU64) {
        if let Some(k) = self.keys.read().get(id) {
            which(k).fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut keys = self.keys.write();
        let name = if keys.len() < MAX_KEYS || keys.contains_key(id) { Arc::clone(id) } else { Arc::from(OTHER_KEYS) };
        which(keys.entry(name).or_default()).fetch_add(1, Ordering::Relaxed);
    }

    /// Rejections per code, codes never seen left out.
    pub(crate) fn codes(&self) -> Vec<(ErrorCode, u64)> {
        ErrorCode::ALL.iter().zip(&self.by_code).map(|(c, n)| (*c, n.load(Ordering::Relaxed))).filter(|(_, n)| *n > 0).collect()
    }

    /// `(key id, accepted, rejected)`, sorted by key id.
    pub(crate) fn keys(&self) -> Vec<(Arc<str>, u64, u64)> {
        let mut out: Vec<_> = self
            .keys
            .read()
            .iter()
            .map(|(id, k)| (Arc::clone(id), k.accepted.load(Ordering::Relaxed), k.rejected.load(Ordering::Relaxed)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Cumulative counts per finite bucket, then the total count and the sum in microseconds.
    pub(crate) fn histogram(&self) -> (Vec<(u64, u64)>, u64, u64) {
        let mut running = 0;
        let mut out = Vec::with_capacity(BUCKETS_US.len());
        for (bound, n) in BUCKETS_US.iter().zip(&self.buckets) {
            running += n.load(Ordering::Relaxed);
            out.push((*bound, running));
        }
        let total = running + self.buckets[BUCKETS_US.len()].load(Ordering::Relaxed);
        (out, total, self.sum_us.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_code_key_and_bucket() {
        let c = Counters::default();
        let k1: Arc<str> = Arc::from("k1");
        c.verdict(None, Some(&k1), Duration::from_micros(40));
        c.verdict(Some(ErrorCode::Replay), Some(&k1), Duration::from_micros(700));
        c.verdict(Some(ErrorCode::UnknownKey), None, Duration::from_secs(60));
        assert_eq!(c.codes(), [(ErrorCode::UnknownKey, 1), (ErrorCode::Replay, 1)]);
        assert_eq!(c.keys(), [(k1, 1, 1)]);
        let (buckets, total, sum) = c.histogram();
        assert_eq!(buckets[0], (50, 1));
        assert_eq!(buckets[4], (1_000, 2));
        assert_eq!(buckets.last(), Some(&(10_000_000, 2)));
        assert_eq!((total, sum), (3, 60_000_740));
    }

    #[test]
    fn key_ids_past_the_cap_share_one_bucket() {
        let c = Counters::default();
        for i in 0..=MAX_KEYS {
            c.verdict(None, Some(&Arc::from(format!("k{i}"))), Duration::ZERO);
        }
        let keys = c.keys();
        assert_eq!(keys.len(), MAX_KEYS + 1);
        assert!(keys.iter().any(|(id, n, _)| &**id == OTHER_KEYS && *n == 1));
    }
}
