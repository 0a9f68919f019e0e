//! `ManualClock`: the injected test clock, the same class as Python's (`set`, `advance`, `now`).

use std::sync::Arc;

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;

use crate::errors::{Result, type_error};

/// A clock that only moves when told to, for tests: `new Guard({ clock: new ManualClock(1700000000) })`.
#[napi(js_name = "ManualClock")]
#[derive(Debug)]
pub struct NativeManualClock {
    pub(crate) inner: Arc<hmac_guard::ManualClock>,
}

/// A number argument; anything else throws a `TypeError` naming the argument.
fn number_arg(env: &Env, v: Unknown<'_>, what: &str) -> Result<f64> {
    if v.get_type().ok() == Some(ValueType::Number)
        && let Ok(x) = f64::from_unknown(v)
        && x.is_finite()
    {
        return Ok(x);
    }
    type_error(env, &format!("{what} must be a finite number of seconds"))
}

/// Whole seconds (a fraction is dropped, as `Math.trunc` would).
fn secs_arg(env: &Env, v: Unknown<'_>, what: &str) -> Result<i64> {
    #[allow(clippy::cast_possible_truncation)] // saturating by design
    number_arg(env, v, what).map(|x| x.trunc() as i64)
}

#[napi]
impl NativeManualClock {
    /// A clock standing at `now` (Unix seconds).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "number")] now: Unknown<'_>) -> Result<Self> {
        Ok(NativeManualClock { inner: Arc::new(hmac_guard::ManualClock::at_secs(secs_arg(&env, now, "now")?)) })
    }

    /// Sets the time (Unix seconds).
    #[napi]
    pub fn set(&self, env: Env, #[napi(ts_arg_type = "number")] now: Unknown<'_>) -> Result<()> {
        self.inner.set_secs(secs_arg(&env, now, "now")?);
        Ok(())
    }

    /// Moves the clock by `secs` seconds (millisecond resolution; negative moves it back).
    #[napi]
    pub fn advance(&self, env: Env, #[napi(ts_arg_type = "number")] secs: Unknown<'_>) -> Result<()> {
        #[allow(clippy::cast_possible_truncation)] // saturating by design
        self.inner.advance_ms((number_arg(&env, secs, "secs")? * 1000.0).round() as i64);
        Ok(())
    }

    /// The time in whole Unix seconds.
    #[napi]
    pub fn now(&self) -> i64 {
        hmac_guard::Clock::now_secs(self.inner.as_ref())
    }
}
