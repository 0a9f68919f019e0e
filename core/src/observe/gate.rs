//! Log rate limiting: at most `rate` lines per second per level, the rest counted and the count
//! carried by the next line that goes out, so an attack or an outage cannot flood the logs. Time
//! is the guard's clock (a `ManualClock` in tests).

use parking_lot::Mutex;

use super::Level;

#[derive(Debug)]
pub(crate) struct Gate {
    rate: u32,
    /// One per level, and one for the replay store's state changes (their own budget: an
    /// outage's 503s must not crowd out the line that says the store is back).
    windows: [Mutex<Window>; 4],
}

#[derive(Debug, Default)]
struct Window {
    start_ms: Option<i64>,
    used: u32,
    suppressed: u64,
}

/// Whether a line may be logged, and how many were held back before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admit {
    pub(crate) log: bool,
    pub(crate) suppressed: u64,
}

impl Gate {
    pub(crate) fn new(rate: u32) -> Self {
        Gate { rate, windows: Default::default() }
    }

    pub(crate) fn admit(&self, level: Level, now_ms: i64) -> Admit {
        self.admit_in(level as usize, now_ms)
    }

    /// A replay store state change: a flapping store cannot flood the logs either.
    pub(crate) fn admit_store(&self, now_ms: i64) -> Admit {
        self.admit_in(3, now_ms)
    }

    fn admit_in(&self, window: usize, now_ms: i64) -> Admit {
        let mut w = self.windows[window].lock();
        // A clock set back starts a new window too.
        if w.start_ms.is_none_or(|s| now_ms.saturating_sub(s) >= 1000 || now_ms < s) {
            w.start_ms = Some(now_ms);
            w.used = 0;
        }
        if w.used >= self.rate {
            w.suppressed += 1;
            return Admit { log: false, suppressed: 0 };
        }
        w.used += 1;
        Admit { log: true, suppressed: std::mem::take(&mut w.suppressed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_level_per_second_and_reports_what_it_held_back() {
        let gate = Gate::new(2);
        let t0 = 1_000_000;
        let admitted: Vec<bool> = (0..5).map(|_| gate.admit(Level::Info, t0 + 999).log).collect();
        assert_eq!(admitted, [true, true, false, false, false]);
        // Another level has its own budget.
        assert!(gate.admit(Level::Warn, t0).log);
        let next = gate.admit(Level::Info, t0 + 1999);
        assert_eq!(next, Admit { log: true, suppressed: 3 });
        assert_eq!(gate.admit(Level::Info, t0 + 2000).suppressed, 0);
        // Store changes have their own budget, untouched by a burst of warn lines.
        for _ in 0..5 {
            gate.admit(Level::Warn, t0);
        }
        assert!(gate.admit_store(t0).log);
    }
}
