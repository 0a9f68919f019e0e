//! The Python binding of hmac-guard: the extension module `hmac_guard._native`. It translates
//! Python calls into the core and never re-implements a check: options reach the core's one
//! configuration contract as plain values (`options.rs`), arguments are checked for their shape
//! only (`convert.rs`, `head.rs`), core errors become `hmac_guard._errors` classes and a panic
//! `InternalError` (`errors.rs`). Store steps and large hashes run with the GIL released; an event
//! loop awaits the claim instead (`awaitable.rs`).

mod awaitable;
mod cli;
mod clock;
mod convert;
mod errors;
mod explanation;
mod guard;
mod head;
mod observe;
mod options;
mod pystr;
mod signer;
mod verification;
mod webhook;

use hmac_guard::ErrorCode;
use hmac_guard::config::{FIELDS, Spelling, Value, key_spec};
use pyo3::prelude::*;

use crate::errors::IntoPyResult as _;

/// Test hook: panics inside the binding, to prove a panic surfaces as `InternalError`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    errors::shield(py, || -> PyResult<()> { std::panic::panic_any("hmac-guard: deliberate test panic") })
}

/// Test hook: panics inside an awaited future (as `Verification.finish_async` polls the core's),
/// to prove that panic surfaces as `InternalError` too, not as pyo3's `PanicException`.
#[pyfunction]
async fn _panic_async_for_tests() -> PyResult<()> {
    let r = awaitable::Relayed::<()>::new(async { std::panic::panic_any("hmac-guard: deliberate test panic") }).await;
    Python::attach(|py| r.py_err(py))
}

/// Test hook for the RFC 4231 vectors: the core's `Key::mac` of `data` under `secret`.
#[pyfunction]
fn _mac_for_vectors(py: Python<'_>, algorithm: &Bound<'_, PyAny>, secret: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<Vec<u8>> {
    errors::shield(py, || {
        let key = Value::map([
            ("id", Value::str("vector")),
            ("secret", options::to_value(secret)?),
            ("algorithm", options::to_value(algorithm)?),
        ]);
        Ok(hmac_guard::Key::new(key_spec(&key, Spelling::Python).py_err(py)?).py_err(py)?.mac(data))
    })
}

/// Whether a request announces a body, from its raw `Content-Length` and `Transfer-Encoding`
/// values (the core's `intake::announces_body`): what adapters ask before closing after a refusal
/// and for `Accept-Signature`.
#[pyfunction]
#[pyo3(signature = (content_length, transfer_encoding))]
fn announces_body(content_length: Option<&str>, transfer_encoding: Option<&str>) -> bool {
    hmac_guard::intake::announces_body(content_length, transfer_encoding)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    pystr::init(m.py());
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let error_codes: Vec<_> = ErrorCode::ALL.iter().map(|c| (c.as_str(), c.status(), c.message())).collect();
    m.add("ERROR_CODES", error_codes)?;
    m.add("GIL_RELEASE_THRESHOLD", convert::GIL_RELEASE_THRESHOLD)?;
    let fields: Vec<_> = FIELDS.iter().map(|f| (f.id, f.name(Spelling::Python))).collect();
    m.add("CONFIG_FIELDS", fields)?;
    m.add_class::<guard::PyGuard>()?;
    m.add_class::<verification::PyVerification>()?;
    m.add_class::<verification::PyVerified>()?;
    m.add_class::<verification::PyReplayTicket>()?;
    m.add_class::<explanation::PyExplanation>()?;
    m.add_class::<clock::PyManualClock>()?;
    m.add_class::<signer::PySigner>()?;
    m.add_class::<webhook::PyWebhook>()?;
    m.add_class::<webhook::PyRefusal>()?;
    m.add_class::<webhook::PySignedWebhook>()?;
    m.add_function(wrap_pyfunction!(webhook::sign_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(webhook::webhook_handled, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_async_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_mac_for_vectors, m)?)?;
    m.add_function(wrap_pyfunction!(pystr::_str_fast_path, m)?)?;
    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(announces_body, m)?)?;
    Ok(())
}
