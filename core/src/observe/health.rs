//! The replay store's health as the verifier sees it: every claim, commit and release either got
//! an answer from the store or did not. Only the changes between the two states are reported.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Fast path: a healthy store costs one load per store call.
    failing: AtomicBool,
    since: Mutex<Option<Since>>,
    pub(crate) failures: AtomicU64,
    pub(crate) fail_open_uses: AtomicU64,
    pub(crate) state_changes: AtomicU64,
    /// The latest data loss the store reported (Unix ms; 0: none), and how many were reported.
    pub(crate) lost_at_ms: std::sync::atomic::AtomicI64,
    pub(crate) losses: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Since {
    wall_ms: i64,
    at: Instant,
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The store stopped answering.
    Down,
    /// The store answers again, after failing for this long.
    Up(Duration),
}

impl Health {
    /// The store answered (any answer, `ERR_REPLAY` included).
    pub(crate) fn answered(&self) -> Option<Change> {
        if !self.failing.load(Ordering::Relaxed) {
            return None;
        }
        let mut since = self.since.lock();
        let s = since.take()?;
        self.failing.store(false, Ordering::Relaxed);
        self.state_changes.fetch_add(1, Ordering::Relaxed);
        Some(Change::Up(s.at.elapsed()))
    }

    /// The store could not answer.
    pub(crate) fn failed(&self, wall_ms: i64) -> Option<Change> {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.failing.load(Ordering::Relaxed) {
            return None;
        }
        let mut since = self.since.lock();
        if since.is_some() {
            return None;
        }
        *since = Some(Since { wall_ms, at: Instant::now() });
        self.failing.store(true, Ordering::Relaxed);
        self.state_changes.fetch_add(1, Ordering::Relaxed);
        Some(Change::Down)
    }

    /// The store reported claims lost at `at_ms`; true the first time this moment is seen.
    pub(crate) fn lost(&self, at_ms: i64) -> bool {
        let before = self.lost_at_ms.fetch_max(at_ms, Ordering::Relaxed);
        if before >= at_ms {
            return false;
        }
        self.losses.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Unix milliseconds since which the store has been failing; `None` while it answers.
    pub(crate) fn failing_since_ms(&self) -> Option<i64> {
        self.since.lock().map(|s| s.wall_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_change_once() {
        let h = Health::default();
        assert_eq!(h.answered(), None);
        assert_eq!(h.failed(1_000), Some(Change::Down));
        assert_eq!(h.failed(2_000), None);
        assert_eq!(h.failing_since_ms(), Some(1_000));
        assert!(matches!(h.answered(), Some(Change::Up(_))));
        assert_eq!(h.answered(), None);
        assert_eq!(h.failing_since_ms(), None);
        assert_eq!(h.failures.load(Ordering::Relaxed), 2);
        assert_eq!(h.state_changes.load(Ordering::Relaxed), 2);
    }
}
