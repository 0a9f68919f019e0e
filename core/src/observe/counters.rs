//! Counts of outcomes: per outcome, per error code, per key of the key ring (in the key itself),
//! and a latency histogram. Lock-free: relaxed atomic increments on the guard's and the key's
//! own memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorCode;
use crate::keyring::Key;

/// Histogram bucket upper bounds, in microseconds (Prometheus `le`, converted to seconds).
pub(crate) const BUCKETS_US: [u64; 17] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000,
];

/// A key's own verdict counts, kept in the key (its cache line is hot while it is verified),
/// so counting per key id costs no lookup and ids the ring does not have are never counted.
#[derive(Debug, Default)]
pub struct KeyTally {
    accepted: AtomicU64,
    rejected: AtomicU64,
}

impl KeyTally {
    pub(crate) fn count(&self, accepted: bool) {
        let n = if accepted { &self.accepted } else { &self.rejected };
        n.fetch_add(1, Ordering::Relaxed);
    }

    /// `(accepted, rejected)`.
    pub(crate) fn get(&self) -> (u64, u64) {
        (self.accepted.load(Ordering::Relaxed), self.rejected.load(Ordering::Relaxed))
    }
}

const CODES: usize = ErrorCode::ALL.len();

#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) aborted: AtomicU64,
    by_code: [AtomicU64; CODES],
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
            by_code: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: Default::default(),
            sum_us: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// Counts a verdict. `key`: the ring's key the request named (never a client's unknown id).
    pub(crate) fn verdict(&self, code: Option<ErrorCode>, key: Option<&Key>, elapsed: Duration) {
        match code {
            None => self.accepted.fetch_add(1, Ordering::Relaxed),
            Some(c) => {
                if let Some(i) = ErrorCode::ALL.iter().position(|x| *x == c) {
                    self.by_code[i].fetch_add(1, Ordering::Relaxed);
                }
                self.rejected.fetch_add(1, Ordering::Relaxed)
            }
        };
        if let Some(key) = key {
            key.tally().count(code.is_none());
        }
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(BUCKETS_US.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Rejections per code, codes never seen left out.
    pub(crate) fn codes(&self) -> Vec<(ErrorCode, u64)> {
        ErrorCode::ALL.iter().zip(&self.by_code).map(|(c, n)| (*c, n.load(Ordering::Relaxed))).filter(|(_, n)| *n > 0).collect()
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
    use crate::keyring::{Algorithm, KeySpec};

    #[test]
    fn counts_per_code_key_and_bucket() {
        let c = Counters::default();
        let k1 = Key::new(KeySpec::new("k1", [7u8; 32], Algorithm::HmacSha256)).unwrap();
        c.verdict(None, Some(&k1), Duration::from_micros(40));
        c.verdict(Some(ErrorCode::Replay), Some(&k1), Duration::from_micros(700));
        c.verdict(Some(ErrorCode::UnknownKey), None, Duration::from_secs(60));
        assert_eq!(c.codes(), [(ErrorCode::UnknownKey, 1), (ErrorCode::Replay, 1)]);
        assert_eq!(k1.tally().get(), (1, 1));
        let (buckets, total, sum) = c.histogram();
        assert_eq!(buckets[0], (50, 1));
        assert_eq!(buckets[4], (1_000, 2));
        assert_eq!(buckets.last(), Some(&(10_000_000, 2)));
        assert_eq!((total, sum), (3, 60_000_740));
    }
}
