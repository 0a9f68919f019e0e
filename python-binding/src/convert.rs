//! Plain arguments -> Rust values (options: `options.rs`; request heads: `head.rs`). Only an
//! argument's shape is checked: a wrong type is a `TypeError` naming it; no argument raises
//! `OverflowError` or `UnicodeEncodeError`.

use std::fmt::Display;
use std::sync::Arc;

use hmac_guard::ErrorCode;
use pyo3::exceptions::PyTypeError;
use pyo3::marker::Ungil;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyInt, PyMemoryView, PyString};

use crate::clock::PyManualClock;
use crate::errors::py_error;

/// Chunks at least this long are hashed without the GIL (hashlib's cutoff: below it, releasing
/// costs more than hashing).
pub(crate) const GIL_RELEASE_THRESHOLD: usize = 2048;

/// Runs `f`, which hashes `len` bytes, without the GIL when they are [`GIL_RELEASE_THRESHOLD`] or more.
pub(crate) fn hashing<T: Ungil>(py: Python<'_>, len: usize, f: impl Ungil + FnOnce() -> T) -> T {
    if len >= GIL_RELEASE_THRESHOLD { py.detach(f) } else { f() }
}

/// A body or body chunk: borrowed from an immutable `bytes`, or copied out of a mutable buffer so
/// no other thread can resize it while the GIL is released.
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

/// A Python argument as a Rust value; `name` is what its errors call it.
pub(crate) trait Arg<'py>: Sized {
    fn from_arg(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Self>;
}

/// A required argument.
pub(crate) fn arg<'py, T: Arg<'py>>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T> {
    T::from_arg(obj, name)
}

/// An optional argument (absent or `None`: `None`).
pub(crate) fn opt<'py, T: Arg<'py>>(obj: Option<&Bound<'py, PyAny>>, name: &str) -> PyResult<Option<T>> {
    obj.filter(|o| !o.is_none()).map(|o| T::from_arg(o, name)).transpose()
}

/// `bytes`, `bytearray` or `memoryview` (any buffer `memoryview.tobytes()` can copy).
impl<'py> Arg<'py> for Chunk<'py> {
    fn from_arg(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            Ok(Chunk::Borrowed(b.clone()))
        } else if let Ok(b) = obj.cast::<PyByteArray>() {
            Ok(Chunk::Owned(b.to_vec()))
        } else if obj.is_instance_of::<PyMemoryView>() {
            let copy = obj.call_method0("tobytes")?;
            Ok(Chunk::Borrowed(copy.cast_into::<PyBytes>().map_err(|e| PyTypeError::new_err(e.to_string()))?))
        } else {
            Err(wrong_type(name, "bytes, bytearray or memoryview", obj))
        }
    }
}

/// An `int`; one past `i64` is `ConfigError` (never `OverflowError`).
impl Arg<'_> for i64 {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if !obj.is_instance_of::<PyInt>() {
            return Err(wrong_type(name, "an int", obj));
        }
        obj.extract().map_err(|_| out_of_range(obj.py(), name, "an integer", i64::MIN, i64::MAX))
    }
}

impl Arg<'_> for u32 {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        u32::try_from(arg::<i64>(obj, name)?).map_err(|_| out_of_range(obj.py(), name, "an integer", 0, u32::MAX))
    }
}

impl Arg<'_> for bool {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        Ok(obj.cast::<PyBool>().map_err(|_| wrong_type(name, "a bool", obj))?.is_true())
    }
}

/// A `str`; one that is not valid Unicode (a lone surrogate) is `ConfigError` naming it.
impl Arg<'_> for String {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let invalid =
            |_| py_error(obj.py(), ErrorCode::InvalidConfig, format!("{name} is not valid Unicode (it holds a lone surrogate)"));
        str_arg(obj, name)?.to_cow().map(String::from).map_err(invalid)
    }
}

/// A sequence of `str` (a lone `str` is not one).
impl Arg<'_> for Vec<String> {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        let items = if obj.is_instance_of::<PyString>() { None } else { obj.try_iter().ok() };
        items.ok_or_else(|| wrong_type(name, "a list of str", obj))?.map(|item| arg(&item?, name)).collect()
    }
}

impl Arg<'_> for Arc<hmac_guard::ManualClock> {
    fn from_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        Ok(Arc::clone(&obj.cast::<PyManualClock>().map_err(|_| wrong_type(name, "a ManualClock", obj))?.get().inner))
    }
}

/// `TypeError: <name> must be <expected>, not <type>`.
pub(crate) fn wrong_type(name: &str, expected: &str, got: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!("{name} must be {expected}, not {}", type_name(got)))
}

/// The name of a value's type (never the value: it could be a secret).
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "object".to_string(), |n| n.to_string())
}

/// `ConfigError: <name> must be <what> from <min> to <max>`.
fn out_of_range(py: Python<'_>, name: &str, what: &str, min: impl Display, max: impl Display) -> PyErr {
    py_error(py, ErrorCode::InvalidConfig, format!("{name} must be {what} from {min} to {max}"))
}

/// Seconds (`int` or `float`) as whole milliseconds; past `i64` (or NaN) is `ConfigError`.
pub(crate) fn millis_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<i64> {
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
        Err(out_of_range(obj.py(), name, "a number", i64::MIN / 1000, i64::MAX / 1000))
    }
}

/// A `str` argument, or `TypeError` naming it.
pub(crate) fn str_arg<'a, 'py>(obj: &'a Bound<'py, PyAny>, name: &str) -> PyResult<&'a Bound<'py, PyString>> {
    obj.cast::<PyString>().map_err(|_| wrong_type(name, "a str", obj))
}

/// A Python-style string literal for `__repr__`.
pub(crate) fn py_str(s: &str) -> String {
    format!("'{}'", s.escape_default())
}

/// [`py_str`], or `None`.
pub(crate) fn py_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), py_str)
}
