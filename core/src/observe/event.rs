//! One thing worth telling an operator, with its log level and line decided here.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::Spelling;
use crate::error::ErrorCode;
use crate::json::Object;

/// How loud an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Accepted requests, unsigned requests (`ERR_MISSING_SIGNATURE`) and abandoned verifications.
    Debug = 0,
    /// Rejections answered with a 4xx.
    Info = 1,
    /// 5xx rejections, replay store state changes and fail-open uses.
    Warn = 2,
}

impl Level {
    /// The level named `debug`, `info` or `warn`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Level> {
        [Level::Debug, Level::Info, Level::Warn].into_iter().find(|l| l.name() == name)
    }

    /// `debug`, `info` or `warn`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A verification's verdict (`accepted`, `rejected`, `aborted`).
    Verification,
    /// The replay store changed state (`failing`, `failing_open`, `ok`).
    Store,
    /// A request accepted without replay protection because the store could not answer.
    FailOpen,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::Verification => "verification",
            EventKind::Store => "store",
            EventKind::FailOpen => "fail_open",
        }
    }
}

/// One event, as the [`super::Reporter`] receives it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What it is about.
    pub kind: EventKind,
    /// `accepted` / `rejected` / `aborted`; for the store `failing` / `failing_open` / `ok` / `lost`.
    pub outcome: &'static str,
    /// The error code of a rejection.
    pub code: Option<ErrorCode>,
    /// The guard's scheme.
    pub scheme: &'static str,
    /// The key id the request named (possibly unknown to the ring), when it was read.
    pub key_id: Option<&'a str>,
    /// How long the verification took (from the head to the verdict, body and store included);
    /// for a store that recovered, how long it was failing.
    pub duration: Option<Duration>,
    /// The replay store kind (`memory`, `redis`).
    pub store: &'static str,
    /// Why: the error's reason (never a secret, never an expected MAC).
    pub reason: Option<&'a str>,
    /// The level to log it at.
    pub level: Level,
    /// Whether to log it: false when the rate limit held it back (a hook still gets it).
    pub log: bool,
    /// Lines of this level held back by the rate limit since the last one logged.
    pub suppressed: u64,
}

impl<'a> Event<'a> {
    pub(crate) fn store(
        kind: EventKind,
        outcome: &'static str,
        store: &'static str,
        reason: Option<&'a str>,
        duration: Option<Duration>,
    ) -> Self {
        Event {
            kind,
            outcome,
            code: None,
            scheme: "",
            key_id: None,
            duration,
            store,
            reason,
            level: Level::Warn,
            log: false,
            suppressed: 0,
        }
    }

    /// The HTTP status of a rejection.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.code.map(ErrorCode::status)
    }

    /// The log line.
    #[must_use]
    pub fn message(&self) -> String {
        let mut m = String::from("hmac-guard: ");
        let key = self.key_id.map(|k| format!(", key {:?}", crate::keyring::truncate(k))).unwrap_or_default();
        let ms = self.duration.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let reason = self.reason.unwrap_or("");
        let _ = match (self.kind, self.outcome) {
            (EventKind::Verification, "rejected") => {
                let code = self.code.map_or("", ErrorCode::as_str);
                write!(m, "rejected {code} ({}){key}: {reason}", self.status().unwrap_or(0))
            }
            (EventKind::Verification, "accepted") => write!(m, "accepted{key} in {ms:.2} ms"),
            (EventKind::Verification, _) => write!(m, "verification {reason}"),
            (EventKind::Store, "ok") => write!(m, "replay store {} answers again after {:.1} s", self.store, ms / 1000.0),
            (EventKind::Store, "lost") => {
                write!(m, "replay store {} lost claims (restarted empty, flushed, evicted or failed over): {reason}", self.store)
            }
            (EventKind::Store, "failing_open") => write!(
                m,
                "replay store {} is failing ({reason}): requests are accepted WITHOUT replay protection (fail-open) until it answers",
                self.store
            ),
            (EventKind::Store, _) => write!(
                m,
                "replay store {} is failing ({reason}): signed requests are refused with 503 ERR_REPLAY_STORE_UNAVAILABLE until it answers",
                self.store
            ),
            (EventKind::FailOpen, _) => write!(
                m,
                "accepted a request without replay protection: replay store {} unavailable, fail-open: {reason}",
                self.store
            ),
        };
        if self.suppressed > 0 {
            let _ = write!(m, " [{} similar lines suppressed]", self.suppressed);
        }
        m
    }

    /// The event as a JSON object, names as `spelling` spells them (`keyId` / `key_id`), the log
    /// line under `message`.
    #[must_use]
    pub fn to_json(&self, spelling: Spelling) -> String {
        let node = spelling == Spelling::Node;
        let name = |snake: &'static str, camel: &'static str| if node { camel } else { snake };
        let mut out = String::with_capacity(256);
        let mut o = Object::open(&mut out);
        o.str("type", self.kind.name()).str("outcome", self.outcome).opt_str("code", self.code.map(ErrorCode::as_str));
        match self.status() {
            Some(s) => o.num("status", s),
            None => o.raw("status", "null"),
        };
        o.opt_str("scheme", (!self.scheme.is_empty()).then_some(self.scheme))
            .opt_str(name("key_id", "keyId"), self.key_id.map(crate::keyring::truncate).as_deref());
        match self.duration {
            Some(d) => o.num(name("duration_ms", "durationMs"), format_args!("{:.3}", d.as_secs_f64() * 1000.0)),
            None => o.raw(name("duration_ms", "durationMs"), "null"),
        };
        o.str("store", self.store)
            .opt_str("reason", self.reason)
            .str("level", self.level.name())
            .raw("log", if self.log { "true" } else { "false" })
            .num("suppressed", self.suppressed)
            .str("message", &self.message());
        o.close();
        out
    }
}
