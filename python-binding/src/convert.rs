//! Python values -> core types: body chunks, key specs (request heads: `head.rs`). No checks of the core's
//! own live here: only the shape of the Python arguments is validated.

use hmac_guard::{Algorithm, ErrorCode, KeySpec};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};
use zeroize::Zeroizing;

use crate::errors::{IntoPyResult, py_error};

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
        let copy = copy.cast_into::<PyBytes>().map_err(|_| PyTypeError::new_err("memoryview.tobytes() did not return bytes"))?;
        return Ok(Chunk::Borrowed(copy));
    }
    Err(PyTypeError::new_err(format!(
        "body must be bytes, bytearray or memoryview, not {}",
        data.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string())
    )))
}

/// Secret bytes from `bytes`, `bytearray` or `str` (UTF-8); the copy is wiped on drop.
pub(crate) fn extract_secret(secret: &Bound<'_, PyAny>) -> PyResult<Zeroizing<Vec<u8>>> {
    if let Ok(b) = secret.cast::<PyBytes>() {
        return Ok(Zeroizing::new(b.as_bytes().to_vec()));
    }
    if let Ok(b) = secret.cast::<PyByteArray>() {
        return Ok(Zeroizing::new(b.to_vec()));
    }
    if let Ok(s) = secret.cast::<PyString>() {
        return Ok(Zeroizing::new(s.to_cow()?.as_bytes().to_vec()));
    }
    Err(PyTypeError::new_err("secret must be bytes or str"))
}

pub(crate) fn algorithm(py: Python<'_>, name: &str) -> PyResult<Algorithm> {
    Algorithm::from_name(name).map_err(|e| hmac_guard::Error::new(ErrorCode::InvalidConfig, e.reason())).py_err(py)
}

/// Builds a key spec; shared by `Guard(keys=[...])`, `Guard.add_key` and `Signer`.
pub(crate) fn key_spec(
    py: Python<'_>,
    id: String,
    secret: &Bound<'_, PyAny>,
    algorithm_name: &str,
    subject: Option<String>,
    not_before: Option<i64>,
    not_after: Option<i64>,
) -> PyResult<KeySpec> {
    Ok(KeySpec { id, secret: extract_secret(secret)?, algorithm: algorithm(py, algorithm_name)?, subject, not_before, not_after })
}

const KEY_FIELDS: [&str; 6] = ["id", "secret", "algorithm", "subject", "not_before", "not_after"];

/// A key spec from a mapping `{id, secret, algorithm, subject, not_before, not_after}`.
/// Unknown fields are a configuration error (a misspelt `not_after` must not go unnoticed).
pub(crate) fn key_spec_from_mapping(py: Python<'_>, item: &Bound<'_, PyAny>) -> PyResult<KeySpec> {
    let Ok(map) = item.cast::<PyDict>() else {
        return Err(PyTypeError::new_err("each key must be a dict {id, secret, algorithm, subject, not_before, not_after}"));
    };
    for k in map.keys() {
        let name: String = k.extract().unwrap_or_default();
        if !KEY_FIELDS.contains(&name.as_str()) {
            return Err(py_error(
                py,
                ErrorCode::InvalidConfig,
                format!("unknown key field {name:?} (expected one of {KEY_FIELDS:?})"),
            ));
        }
    }
    let get = |name: &str| map.get_item(name);
    let Some(id) = get("id")? else { return Err(py_error(py, ErrorCode::InvalidConfig, "a key needs an \"id\"")) };
    let Some(secret) = get("secret")? else { return Err(py_error(py, ErrorCode::InvalidConfig, "a key needs a \"secret\"")) };
    let opt_str = |name: &str| -> PyResult<Option<String>> {
        match get(name)? {
            Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
            _ => Ok(None),
        }
    };
    let opt_int = |name: &str| -> PyResult<Option<i64>> {
        match get(name)? {
            Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
            _ => Ok(None),
        }
    };
    let algorithm_name = opt_str("algorithm")?.unwrap_or_else(|| "hmac-sha256".to_string());
    key_spec(py, id.extract()?, &secret, &algorithm_name, opt_str("subject")?, opt_int("not_before")?, opt_int("not_after")?)
}
