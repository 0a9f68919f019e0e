//! `ManualClock`: a clock that only moves when told to (tests). A time past 64 bits is
//! `ConfigError`, never `OverflowError`.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::convert::{arg, millis_arg};

/// A clock that only moves when told to, for tests: `Guard(clock=ManualClock(1700000000))`.
#[pyclass(frozen, module = "hmac_guard._native", name = "ManualClock")]
#[derive(Debug)]
pub(crate) struct PyManualClock {
    pub(crate) inner: Arc<hmac_guard::ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(now: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyManualClock { inner: Arc::new(hmac_guard::ManualClock::at_secs(arg(now, "now")?)) })
    }

    /// Sets the time (Unix seconds).
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set_secs(arg(now, "now")?);
        Ok(())
    }

    /// Moves the clock by `secs` seconds (millisecond resolution; negative moves it back).
    fn advance(&self, secs: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.advance_ms(millis_arg(secs, "secs")?);
        Ok(())
    }

    /// The time in whole Unix seconds.
    fn now(&self) -> i64 {
        hmac_guard::Clock::now_secs(&*self.inner)
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.now())
    }
}
