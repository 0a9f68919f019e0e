//! `ManualClock`: a clock that only moves when told to (tests). Times are read saturating, so no
//! argument raises `OverflowError`: the core's clock saturates too.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::convert::{float_arg, int_arg};

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
        Ok(PyManualClock { inner: Arc::new(hmac_guard::ManualClock::at_secs(int_arg(now, "now")?)) })
    }

    /// Sets the time (Unix seconds).
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set_secs(int_arg(now, "now")?);
        Ok(())
    }

    /// Moves the clock by `secs` seconds (millisecond resolution; negative moves it back).
    fn advance(&self, secs: &Bound<'_, PyAny>) -> PyResult<()> {
        // A saturating float-to-int conversion is the intent here.
        #[allow(clippy::cast_possible_truncation)]
        let ms = (float_arg(secs, "secs")? * 1000.0).round() as i64;
        self.inner.advance_ms(ms);
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
