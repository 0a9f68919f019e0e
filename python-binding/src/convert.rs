//! Plain arguments -> Rust values: body chunks, numbers, text (options: `options.rs`; request
//! heads: `head.rs`). Only the shape of an argument is checked here: a wrong type is a `TypeError`
//! naming the argument; no argument raises `OverflowError` or `UnicodeEncodeError`.

use std::fmt::Display;

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

/// The argument `name`: `bytes`, `bytearray` or `memoryview` (any buffer `memoryview.tobytes()` can copy).
pub(crate) fn extract_chunk<'py>(data: &Bound<'py, PyAny>, name: &str) -> PyResult<Chunk<'py>> {
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
    Err(wrong_type(name, "bytes, bytearray or memoryview", data))
}

/// `TypeError: <name> must be <expected>, not <type>`.
pub(crate) fn wrong_type(name: &str, expected: &str, got: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{name} must be {expected}, not {}", type_name(got)))
}

/// The name of a value's type (never the value: it could be a secret).
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "object".to_string(), |n| n.to_string())
}

/// An `int` argument; one past `i64` is `ConfigError` naming it (never `OverflowError`).
pub(crate) fn int_arg(py: Python<'_>, obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(wrong_type(name, "an int", obj));
    }
    obj.extract::<i64>().map_err(|_| out_of_range(py, name, "an integer", i64::MIN, i64::MAX))
}

/// `ConfigError: <name> must be <what> from <min> to <max>`.
pub(crate) fn out_of_range(py: Python<'_>, name: &str, what: &str, min: impl Display, max: impl Display) -> PyErr {
    py_error(py, ErrorCode::InvalidConfig, format!("{name} must be {what} from {min} to {max}"))
}

/// Seconds (`int` or `float`) as whole milliseconds; past `i64` (or NaN) is `ConfigError`.
pub(crate) fn millis_arg(py: Python<'_>, obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
    let secs = match obj.extract::<f64>() {
        Ok(secs) => secs,
        Err(_) if obj.is_instance_of::<PyInt>() => f64::INFINITY, // past a float's range
        Err(_) => return Err(wrong_type(name, "a number", obj)),
    };
    let ms = (secs * 1000.0).round();
    // Both bounds are exact as floats; every finite value between them converts exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    if ms >= -(i64::MAX as f64) && ms < i64::MAX as f64 {
        Ok(ms as i64)
    } else {
        Err(out_of_range(py, name, "a number", i64::MIN / 1000, i64::MAX / 1000))
    }
}

/// A `str` argument, or `TypeError` naming it.
pub(crate) fn str_arg<'a, 'py>(obj: &'a Bound<'py, PyAny>, name: &str) -> PyResult<&'a Bound<'py, PyString>> {
    obj.cast::<PyString>().map_err(|_| wrong_type(name, "a str", obj))
}

/// A `str` argument; one that is not valid Unicode (a lone surrogate) is the core error `code`
/// naming the argument.
pub(crate) fn text_arg(py: Python<'_>, obj: &Bound<'_, PyAny>, name: &str, code: ErrorCode) -> PyResult<String> {
    str_arg(obj, name)?
        .to_cow()
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
