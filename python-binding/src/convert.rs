//! Python values -> core types: request heads, body chunks, key specs. No checks of the core's
//! own live here: only the shape of the Python arguments is validated.

use hmac_guard::{Algorithm, ErrorCode, KeySpec, RequestHead};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyString, PyTuple};
use zeroize::Zeroizing;

use crate::errors::{IntoPyResult, py_error};

/// Bodies at least this long are hashed with the GIL released (CPython's hashlib uses the same
/// cutoff): below it, releasing and re-taking the GIL costs more than the hashing.
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

/// Header text: `str` as is, `bytes` decoded as Latin-1 (what WSGI does with raw header bytes).
fn header_text(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| py_error(py, ErrorCode::MalformedHeader, format!("{what} is not valid text")));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let raw = b.as_bytes();
        return Ok(match std::str::from_utf8(raw) {
            Ok(ascii) if raw.is_ascii() => ascii.to_owned(),
            _ => raw.iter().map(|&c| char::from(c)).collect(),
        });
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

/// Headers from a mapping (anything with `.items()`: dict, Werkzeug/Starlette headers) or an
/// iterable of `(name, value)` pairs; repeated names are kept in order.
pub(crate) fn extract_headers(py: Python<'_>, headers: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(headers) = headers else { return Ok(Vec::new()) };
    if headers.is_none() {
        return Ok(Vec::new());
    }
    // Lists and tuples of pairs (what the adapters pass) go first: probing them for `.items()`
    // would raise and discard an AttributeError on every request.
    let iter = if headers.is_instance_of::<PyList>() || headers.is_instance_of::<PyTuple>() {
        headers.try_iter()?
    } else if let Ok(d) = headers.cast::<PyDict>() {
        d.items().into_any().try_iter()?
    } else if headers.hasattr("items")? && !headers.is_instance_of::<PyString>() {
        headers.call_method0("items")?.try_iter()?
    } else {
        headers.try_iter()?
    };
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        let pair = || PyTypeError::new_err("headers must be a mapping or an iterable of (name, value) pairs");
        let (name, value) = match item.cast::<PyTuple>() {
            Ok(t) if t.len() == 2 => (t.get_item(0)?, t.get_item(1)?),
            Ok(_) => return Err(pair()),
            // ASGI servers may hand over [name, value] lists.
            Err(_) => item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().map_err(|_| pair())?,
        };
        out.push((header_text(py, &name, "a header name")?, header_text(py, &value, "a header value")?));
    }
    Ok(out)
}

/// A request head. `url` is an origin-form target (`/path?query`) or an absolute URL; the URL
/// scheme comes from an absolute URL, else from `url_scheme`, else `https`.
pub(crate) fn build_head(method: &str, url: &str, headers: Vec<(String, String)>, url_scheme: Option<&str>) -> RequestHead {
    let from_url = if url.starts_with('/') { None } else { url.split_once("://").map(|(s, _)| s) };
    let scheme = from_url.or(url_scheme).unwrap_or("https").to_ascii_lowercase();
    RequestHead::new(method, url, scheme, headers)
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
