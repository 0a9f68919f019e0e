//! The UTF-8 text of a Python `str` without a temporary `bytes` object where the interpreter
//! allows it. Under `abi3-py39` pyo3 copies a `str` through `PyUnicode_AsUTF8String`, since
//! `PyUnicode_AsUTF8AndSize` joined the limited API only in 3.10; on CPython >= 3.10 [`init`]
//! looks that function up once and [`with_str`] borrows the string's own UTF-8 buffer (measured:
//! +0.5 µs per call without it). Elsewhere pyo3's copying path; the wheel stays abi3 for 3.9+.

use std::borrow::Cow;
use std::ffi::c_char;
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// `const char *PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size)` (stable ABI: 3.10+).
type AsUtf8AndSize = unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::Py_ssize_t) -> *const c_char;

/// Set once by [`init`]; `None` (or never set) means the copying path.
static AS_UTF8_AND_SIZE: OnceLock<Option<AsUtf8AndSize>> = OnceLock::new();

/// Looks the function up on CPython >= 3.10 (from the module's init). Idempotent.
pub(crate) fn init(py: Python<'_>) {
    AS_UTF8_AND_SIZE.get_or_init(|| if py.version_info() >= (3, 10) { lookup() } else { None });
}

/// Test hook: whether [`with_str`] reads without copying.
#[pyfunction]
pub(crate) fn _str_fast_path() -> bool {
    matches!(AS_UTF8_AND_SIZE.get(), Some(Some(_)))
}

#[cfg(all(unix, any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd")))]
#[allow(unsafe_code)]
fn lookup() -> Option<AsUtf8AndSize> {
    use std::ffi::c_void;
    unsafe extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    // RTLD_DEFAULT: the global symbol scope the extension module itself was linked against.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let default_scope: *mut c_void = std::ptr::null_mut();
    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    let default_scope: *mut c_void = std::ptr::without_provenance_mut(usize::MAX - 1); // (void *)-2
    // SAFETY: `dlsym` with a NUL-terminated name only reads; a missing symbol is a null pointer.
    let sym = unsafe { dlsym(default_scope, c"PyUnicode_AsUTF8AndSize".as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // SAFETY: the symbol is the interpreter's `PyUnicode_AsUTF8AndSize`, whose C signature
    // (stable ABI, CPython >= 3.10; checked by `init`) is exactly `AsUtf8AndSize`.
    Some(unsafe { std::mem::transmute::<*mut c_void, AsUtf8AndSize>(sym) })
}

/// Elsewhere (Windows, other Unixes) the copying path: correct, just slower.
#[cfg(not(all(unix, any(target_os = "linux", target_os = "android", target_vendor = "apple", target_os = "freebsd"))))]
fn lookup() -> Option<AsUtf8AndSize> {
    None
}

/// Runs `f` on the UTF-8 text of `s`; `UnicodeEncodeError` for lone surrogates.
pub(crate) fn with_str<R>(s: &Bound<'_, PyString>, f: impl FnOnce(&str) -> R) -> PyResult<R> {
    if let Some(Some(as_utf8)) = AS_UTF8_AND_SIZE.get()
        && let Some(text) = borrow_utf8(s, *as_utf8)?
    {
        return Ok(f(text));
    }
    let text: Cow<'_, str> = s.to_cow()?;
    Ok(f(&text))
}

/// The string's UTF-8 buffer, which CPython keeps with the `str` object (its own data when ASCII,
/// else a cached copy). `None` only for a length that does not fit `usize` (never).
#[allow(unsafe_code)]
fn borrow_utf8<'a>(s: &'a Bound<'_, PyString>, as_utf8: AsUtf8AndSize) -> PyResult<Option<&'a str>> {
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: the GIL is held (`Bound`), `s` is a live `str` (the type check was done by the
    // `PyString` cast) and `len` is a valid out-pointer.
    let data = unsafe { as_utf8(s.as_ptr(), &raw mut len) };
    if data.is_null() {
        return Err(PyErr::fetch(s.py()));
    }
    let Ok(len) = usize::try_from(len) else { return Ok(None) };
    // SAFETY: CPython returns a buffer of `len` bytes owned by `s`, immutable and alive while `s`
    // is (a `str` is immutable; the returned lifetime is tied to the borrow of `s`).
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: `PyUnicode_AsUTF8AndSize` returns valid UTF-8 or fails (a `str` that cannot be
    // encoded, i.e. one with lone surrogates, raises `UnicodeEncodeError` above).
    Ok(Some(unsafe { std::str::from_utf8_unchecked(bytes) }))
}
