//! The guard's events delivered to Python: a [`Reporter`] holding the dispatch function that
//! `hmac_guard._observe.dispatcher` builds from the hook and the logger the core chose; the
//! refusals an adapter reports itself (`Guard.refused`, `Verification.refuse`); metric labels.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use hmac_guard::config::{ObserveOptions, Spelling, field};
use hmac_guard::{Error, ErrorCode, Event, Reporter};
use parking_lot::Mutex;
use pyo3::PyTraverseError;
use pyo3::exceptions::PyValueError;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::convert::{arg, str_arg, wrong_type};

/// Calls the Python dispatch function with each event's JSON.
#[derive(Debug)]
pub(crate) struct PyReporter {
    /// Locked only with the GIL held; `None` once the garbage collector cleared the guard.
    dispatch: Mutex<Option<Py<PyAny>>>,
}

impl Reporter for PyReporter {
    fn report(&self, event: &Event<'_>) {
        let json = event.to_json(Spelling::Python);
        // Runs on whatever thread reached the verdict, maybe without the GIL (the store step):
        // nothing may unwind into the core, and an interpreter shutting down gets no events.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            Python::try_attach(|py| {
                let Some(dispatch) = self.dispatch.lock().as_ref().map(|d| d.clone_ref(py)) else { return };
                if let Err(e) = dispatch.call1(py, (json,)) {
                    e.write_unraisable(py, Some(dispatch.bind(py)));
                }
            })
        }));
    }
}

impl PyReporter {
    /// The guard's part of the garbage collector's walk (the hook may refer to the guard).
    pub(crate) fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        match self.dispatch.try_lock() {
            Some(d) => d.as_ref().map_or(Ok(()), |d| visit.call(d)),
            None => Ok(()),
        }
    }

    pub(crate) fn clear(&self) {
        self.dispatch.lock().take();
    }
}

/// Installs a reporter when the core says one is needed; the hook and the logger are the
/// objects given as its options, the logger choice the core's.
pub(crate) fn install(
    py: Python<'_>,
    guard: &hmac_guard::Guard,
    observe: &ObserveOptions,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Option<Arc<PyReporter>>> {
    if !observe.reports() {
        return Ok(None);
    }
    let given = |id: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        options.map_or(Ok(None), |o| o.get_item(field(id).name(Spelling::Python)))
    };
    let (hook, logger) = (given("observe.on_event")?, given("observe.logger")?);
    let dispatch = py.import("hmac_guard._observe")?.getattr("dispatcher")?.call1((hook, logger, observe.logger.name()))?;
    let reporter = Arc::new(PyReporter { dispatch: Mutex::new(Some(dispatch.unbind())) });
    guard.monitor().set_reporter(Arc::clone(&reporter) as Arc<dyn Reporter>);
    Ok(Some(reporter))
}

/// The extra labels of `Guard.metrics()`: a mapping of `str` to `str` (the core checks the names).
pub(crate) fn metric_labels(labels: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(labels) = labels.filter(|l| !l.is_none()) else { return Ok(Vec::new()) };
    let items = labels
        .call_method0(intern!(labels.py(), "items"))
        .map_err(|_| wrong_type("labels", "a mapping of str to str", labels))?;
    items
        .try_iter()?
        .map(|item| {
            let (k, v) = item?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
            Ok((arg(&k, "labels")?, arg(&v, "labels")?))
        })
        .collect()
}

/// A refusal from its code string and reason, for the core to count.
pub(crate) fn refusal(code: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>) -> PyResult<Error> {
    let code_text = str_arg(code, "code")?.to_cow().map(String::from).unwrap_or_default();
    let reason = str_arg(reason, "reason")?.to_cow().map(String::from).unwrap_or_default();
    let code = ErrorCode::from_code(&code_text).ok_or_else(|| PyValueError::new_err("code must be an hmac-guard error code"))?;
    Ok(Error::new(code, reason))
}

/// `hmac_guard._errors.HmacGuardError`, imported once.
static BASE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The refusal an adapter raised from inside a body read (an `HmacGuardError`, e.g.
/// `BadFramingError`), or `None` for any other exception.
pub(crate) fn raised_refusal(py: Python<'_>, err: &PyErr) -> Option<Error> {
    let base = BASE.get_or_try_init(py, || py.import("hmac_guard._errors")?.getattr("HmacGuardError").map(Bound::unbind)).ok()?;
    let value = err.value(py);
    if !value.is_instance(base.bind(py)).unwrap_or(false) {
        return None;
    }
    refusal(&value.getattr("code").ok()?, &value.getattr("reason").ok()?).ok()
}
