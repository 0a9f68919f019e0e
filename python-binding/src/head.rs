//! Request heads from Python arguments (or a WSGI environ), written into a reused buffer.
//!
//! Allocating a head's dozen strings afresh on every call cost more than converting them, so each
//! `Guard` refills one [`HeadBuf`] in place (a call that finds it taken fills a fresh one). It is
//! emptied before and after every use: one request's headers are never seen by the next.

use hmac_guard::{ErrorCode, RequestHead};
use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::{str_arg, wrong_type};
use crate::errors::py_error;
use crate::pystr::with_str;

/// Strings that grew larger than this are dropped instead of kept for the next request (one huge
/// header must not pin its memory in the guard for ever).
const KEEP_CAPACITY: usize = 4096;
/// At most this many header pairs are kept between requests (in the head and in `spare` each).
const KEEP_PAIRS: usize = 64;

/// A request head refilled in place: between uses every string is empty, and earlier header pairs
/// stay (emptied) for reuse; `ready` cuts the list to what this request filled.
#[derive(Debug, Default)]
pub(crate) struct HeadBuf {
    head: RequestHead,
    /// Header pairs filled for the current request (a prefix of `head.headers`).
    used: usize,
    /// Something may have been written since the last `clear`.
    dirty: bool,
    /// Emptied pairs beyond what recent requests used (last one first).
    spare: Vec<(String, String)>,
}

impl HeadBuf {
    /// Empties every string (keeping capacities within [`KEEP_CAPACITY`]).
    fn clear(&mut self) {
        self.dirty = false;
        self.used = 0;
        let head = &mut self.head;
        recycle(&mut head.method);
        recycle(&mut head.target);
        recycle(&mut head.scheme);
        head.headers.truncate(KEEP_PAIRS);
        for (name, value) in &mut head.headers {
            recycle(name);
            recycle(value);
        }
    }

    /// The next empty header pair.
    fn push_pair(&mut self) -> &mut (String, String) {
        let headers = &mut self.head.headers;
        if self.used == headers.len() {
            headers.push(self.spare.pop().unwrap_or_default());
        }
        self.used += 1;
        &mut headers[self.used - 1]
    }

    /// The head as filled: pairs left over from a longer earlier request move to `spare`.
    fn ready(&mut self) -> &RequestHead {
        if self.head.headers.len() > self.used {
            let room = KEEP_PAIRS.saturating_sub(self.spare.len());
            self.spare.extend(self.head.headers.drain(self.used..).rev().take(room));
        }
        &self.head
    }
}

/// Empties `s`, or replaces it when it holds more memory than worth keeping.
fn recycle(s: &mut String) {
    if s.capacity() > KEEP_CAPACITY {
        *s = String::new();
    } else {
        s.clear();
    }
}

/// The guard's reusable head.
#[derive(Debug, Default)]
pub(crate) struct HeadCache {
    buf: Mutex<HeadBuf>,
}

impl HeadCache {
    /// Fills a head with `fill`, then runs `use_head` on it: in the cached buffer when free, else
    /// in a fresh one (never waits). Keep `use_head` short: it holds the lock.
    pub(crate) fn with_head<T>(
        &self,
        fill: impl FnOnce(&mut HeadBuf) -> PyResult<()>,
        use_head: impl FnOnce(&RequestHead) -> PyResult<T>,
    ) -> PyResult<T> {
        let Some(mut buf) = self.buf.try_lock() else {
            let mut fresh = HeadBuf::default();
            fill(&mut fresh)?;
            return use_head(fresh.ready());
        };
        // A panic in an earlier call may have left contents behind: start empty.
        if buf.dirty {
            buf.clear();
        }
        buf.dirty = true;
        let result = fill(&mut buf).and_then(|()| use_head(buf.ready()));
        buf.clear();
        result
    }
}

/// Appends the `str` argument `what` to `out`; a lone surrogate is `ERR_MALFORMED_HEADER`, as the
/// core answers any other unusable head.
fn push_str(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str, out: &mut String) -> PyResult<()> {
    with_str(str_arg(obj, what)?, |text| out.push_str(text))
        .map_err(|_| py_error(py, ErrorCode::MalformedHeader, format!("{what} is not valid text")))
}

/// Header text: `str` as is, `bytes` decoded as Latin-1 (what WSGI does with raw header bytes).
fn push_header_text(py: Python<'_>, obj: &Bound<'_, PyAny>, what: &str, out: &mut String) -> PyResult<()> {
    if obj.is_instance_of::<PyString>() {
        return push_str(py, obj, what, out);
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let raw = b.as_bytes();
        match std::str::from_utf8(raw) {
            Ok(ascii) if raw.is_ascii() => out.push_str(ascii),
            _ => out.extend(raw.iter().map(|&c| char::from(c))),
        }
        return Ok(());
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

/// Method, target and URL scheme (lowercased): the scheme of an absolute URL, else `url_scheme`,
/// else empty, and the core takes its default (`hmac_guard::config::DEFAULT_URL_SCHEME`).
fn fill_start_line(
    py: Python<'_>,
    buf: &mut HeadBuf,
    method: Option<&Bound<'_, PyAny>>,
    url: &Bound<'_, PyAny>,
    url_scheme: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let head = &mut buf.head;
    match method {
        Some(m) => push_str(py, m, "method", &mut head.method)?,
        None => head.method.push_str("GET"),
    }
    push_str(py, url, "url", &mut head.target)?;
    let target = head.target.as_str();
    match (target.split_once("://").filter(|_| !target.starts_with('/')), url_scheme) {
        (Some((s, _)), _) => head.scheme.push_str(s),
        (None, Some(s)) => push_str(py, s, "url_scheme", &mut head.scheme)?,
        (None, None) => {}
    }
    head.scheme.make_ascii_lowercase();
    Ok(())
}

/// `Guard.begin/verify/explain` arguments: `headers` is a mapping (anything with `.items()`:
/// dict, Werkzeug/Starlette headers), an iterable of `(name, value)` pairs, or `None`; repeated
/// names are kept in order.
pub(crate) fn fill_from_args(
    py: Python<'_>,
    buf: &mut HeadBuf,
    method: &Bound<'_, PyAny>,
    url: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    url_scheme: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    fill_start_line(py, buf, Some(method), url, url_scheme)?;
    let Some(headers) = headers else { return Ok(()) };
    // Lists and tuples of pairs (what the adapters pass) go first: probing them for `.items()`
    // would raise and discard an AttributeError on every request.
    if let Ok(list) = headers.cast::<PyList>() {
        list.iter().try_for_each(|item| push_pair_item(py, buf, &item))
    } else if let Ok(tuple) = headers.cast::<PyTuple>() {
        tuple.iter().try_for_each(|item| push_pair_item(py, buf, &item))
    } else if let Ok(d) = headers.cast::<PyDict>() {
        d.iter().try_for_each(|(name, value)| push_pair(py, buf, &name, &value))
    } else {
        let iter = if headers.hasattr("items")? && !headers.is_instance_of::<PyString>() {
            headers.call_method0("items")?.try_iter()?
        } else {
            headers.try_iter().map_err(|_| wrong_type("headers", "a mapping or an iterable of (name, value) pairs", headers))?
        };
        iter.into_iter().try_for_each(|item| push_pair_item(py, buf, &item?))
    }
}

/// One `(name, value)` item: a 2-tuple, or any 2-sequence (ASGI servers may hand over
/// `[name, value]` lists).
fn push_pair_item(py: Python<'_>, buf: &mut HeadBuf, item: &Bound<'_, PyAny>) -> PyResult<()> {
    let pair = || PyTypeError::new_err("headers must be a mapping or an iterable of (name, value) pairs");
    match item.cast::<PyTuple>() {
        Ok(t) if t.len() == 2 => {
            let (name, value) = (t.get_borrowed_item(0)?, t.get_borrowed_item(1)?);
            push_pair(py, buf, &name, &value)
        }
        Ok(_) => Err(pair()),
        Err(_) => {
            let (name, value) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().map_err(|_| pair())?;
            push_pair(py, buf, &name, &value)
        }
    }
}

fn push_pair(py: Python<'_>, buf: &mut HeadBuf, name: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let (n, v) = buf.push_pair();
    push_header_text(py, name, "a header name", n)?;
    push_header_text(py, value, "a header value", v)
}

/// A WSGI environ (PEP 3333): method `REQUEST_METHOD` (default `GET`), URL scheme
/// `wsgi.url_scheme` (absent: the core's default), the given request-target, and as headers every `HTTP_*`
/// variable (`HTTP_X_API_KEY` -> `X-API-KEY`) plus `CONTENT_TYPE`/`CONTENT_LENGTH` when not empty,
/// in the environ's order. Exactly what `hmac_guard._wsgi.request_head` produces.
pub(crate) fn fill_from_environ(
    py: Python<'_>,
    buf: &mut HeadBuf,
    environ: &Bound<'_, PyAny>,
    target: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let get = |key: &str| -> PyResult<Option<Bound<'_, PyString>>> {
        environ_get(environ, key)?
            .map(|v| v.cast_into::<PyString>().map_err(|e| PyTypeError::new_err(format!("environ[{key:?}]: {e}"))))
            .transpose()
    };
    let method = get("REQUEST_METHOD")?;
    let url_scheme = get("wsgi.url_scheme")?;
    fill_start_line(py, buf, method.as_ref().map(|m| m.as_any()), target, url_scheme.as_ref().map(|s| s.as_any()))?;
    if let Ok(d) = environ.cast_exact::<PyDict>() {
        return d.iter().try_for_each(|(key, value)| push_environ_item(py, buf, &key, &value));
    }
    environ.call_method0("items")?.try_iter()?.try_for_each(|item| {
        let (key, value) = item?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
        push_environ_item(py, buf, &key, &value)
    })
}

/// `environ.get(key)` (`None` for a missing key or a `None` value).
pub(crate) fn environ_get<'py>(environ: &Bound<'py, PyAny>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let value = match environ.cast_exact::<PyDict>() {
        Ok(d) => d.get_item(key)?,
        Err(_) => Some(environ.call_method1("get", (key,))?),
    };
    Ok(value.filter(|v| !v.is_none()))
}

/// One environ variable: `HTTP_*` as a header, `CONTENT_TYPE`/`CONTENT_LENGTH` when not empty.
fn push_environ_item(py: Python<'_>, buf: &mut HeadBuf, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let Ok(key) = key.cast::<PyString>() else { return Ok(()) };
    let pushed = with_str(key, |k| {
        let name = match k.strip_prefix("HTTP_") {
            Some(name) => name,
            None if (k == "CONTENT_TYPE" || k == "CONTENT_LENGTH") && value.is_truthy()? => k,
            None => return Ok(()),
        };
        let (n, v) = buf.push_pair();
        n.extend(name.chars().map(|c| if c == '_' { '-' } else { c }));
        push_header_text(py, value, "a header value", v)
    });
    match pushed {
        Ok(result) => result,
        // Not valid Unicode (a lone surrogate): unreadable as a header name, else not a header.
        Err(_) if key.to_string_lossy().starts_with("HTTP_") => {
            Err(py_error(py, ErrorCode::MalformedHeader, "a header name is not valid text"))
        }
        Err(_) => Ok(()),
    }
}

/// A head of its own (for the calls that keep it: `explain`, `Signer.sign`).
pub(crate) fn head_from_args(
    py: Python<'_>,
    method: &Bound<'_, PyAny>,
    url: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    url_scheme: Option<&Bound<'_, PyAny>>,
) -> PyResult<RequestHead> {
    let mut buf = HeadBuf::default();
    fill_from_args(py, &mut buf, method, url, headers, url_scheme)?;
    buf.ready();
    Ok(buf.head)
}
