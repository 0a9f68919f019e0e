//! Observability, decided once for every binding: each verification outcome goes to the guard's
//! [`Monitor`], which counts it (per outcome, code and key id, with a latency histogram), tracks
//! the replay store's health, and hands a binding's [`Reporter`] one [`Event`] per rejection, per
//! store state change and per fail-open use (per acceptance too when asked), with the log level
//! and the rate limit already decided. Bindings only deliver events (a JS hook and `logger`, a
//! Python hook and the `hmac_guard` logger) and expose [`Monitor::stats_json`] and the
//! Prometheus metrics ([`Monitor::families_json`], [`Monitor::prometheus_text`]).
//!
//! Nothing here ever holds a secret: events carry error reasons, which never contain one.

mod counters;
mod event;
mod export;
mod gate;
mod health;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use counters::KeyTally;
pub use event::{Event, EventKind, Level};

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use counters::Counters;
use gate::Gate;
use health::{Change, Health};

/// What is reported and how much is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserveConfig {
    /// Report accepted requests too (at debug level), not only rejections and store events.
    pub report_accepted: bool,
    /// Log lines per second per level; past it lines are counted, not logged.
    pub log_rate: u32,
    /// Events below this level are not logged (a hook still gets them).
    pub log_level: Level,
}

impl Default for ObserveConfig {
    fn default() -> Self {
        ObserveConfig { report_accepted: false, log_rate: 10, log_level: Level::Info }
    }
}

/// Receives the monitor's events: a binding's hook and logger. Called on the thread that reached
/// the verdict, with no lock of the guard held; it must not block for long.
pub trait Reporter: Send + Sync + fmt::Debug {
    /// One event.
    fn report(&self, event: &Event<'_>);
}

/// A guard's counters, store health and reporter.
pub struct Monitor {
    scheme: &'static str,
    store: &'static str,
    config: ObserveConfig,
    counters: Counters,
    health: Health,
    gate: Gate,
    clock: Arc<dyn Clock>,
    reporter: OnceLock<Arc<dyn Reporter>>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

/// How a verdict is counted.
pub(crate) struct Verdict<'a> {
    /// `None`: accepted.
    pub(crate) error: Option<&'a Error>,
    /// The ring's key the request named, when the ring has it (the only ids counted).
    pub(crate) key: Option<&'a crate::keyring::Key>,
    pub(crate) elapsed: Duration,
}

impl Monitor {
    pub(crate) fn new(scheme: &'static str, store: &'static str, config: ObserveConfig, clock: Arc<dyn Clock>) -> Self {
        Monitor {
            scheme,
            store,
            config,
            counters: Counters::default(),
            health: Health::default(),
            gate: Gate::new(config.log_rate.max(1)),
            clock,
            reporter: OnceLock::new(),
        }
    }

    /// Installs the reporter (once; a binding does it right after building the guard). Returns
    /// whether it was installed.
    pub fn set_reporter(&self, reporter: Arc<dyn Reporter>) -> bool {
        self.reporter.set(reporter).is_ok()
    }

    /// The settings it was built with.
    #[must_use]
    pub fn config(&self) -> ObserveConfig {
        self.config
    }

    pub(crate) fn verdict(&self, v: &Verdict<'_>) {
        let code = v.error.map(Error::code);
        self.counters.verdict(code, v.key, v.elapsed);
        if code.is_none() && !self.config.report_accepted {
            return;
        }
        let level = match code {
            // Unsigned requests are mostly scanners and clients that do not sign yet (and pass on
            // routes where signing is optional): counted, logged only when asked.
            None | Some(ErrorCode::MissingSignature) => Level::Debug,
            Some(c) if c.status() >= 500 => Level::Warn,
            Some(_) => Level::Info,
        };
        self.emit(Event {
            kind: EventKind::Verification,
            outcome: if code.is_some() { "rejected" } else { "accepted" },
            code,
            scheme: self.scheme,
            key_id: v.key.map(|k| &**k.id()),
            duration: Some(v.elapsed),
            store: self.store,
            reason: v.error.map(Error::reason),
            level,
            log: false,
            suppressed: 0,
        });
    }

    /// A verification dropped before its verdict (the client went away mid-body).
    pub(crate) fn aborted(&self, elapsed: Duration) {
        self.counters.aborted.fetch_add(1, Ordering::Relaxed);
        self.emit(Event {
            kind: EventKind::Verification,
            outcome: "aborted",
            code: None,
            scheme: self.scheme,
            key_id: None,
            duration: Some(elapsed),
            store: self.store,
            reason: Some("abandoned before the verdict (the client went away or the adapter stopped reading)"),
            level: Level::Debug,
            log: false,
            suppressed: 0,
        });
    }

    /// Passes a store call's result through the health tracker; with a store that fails open, an
    /// unavailable store becomes `Ok(T::default())` (counted and reported as a fail-open use).
    pub(crate) fn store_result<T: Default>(&self, r: Result<T>, fails_open: bool, wall_ms: i64) -> Result<T> {
        match r {
            Err(e) if e.code() == ErrorCode::ReplayStoreUnavailable => {
                if self.health.failed(wall_ms) == Some(Change::Down) {
                    self.store_change(Change::Down, fails_open, Some(e.reason()));
                }
                if !fails_open {
                    return Err(e);
                }
                let n = self.health.fail_open_uses.fetch_add(1, Ordering::Relaxed) + 1;
                let reason = format!("{} ({n} so far)", e.reason());
                self.emit(Event::store(EventKind::FailOpen, "accepted", self.store, Some(&reason), None));
                Ok(T::default())
            }
            other => {
                if let Some(change) = self.health.answered() {
                    self.store_change(change, fails_open, None);
                }
                other
            }
        }
    }

    /// The store reported claims lost at `lost_ms`; requests signed before it are refused until
    /// `until_ms`. Reported once per loss.
    pub(crate) fn store_lost(&self, lost_ms: i64, until_ms: i64) {
        if self.health.lost(lost_ms) {
            let reason = format!("requests signed before {lost_ms} (Unix ms) are refused with 503 until {until_ms}");
            self.emit(Event::store(EventKind::Store, "lost", self.store, Some(&reason), None));
        }
    }

    fn store_change(&self, change: Change, fails_open: bool, reason: Option<&str>) {
        let (outcome, duration) = match change {
            Change::Down if fails_open => ("failing_open", None),
            Change::Down => ("failing", None),
            Change::Up(d) => ("ok", Some(d)),
        };
        self.emit(Event::store(EventKind::Store, outcome, self.store, reason, duration));
    }

    fn emit(&self, mut event: Event<'_>) {
        let Some(reporter) = self.reporter.get() else { return };
        // Store state changes are logged whatever the level threshold, with their own rate limit
        // (a flapping store); the rest by level.
        let admit = if event.kind == EventKind::Store {
            Some(self.gate.admit_store(self.clock.now_ms()))
        } else if event.level >= self.config.log_level {
            Some(self.gate.admit(event.level, self.clock.now_ms()))
        } else {
            None
        };
        if let Some(admit) = admit {
            event.log = admit.log;
            event.suppressed = admit.suppressed;
        }
        reporter.report(&event);
    }
}

#[cfg(test)]
mod tests;
