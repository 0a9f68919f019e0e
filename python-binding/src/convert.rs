//! Plain arguments -> Rust values: body chunks, numbers, text (options: `options.rs`; request
//! heads: `head.rs`). Only the shape of an argument is checked here: a wrong type is a `TypeError`
//! naming the argument; no argument raises `OverflowError` or `UnicodeEncodeError`.

use hmac_guard::ErrorCode;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView, PyString};

use crate::errors::py_error;

/// Streamed chunks (and bodies signed or read by the WSGI step) at least this long are hashed with
/// the GIL released (CPython's hashlib uses the same cutoff): below it, releasing and re-taking
/// the GIL costs more than the hashing. (`Guard.verify` releases it once for the whole body and
/// the store step, whatever the size: it has to for the store step anyway.)
pub(crate) const GIL_RELEASE_THRESHOLD: usize = 2048;

/// A body or body chunk: borrowed from an immutable `bytes` (safe to read without the GIL), or
/// copied out of a mutable buffer (`bytearray`, `memoryview`) so another thread cannot resize it
/// while the GIL is released.
pub(crate) enum Chunk<'py> {
    Borrowed(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

impl Chunk<'_> {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Borrowed(b) => b.as_bytes(),
            Chunk::Owned(v) => v,
        }
    }
}

/// Accepts `bytes`, `bytearray` and `memoryview` (any buffer `memoryview.tobytes()` can copy).
pub(crate) fn extract_chunk<'py>(data: &Bound<'py, PyAny>) -> PyResult<Chunk<'py>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(Chunk::Borrowed(b.clone()));
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(Chunk::Owned(b.to_vec()));
    }
    if data.is_instance_of::<PyMemoryView>() {
        let copy = data.call_method0("tobytes")?;
        return Ok(Chunk::Borrowed(copy.cast_into::<PyBytes>().map_err(|e| PyTypeError::new_err(e.to_string()))?));
    }
    Err(wrong_type("body", "bytes, bytearray or memoryview", data))
}

/// `TypeError: <name> must be <expected>, not <type>`.
pub(crate) fn wrong_type(name: &str, expected: &str, got: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{name} must be {expected}, not {}", type_name(got)))
}

/// The name of a value's type (never the value: it could be a secret).
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "object".to_string(), |n| n.to_string())
}

/// An `int` argument, saturated to `i64` (as the core saturates times and sizes).
pub(crate) fn int_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(wrong_type(name, "an int", obj));
    }
    Ok(obj.extract::<i64>().unwrap_or(if obj.lt(0)? { i64::MIN } else { i64::MAX }))
}

/// An `int` or `float` argument (an `int` too large for a float is an infinity).
pub(crate) fn float_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyInt>() {
        return Ok(obj.extract::<f64>().unwrap_or(if obj.lt(0)? { f64::NEG_INFINITY } else { f64::INFINITY }));
    }
    obj.extract::<f64>().map_err(|_| wrong_type(name, "a number", obj))
}

/// A `str` argument; one that is not valid Unicode (a lone surrogate) is the core error `code`
/// naming the argument.
pub(crate) fn text_arg(py: Python<'_>, obj: &Bound<'_, PyAny>, name: &str, code: ErrorCode) -> PyResult<String> {
    let s = obj.cast::<PyString>().map_err(|_| wrong_type(name, "a str", obj))?;
    s.to_cow()
        .map(String::from)
        .map_err(|_| py_error(py, code, format!("{name} is not valid Unicode (it holds a lone surrogate)")))
}

/// An optional `str` argument (`None`: absent).
pub(crate) fn opt_text(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>, name: &str, code: ErrorCode) -> PyResult<Option<String>> {
    obj.filter(|o| !o.is_none()).map(|o| text_arg(py, o, name, code)).transpose()
}

/// An optional sequence of `str` (`None`: absent; a lone `str` is not one).
pub(crate) fn opt_texts(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
    code: ErrorCode,
) -> PyResult<Option<Vec<String>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let items = if obj.is_instance_of::<PyString>() { None } else { obj.try_iter().ok() };
    let items = items.ok_or_else(|| wrong_type(name, "a list of str", obj))?;
    items.map(|item| text_arg(py, &item?, name, code)).collect::<PyResult<_>>().map(Some)
}

/// A Python-style string literal for `__repr__`.
pub(crate) fn py_str(s: &str) -> String {
    format!("'{}'", s.escape_default())
}

/// [`py_str`], or `None`.
pub(crate) fn py_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), py_str)
}
