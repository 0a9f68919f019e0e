//! Core errors become instances of the Python exception classes in `hmac_guard._errors`, and
//! no Rust panic ever reaches Python as anything but `hmac_guard.InternalError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use hmac_guard::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `hmac_guard._errors._from_native(code, reason) -> HmacGuardError`, imported once.
static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for a core error: the class registered for its code, carrying `.code`,
/// `.status`, `.message` (generic, safe for clients) and `.reason` (for logs; never a secret).
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    let factory =
        match FACTORY.get_or_try_init(py, || py.import("hmac_guard._errors")?.getattr("_from_native").map(Bound::unbind)) {
            Ok(f) => f,
            Err(import_failed) => return import_failed,
        };
    match factory.bind(py).call1((err.code().as_str(), err.reason())) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// Shorthand: a Python exception for a code and reason.
pub(crate) fn py_error(py: Python<'_>, code: ErrorCode, reason: impl Into<String>) -> PyErr {
    to_pyerr(py, &Error::new(code, reason))
}

/// Extension trait: `core_result.py_err(py)?`.
pub(crate) trait IntoPyResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, &e))
    }
}

/// The reason of the `InternalError` a caught panic becomes.
pub(crate) const PANIC_REASON: &str = "unexpected internal failure in hmac-guard (a Rust panic was caught)";

/// Runs a binding entry point; a panic anywhere inside (including inside a `detach` section)
/// becomes `InternalError` (`ERR_INTERNAL`) instead of pyo3's `PanicException`.
pub(crate) fn shield<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => Err(py_error(py, ErrorCode::Internal, PANIC_REASON)),
    }
}
