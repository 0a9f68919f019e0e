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

/// What a process knew when it sent a claim (`LossWatch::snapshot`).
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    floor: i64,
    known: Option<String>,
}

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
    /// A first marker write is under way (`Seen::First`).
    first_in_flight: std::sync::atomic::AtomicBool,
    max_seq: AtomicI64,
    lost_at_ms: AtomicI64,
}

impl LossWatch {
    pub(crate) fn new(prefix: &str) -> Self {
        LossWatch {
            marker_key: format!("{prefix}:epoch"),
            seq_key: format!("{prefix}:seq"),
            known: Mutex::new(None),
            first_in_flight: std::sync::atomic::AtomicBool::new(false),
            max_seq: AtomicI64::new(0),
            lost_at_ms: AtomicI64::new(0),
        }
    }

    /// Before a claim's round trip: what this process knew when it sent it — the highest
    /// sequence number of the claims completed before (its own `INCR` runs after theirs, so it
    /// must return more) and the marker it had adopted. Concurrent claims complete in any order;
    /// replies are judged against this, not against what later replies taught the process.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot { floor: self.max_seq.load(Ordering::Relaxed), known: self.known.lock().clone() }
    }

    /// Reads a claim's `INCR` and `GET` replies. `token`: a random part for a new marker.
    pub(crate) fn observe(&self, sent: Snapshot, seq: i64, marker: Option<String>, now_ms: i64, token: u64) -> Seen {
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
        let new = || format!("{now_ms}:{token:016x}");
        if seq <= sent.floor {
            return Seen::Lost(new()); // Redis went back in time (a lagging replica took over)
        }
        match (marker, sent.known) {
            // One first marker write in flight per process; the others have nothing to lose either.
            (None, None) if !self.first_in_flight.swap(true, Ordering::Relaxed) => Seen::First(new()),
            (None, None) => Seen::Same,
            (None, Some(_)) => Seen::Lost(new()), // gone since this process adopted it
            (Some(m), Some(k)) if m == k => Seen::Same,
            // First sight (this process is new, or raced its own first claims): nothing lost.
            (Some(m), None) => {
                self.adopt_if_newer(m);
                Seen::Same
            }
            // Changed since the claim was sent (Redis is linearizable: this read came after the
            // one that taught the process its marker): another process noticed a loss. Its time,
            // or this process's own if that is later (clocks differ): refusing more is safe.
            (Some(m), Some(_)) => {
                self.lost(marker_time(&m).unwrap_or(now_ms).max(now_ms));
                *self.known.lock() = Some(m);
                Seen::Same
            }
        }
    }

    /// Adopts a first-sight `marker` unless a newer one is already known (replies to claims sent
    /// before the process knew any marker arrive in any order).
    fn adopt_if_newer(&self, marker: String) {
        let mut known = self.known.lock();
        if known.as_deref().is_none_or(|k| (marker_time(&marker), marker.as_str()) > (marker_time(k), k)) {
            *known = Some(marker);
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
        self.adopt_if_newer(marker);
        self.first_in_flight.store(false, Ordering::Relaxed);
    }

    /// The first marker write is over (done, failed or cancelled): the next claim that finds
    /// none may try again.
    pub(crate) fn first_failed(&self) {
        self.first_in_flight.store(false, Ordering::Relaxed);
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
        assert_eq!(w.observe(w.snapshot(), 5, Some("100:a".into()), 1_000, 1), Seen::Same);
        assert_eq!(w.lost_at_ms(), None, "a new process seeing a marker lost nothing");
        assert_eq!(w.observe(w.snapshot(), 6, Some("100:a".into()), 1_001, 1), Seen::Same);
        // Gone: a new marker with this moment.
        let Seen::Lost(m) = w.observe(w.snapshot(), 7, None, 2_000, 0xab) else { panic!("loss not seen") };
        assert_eq!(m, "2000:00000000000000ab");
        w.adopt(m.clone(), 7);
        assert_eq!(w.lost_at_ms(), Some(2_000));
        // The sequence going back (a lagging replica) is a loss too, even with the marker there.
        assert_eq!(w.observe(w.snapshot(), 9, Some(m.clone()), 3_000, 1), Seen::Same);
        assert!(matches!(w.observe(w.snapshot(), 3, Some(m.clone()), 3_500, 1), Seen::Lost(_)));
        // Concurrent claims completing out of order are not Redis going back.
        let (s1, s2) = (w.snapshot(), w.snapshot());
        assert_eq!(w.observe(s1, 11, Some(m.clone()), 3_600, 1), Seen::Same);
        assert_eq!(w.observe(s2, 10, Some(m), 3_600, 1), Seen::Same);
    }

    #[test]
    fn first_claims_racing_other_processes_lose_nothing() {
        let w = LossWatch::new("p");
        let (early, late) = (w.snapshot(), w.snapshot());
        // One claim sees the marker another process just wrote; one sent earlier saw none.
        assert_eq!(w.observe(late, 2, Some("100:b".into()), 1_000, 1), Seen::Same);
        assert!(matches!(w.observe(early.clone(), 1, None, 1_000, 1), Seen::First(_)));
        // Only one first write at a time: a second claim that found none lets it be.
        assert_eq!(w.observe(early, 1, None, 1_000, 1), Seen::Same);
        w.adopt_first("100:a".into());
        assert_eq!(w.lost_at_ms(), None);
        // A stale reply with an older marker does not undo the newer one.
        assert_eq!(w.observe(w.snapshot(), 3, Some("100:b".into()), 1_001, 1), Seen::Same);
        // Another process's new marker after a loss: the later of its time and this process's.
        assert_eq!(w.observe(w.snapshot(), 4, Some("5000:c".into()), 4_900, 1), Seen::Same);
        assert_eq!(w.lost_at_ms(), Some(5_000));
        assert_eq!(w.observe(w.snapshot(), 5, Some("4000:d".into()), 6_000, 1), Seen::Same);
        assert_eq!(w.lost_at_ms(), Some(6_000), "a marker from a clock behind: this process's time");
        assert!(matches!(LossWatch::new("q").observe(LossWatch::new("q").snapshot(), 1, None, 9, 1), Seen::First(_)));
    }
}
