//! Data-loss detection for the Redis store: a claim is only as good as Redis's memory of the
//! claims before it. Redis restarted without persistence, `FLUSHALL`, eviction under `maxmemory`,
//! or a failover to a replica that had not received the last writes all forget nonces that were
//! accepted, and their replays would pass again.
//!
//! Two keys watch for that, read in the claim's own round trip (`INCR` and `GET` pipelined after
//! the `SET NX`, so no extra round trip per request):
//! - `<prefix>:epoch`, a marker written once (its value: the detection time in Unix ms and a random
//!   part). Gone means the data was lost; a value other than the one this process adopted means
//!   another process detected a loss.
//! - `<prefix>:seq`, incremented by every claim. A value below the highest this process has seen
//!   means Redis went back in time (a lagging replica took over).
//!
//! A process that sees the marker gone or the sequence go back writes a new marker with the time
//! it noticed; every process adopts the marker it sees and from then on its store reports
//! [`LossWatch::lost_at_ms`]: claims made before that moment may be lost. The verifier refuses
//! every request signed before it until the timestamp window has passed (`verifier.rs`).
//!
//! A process that has never seen a marker has no claims to lose: against an empty Redis it
//! writes the first marker and accepts as usual. So a loss is noticed by processes that were
//! running before it; if Redis *and* every application process restart together, nothing
//! remembers the claims made before (docs: use persistence).

use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;

/// What the claim's round trip showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The marker this process knows, the sequence moving forward.
    Same,
    /// Data was lost: write a new marker with this value (the caller then calls `adopt`).
    Lost(String),
    /// No marker yet and this process never saw one: it has no claims to lose. Write this one
    /// unless another process just did (`SET NX`), then `adopt_first` whichever is there.
    First(String),
}

#[derive(Debug)]
pub(crate) struct LossWatch {
    pub(crate) marker_key: String,
    pub(crate) seq_key: String,
    known: Mutex<Option<String>>,
    max_seq: AtomicI64,
    lost_at_ms: AtomicI64,
}

impl LossWatch {
    pub(crate) fn new(prefix: &str) -> Self {
        LossWatch {
            marker_key: format!("{prefix}:epoch"),
            seq_key: format!("{prefix}:seq"),
            known: Mutex::new(None),
            max_seq: AtomicI64::new(0),
            lost_at_ms: AtomicI64::new(0),
        }
    }

    /// Reads a claim's `INCR` and `GET` replies. `token`: a random part for a new marker.
    pub(crate) fn observe(&self, seq: i64, marker: Option<String>, now_ms: i64, token: u64) -> Seen {
        let went_back = seq < self.max_seq.fetch_max(seq, Ordering::Relaxed);
        let mut known = self.known.lock();
        match marker {
            Some(m) if !went_back && known.as_deref() == Some(m.as_str()) => Seen::Same,
            // First sight of a marker (this process is new, Redis is not): nothing was lost here.
            Some(m) if !went_back && known.is_none() => {
                *known = Some(m);
                Seen::Same
            }
            // Another process noticed a loss first: its time applies.
            Some(m) if !went_back => {
                self.lost(marker_time(&m).unwrap_or(now_ms));
                *known = Some(m);
                Seen::Same
            }
            None if known.is_none() => Seen::First(format!("{now_ms}:{token:016x}")),
            // Gone, or Redis went back in time: this process notices it now.
            _ => Seen::Lost(format!("{now_ms}:{token:016x}")),
        }
    }

    /// After writing a new marker: adopts it, and the loss it records.
    pub(crate) fn adopt(&self, marker: String, seq: i64) {
        self.lost(marker_time(&marker).unwrap_or(0));
        self.max_seq.store(seq, Ordering::Relaxed);
        *self.known.lock() = Some(marker);
    }

    /// Adopts the first marker this process sees (its own or a racing process's): no loss.
    pub(crate) fn adopt_first(&self, marker: String) {
        let mut known = self.known.lock();
        if known.is_none() {
            *known = Some(marker);
        }
    }

    fn lost(&self, at_ms: i64) {
        self.lost_at_ms.fetch_max(at_ms, Ordering::Relaxed);
    }

    /// The latest moment claims may have been lost (Unix ms), if any loss was seen.
    pub(crate) fn lost_at_ms(&self) -> Option<i64> {
        Some(self.lost_at_ms.load(Ordering::Relaxed)).filter(|&t| t > 0)
    }
}

fn marker_time(marker: &str) -> Option<i64> {
    marker.split_once(':').and_then(|(t, _)| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adopts_an_existing_marker_and_reports_losses() {
        let w = LossWatch::new("p");
        assert_eq!(w.observe(5, Some("100:a".into()), 1_000, 1), Seen::Same);
        assert_eq!(w.lost_at_ms(), None, "a new process seeing a marker lost nothing");
        assert_eq!(w.observe(6, Some("100:a".into()), 1_001, 1), Seen::Same);
        // Gone: a new marker with this moment.
        let Seen::Lost(m) = w.observe(1, None, 2_000, 0xab) else { panic!("loss not seen") };
        assert_eq!(LossWatch::new("q").observe(1, None, 2_000, 0xab), Seen::First(m.clone()), "a new process lost nothing");
        assert_eq!(m, "2000:00000000000000ab");
        w.adopt(m.clone(), 1);
        assert_eq!(w.lost_at_ms(), Some(2_000));
        // The sequence going back (a lagging replica) is a loss too, even with the marker there.
        assert!(matches!(w.observe(7, Some(m.clone()), 3_000, 1), Seen::Same));
        assert!(matches!(w.observe(3, Some(m), 3_500, 1), Seen::Lost(_)));
        // Another process's newer marker: its time is adopted.
        let w2 = LossWatch::new("p");
        assert_eq!(w2.observe(1, Some("100:a".into()), 1_000, 1), Seen::Same);
        assert_eq!(w2.observe(2, Some("5000:b".into()), 5_100, 1), Seen::Same);
        assert_eq!(w2.lost_at_ms(), Some(5_000));
    }
}
