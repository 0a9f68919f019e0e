//! The Python binding of hmac-guard: the extension module `hmac_guard._native`.
//!
//! It translates Python calls into the `hmac_guard` core and never re-implements a check: options
//! go to the core's one configuration contract as plain values (`options.rs`), and arguments are
//! checked for their shape only (`convert.rs`, `head.rs`). Core errors become the exception classes of `hmac_guard._errors` (one per error code, each
//! carrying `.code` and `.status`); a Rust panic becomes `InternalError`, never pyo3's
//! `PanicException`. The replay-store step always runs with the GIL released, and so does the
//! hashing of `Guard.verify` bodies and of streamed chunks of 2 KiB and more. Request heads are
//! refilled in place in a buffer per guard (`head.rs`), and `str` arguments are read without a
//! temporary copy where the interpreter allows (`pystr.rs`).

mod cli;
mod clock;
mod convert;
mod errors;
mod explanation;
mod guard;
mod head;
mod options;
mod pystr;
mod signer;
mod verification;

use pyo3::prelude::*;

pub use hmac_guard::ErrorCode;

/// `(code, status, message)` for every core error code, in declaration order.
fn error_codes() -> Vec<(&'static str, u16, &'static str)> {
    ErrorCode::ALL.iter().map(|c| (c.as_str(), c.status(), c.message())).collect()
}

/// Test hook: panics inside the binding, to prove a panic surfaces as `InternalError`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::shield(py, || -> PyResult<()> { std::panic::panic_any("hmac-guard: deliberate test panic") })
}

/// Test hook for the RFC 4231 vectors: the core's HMAC (`Key::mac`, the precomputed-state path
/// every verification uses) of `data` under `secret`. Key rules apply (32-byte minimum).
#[pyfunction]
fn _mac_for_vectors(py: Python<'_>, algorithm: &Bound<'_, PyAny>, secret: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<Vec<u8>> {
    use errors::IntoPyResult as _;
    use hmac_guard::config::{Spelling, Value, key_spec};
    errors::shield(py, || {
        let key = Value::map([
            ("id", Value::str("vector")),
            ("secret", options::to_value(secret)?),
            ("algorithm", options::to_value(algorithm)?),
        ]);
        Ok(hmac_guard::Key::new(key_spec(&key, Spelling::Python).py_err(py)?).py_err(py)?.mac(data))
    })
}

/// Test hook: whether `str` arguments are read without a copy on this interpreter
/// (`PyUnicode_AsUTF8AndSize`, CPython >= 3.10 on Linux, macOS, FreeBSD).
#[pyfunction]
fn _str_fast_path() -> bool {
    pystr::fast_path()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    pystr::init(m.py());
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ERROR_CODES", error_codes())?;
    m.add("GIL_RELEASE_THRESHOLD", convert::GIL_RELEASE_THRESHOLD)?;
    m.add("CONFIG_FIELDS", options::config_fields())?;
    m.add_class::<guard::PyGuard>()?;
    m.add_class::<verification::PyVerification>()?;
    m.add_class::<verification::PyVerified>()?;
    m.add_class::<verification::PyReplayTicket>()?;
    m.add_class::<explanation::PyExplanation>()?;
    m.add_class::<clock::PyManualClock>()?;
    m.add_class::<signer::PySigner>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_mac_for_vectors, m)?)?;
    m.add_function(wrap_pyfunction!(_str_fast_path, m)?)?;
    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    Ok(())
}
