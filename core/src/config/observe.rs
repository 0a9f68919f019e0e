//! The observability options: what is reported, how much is logged, and the two values only the
//! binding can hold (a hook function and a logger object), validated here by their kind.

use super::read::{Options, invalid};
use super::value::Value;
use crate::error::Result;
use crate::observe::{Level, ObserveConfig};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggerChoice {
    /// The binding's default: `console` in Node, the `hmac_guard` logger in Python.
    Default,
    /// No log lines (a hook still receives events).
    Off,
    /// The logger object the application gave (the binding holds it).
    Custom,
}

impl LoggerChoice {
    /// `default`, `off` or `custom`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            LoggerChoice::Default => "default",
            LoggerChoice::Off => "off",
            LoggerChoice::Custom => "custom",
        }
    }
}

/// Validated observability options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserveOptions {
    /// What the monitor reports and how much it logs.
    pub config: ObserveConfig,
    /// Where log lines go.
    pub logger: LoggerChoice,
    /// Whether a hook function was given (the binding holds it).
    pub on_event: bool,
}

impl ObserveOptions {
    /// Whether a binding needs a reporter at all.
    #[must_use]
    pub fn reports(&self) -> bool {
        self.on_event || self.logger != LoggerChoice::Off
    }
}

pub(crate) fn read(o: &Options<'_>) -> Result<ObserveOptions> {
    let d = ObserveConfig::default();
    let config = ObserveConfig {
        report_accepted: o.bool("observe.report_accepted")?.unwrap_or(d.report_accepted),
        log_rate: o.int_as("observe.log_rate", 1, 100_000)?.unwrap_or(d.log_rate),
        log_level: o.choice("observe.log_level", &["debug", "info", "warn"])?.and_then(Level::from_name).unwrap_or(d.log_level),
    };
    let on_event = match o.raw("observe.on_event") {
        None => false,
        Some(Value::Other(kind)) if kind == "function" => true,
        Some(other) => {
            return Err(invalid(&o.name("observe.on_event"), format_args!("must be a function, not {}", other.kind())));
        }
    };
    let logger = match o.raw("observe.logger") {
        None => LoggerChoice::Default,
        Some(Value::Bool(false)) => LoggerChoice::Off,
        Some(Value::Map(_) | Value::Other(_)) => LoggerChoice::Custom,
        Some(other) => {
            return Err(invalid(
                &o.name("observe.logger"),
                format_args!("must be a logger object or false, not {}", other.kind()),
            ));
        }
    };
    Ok(ObserveOptions { config, logger, on_event })
}
