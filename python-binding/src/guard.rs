//! `Guard`, `Verification`, `Verified`, `ReplayTicket`, `Explanation`, `ManualClock`.

use std::sync::Arc;
use std::time::Duration;

use hmac_guard::{
    Clock, ErrorCode, Explanation, GuardBuilder, HeaderLimits, KeyRing, MemoryStore, MemoryStoreConfig, Outcome, Policy,
    RedisStore, RedisStoreConfig, ReplayMode, ReplayStore, ReplayTicket, Rfc9421, Rfc9421Config, Simple, SystemClock,
    Verification, Verified,
};
use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyByteArray, PyBytes, PyString};

use crate::convert::{Chunk, GIL_RELEASE_THRESHOLD, extract_chunk, key_spec, key_spec_from_mapping};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::head::{HeadCache, environ_get, fill_from_args, fill_from_environ, head_from_args};

/// The environment variable that selects the Redis store when `redis_url` is not given.
const REDIS_URL_ENV: &str = "HMAC_GUARD_REDIS_URL";

/// The environment variable naming a PEM file with the private CA of a `rediss://` Redis, used
/// when `redis_tls_ca_pem` is not given and a Redis URL is in use.
const REDIS_TLS_CA_FILE_ENV: &str = "HMAC_GUARD_REDIS_TLS_CA_FILE";

/// Content-Length as a number when it is a plain decimal `str` of at most 18 digits, else `None`
/// (then the body is read up to the limit and the core judges the header).
fn declared_length(value: &Bound<'_, PyAny>) -> Option<i64> {
    let s = value.cast::<PyString>().ok()?;
    crate::pystr::with_str(s, |text| {
        let digits = !text.is_empty() && text.len() <= 18 && text.bytes().all(|c| c.is_ascii_digit());
        if digits { text.parse().ok() } else { None }
    })
    .ok()
    .flatten()
}

/// The body as one `bytes`: the chunk itself when the stream returned a single `bytes`.
fn join_chunks<'py>(py: Python<'py>, chunks: Vec<Chunk<'py>>) -> Bound<'py, PyBytes> {
    match chunks.as_slice() {
        [Chunk::Borrowed(b)] if b.is_exact_instance_of::<PyBytes>() => b.clone(),
        [] => PyBytes::new(py, b""),
        _ => {
            let total = chunks.iter().map(|c| c.as_slice().len()).sum();
            let mut body = Vec::with_capacity(total);
            for c in &chunks {
                body.extend_from_slice(c.as_slice());
            }
            PyBytes::new(py, &body)
        }
    }
}

/// A Python-style string literal for `__repr__`.
pub(crate) fn py_str(s: &str) -> String {
    format!("'{}'", s.escape_default())
}

fn py_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_string(), py_str)
}

/// A clock that only moves when told to, for tests: `Guard(clock=ManualClock(1700000000))`.
#[pyclass(frozen, module = "hmac_guard._native", name = "ManualClock")]
#[derive(Debug)]
pub(crate) struct PyManualClock {
    pub(crate) inner: Arc<hmac_guard::ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(now: i64) -> Self {
        PyManualClock { inner: Arc::new(hmac_guard::ManualClock::at_secs(now)) }
    }

    /// Sets the time (Unix seconds).
    fn set(&self, now: i64) {
        self.inner.set_secs(now);
    }

    /// Moves the clock by `secs` seconds (millisecond resolution; negative moves it back).
    fn advance(&self, secs: f64) {
        // Saturating float-to-int conversion is the intent here.
        #[allow(clippy::cast_possible_truncation)]
        let ms = (secs * 1000.0).round() as i64;
        self.inner.advance_ms(ms);
    }

    /// The time in whole Unix seconds.
    fn now(&self) -> i64 {
        self.inner.now_secs()
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.inner.now_secs())
    }
}

pub(crate) fn clock_of(clock: Option<&Bound<'_, PyManualClock>>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => Arc::clone(&c.get().inner) as Arc<dyn Clock>,
        None => Arc::new(SystemClock),
    }
}

/// `value` as the setting's own integer type, or `ConfigError` naming the setting.
fn in_range<T: TryFrom<i64>>(py: Python<'_>, name: &str, value: i64) -> PyResult<T> {
    T::try_from(value).map_err(|_| py_error(py, ErrorCode::InvalidConfig, format!("{name} = {value} is out of range")))
}

/// The bytes of `redis_tls_ca_pem`: `bytes`, `bytearray` or `str` (taken as UTF-8).
fn extract_pem(pem: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = pem.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = pem.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(s) = pem.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err("redis_tls_ca_pem must be bytes or str (PEM)"))
}

/// The private CA for the Redis store and the name of where it came from (for errors): the
/// argument when given, else the file named by HMAC_GUARD_REDIS_TLS_CA_FILE when that is set and
/// not empty. A file that cannot be read is a configuration error naming the variable and the
/// path, never anything of the contents.
fn redis_tls_ca(py: Python<'_>, given: Option<&Bound<'_, PyAny>>) -> PyResult<Option<(Vec<u8>, String)>> {
    if let Some(pem) = given {
        return Ok(Some((extract_pem(pem)?, "redis_tls_ca_pem".into())));
    }
    let Some(path) = std::env::var_os(REDIS_TLS_CA_FILE_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(path);
    match std::fs::read(&path) {
        Ok(pem) => Ok(Some((pem, format!("the CA in {REDIS_TLS_CA_FILE_ENV} ({})", path.display())))),
        Err(e) => Err(py_error(
            py,
            ErrorCode::InvalidConfig,
            format!("{REDIS_TLS_CA_FILE_ENV} names a file that cannot be read ({}: {e})", path.display()),
        )),
    }
}

/// A configured verifier. Thread-safe; share one per application.
#[pyclass(frozen, module = "hmac_guard._native", name = "Guard")]
#[derive(Debug)]
pub(crate) struct PyGuard {
    core: hmac_guard::Guard,
    store_kind: &'static str,
    /// The request head each call refills (see `head.rs`).
    heads: HeadCache,
}

#[pymethods]
impl PyGuard {
    #[new]
    #[pyo3(signature = (
        *,
        scheme = "rfc9421",
        keys = None,
        max_age_secs = 300,
        max_future_skew_secs = 30,
        body_limit = 1_048_576,
        require_nonce = true,
        required_components = None,
        required_params = None,
        accepted_labels = None,
        required_tag = None,
        replay = "consume",
        reserve_hold_secs = 60,
        store_capacity = 1_000_000,
        per_key_quota = None,
        max_header_len = 8192,
        clock = None,
        redis_url = None,
        redis_prefix = "hmac-guard",
        redis_timeout_ms = 250,
        redis_fail_open = false,
        redis_tls_ca_pem = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        scheme: &str,
        keys: Option<&Bound<'_, PyAny>>,
        max_age_secs: i64,
        max_future_skew_secs: i64,
        body_limit: i64,
        require_nonce: bool,
        required_components: Option<Vec<String>>,
        required_params: Option<Vec<String>>,
        accepted_labels: Option<Vec<String>>,
        required_tag: Option<String>,
        replay: &str,
        reserve_hold_secs: i64,
        store_capacity: i64,
        per_key_quota: Option<i64>,
        max_header_len: i64,
        clock: Option<&Bound<'_, PyManualClock>>,
        redis_url: Option<String>,
        redis_prefix: &str,
        redis_timeout_ms: i64,
        redis_fail_open: bool,
        redis_tls_ca_pem: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        shield(py, || {
            let config_error = |reason: String| py_error(py, ErrorCode::InvalidConfig, reason);
            // Out-of-range numbers are configuration errors, not OverflowError.
            let max_age_secs = in_range(py, "max_age_secs", max_age_secs)?;
            let max_future_skew_secs = in_range(py, "max_future_skew_secs", max_future_skew_secs)?;
            let body_limit = in_range(py, "body_limit", body_limit)?;
            let reserve_hold_secs = in_range(py, "reserve_hold_secs", reserve_hold_secs)?;
            let store_capacity = in_range(py, "store_capacity", store_capacity)?;
            let per_key_quota = per_key_quota.map(|q| in_range(py, "per_key_quota", q)).transpose()?;
            let max_header_len = in_range(py, "max_header_len", max_header_len)?;
            let scheme: Arc<dyn hmac_guard::Scheme> = match scheme {
                "rfc9421" => {
                    let defaults = Rfc9421Config::default();
                    Arc::new(
                        Rfc9421::new(Rfc9421Config {
                            required_components: required_components.unwrap_or(defaults.required_components),
                            required_params: required_params.unwrap_or(defaults.required_params),
                            accepted_labels,
                            required_tag,
                        })
                        .py_err(py)?,
                    )
                }
                "simple" => {
                    let rfc_only = [
                        ("required_components", required_components.is_some()),
                        ("required_params", required_params.is_some()),
                        ("accepted_labels", accepted_labels.is_some()),
                        ("required_tag", required_tag.is_some()),
                    ];
                    if let Some((name, _)) = rfc_only.iter().find(|(_, set)| *set) {
                        return Err(config_error(format!("{name} applies to the rfc9421 scheme only")));
                    }
                    Arc::new(Simple)
                }
                other => return Err(config_error(format!("unknown scheme {other:?} (rfc9421, simple)"))),
            };
            let replay = match replay {
                "consume" => ReplayMode::Consume,
                "reserve" => ReplayMode::Reserve { hold_secs: reserve_hold_secs },
                other => return Err(config_error(format!("unknown replay mode {other:?} (consume, reserve)"))),
            };
            let ring = Arc::new(KeyRing::new());
            if let Some(keys) = keys {
                for item in keys.try_iter()? {
                    ring.upsert(key_spec_from_mapping(py, &item?)?).py_err(py)?;
                }
            }
            // No `redis_url` (None) means HMAC_GUARD_REDIS_URL, so one variable moves a whole
            // deployment to Redis; "" means this process's memory (Node: `redisUrl: null` or "").
            // A variable that is set but unreadable is an error, not a silent in-memory store.
            let redis_url = match redis_url {
                Some(url) if url.is_empty() => None,
                Some(url) => Some(url),
                None => match std::env::var(REDIS_URL_ENV) {
                    Ok(url) if !url.is_empty() => Some(url),
                    Ok(_) | Err(std::env::VarError::NotPresent) => None,
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(config_error(format!("{REDIS_URL_ENV} is not valid UTF-8")));
                    }
                },
            };
            let (store, store_kind): (Arc<dyn ReplayStore>, &'static str) = match redis_url {
                None => {
                    if redis_tls_ca_pem.is_some() {
                        return Err(config_error(format!("redis_tls_ca_pem needs redis_url (or {REDIS_URL_ENV})")));
                    }
                    let config = MemoryStoreConfig { capacity: store_capacity, per_key_quota, shards: None };
                    (Arc::new(MemoryStore::new(config).py_err(py)?), "memory")
                }
                Some(url) => {
                    if per_key_quota.is_some() {
                        return Err(config_error("per_key_quota applies to the in-memory store only".into()));
                    }
                    let mut config = RedisStoreConfig::new(url);
                    config.prefix = redis_prefix.to_string();
                    config.timeout = Duration::from_millis(in_range(py, "redis_timeout_ms", redis_timeout_ms)?);
                    config.fail_open = redis_fail_open;
                    // The core names the setting `tls_ca_pem`: errors name the argument or the
                    // variable it came from instead.
                    let (pem, source) = redis_tls_ca(py, redis_tls_ca_pem)?.unzip();
                    config.tls_ca_pem = pem;
                    let store = RedisStore::new(config).map_err(|e| match &source {
                        Some(source) if e.reason().contains("tls_ca_pem") => {
                            let core_name =
                                if e.reason().contains("redis tls_ca_pem") { "redis tls_ca_pem" } else { "tls_ca_pem" };
                            py_error(py, e.code(), e.reason().replace(core_name, source))
                        }
                        _ => crate::errors::to_pyerr(py, &e),
                    })?;
                    (Arc::new(store), "redis")
                }
            };
            let policy = Policy {
                max_age_secs,
                max_future_skew_secs,
                body_limit,
                header_limits: HeaderLimits { max_header_len, ..HeaderLimits::default() },
                require_nonce,
                replay,
                trust_proxy: false,
            };
            let core = GuardBuilder::default()
                .scheme(scheme)
                .keys(ring)
                .store(store)
                .clock(clock_of(clock))
                .policy(policy)
                .build()
                .py_err(py)?;
            Ok(PyGuard { core, store_kind, heads: HeadCache::default() })
        })
    }

    /// The replay store: `memory` (per process) or `redis` (shared; blocking round trips, so
    /// async adapters run the final step in a worker thread).
    #[getter]
    fn store(&self) -> &'static str {
        self.store_kind
    }

    /// The signature scheme: `rfc9421` or `simple`.
    #[getter]
    fn scheme(&self) -> &'static str {
        self.core.scheme().name()
    }

    /// The largest body accepted, in bytes.
    #[getter]
    fn body_limit(&self) -> u64 {
        self.core.policy().body_limit
    }

    /// The key ids in the ring, sorted.
    fn key_ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        shield(py, || Ok(self.core.keys().ids()))
    }

    /// Adds a key or replaces the key with the same id (verifications in flight keep theirs).
    #[pyo3(signature = (id, secret, *, algorithm = "hmac-sha256", subject = None, not_before = None, not_after = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_key(
        &self,
        py: Python<'_>,
        id: String,
        secret: &Bound<'_, PyAny>,
        algorithm: &str,
        subject: Option<String>,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> PyResult<()> {
        shield(py, || {
            let spec = key_spec(py, id, secret, algorithm, subject, not_before, not_after)?;
            self.core.keys().upsert(spec).py_err(py)
        })
    }

    /// Removes a key; returns whether it was present.
    fn remove_key(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        shield(py, || Ok(self.core.keys().remove(id)))
    }

    /// Runs every check that needs no body (headers, key, window, declared length, and the MAC
    /// where a signed digest binds the body) and returns a streaming `Verification`.
    #[pyo3(signature = (method, url, headers, *, url_scheme = None))]
    fn begin(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyString>,
        url: &Bound<'_, PyString>,
        headers: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyString>>,
    ) -> PyResult<PyVerification> {
        shield(py, || {
            let fill = |buf: &mut _| fill_from_args(py, buf, method, url, headers, url_scheme);
            let v = self.heads.with_head(fill, |head| self.core.begin(head).map(Box::new).py_err(py))?;
            Ok(PyVerification::new(v))
        })
    }

    /// Verifies a WSGI request (the Flask extension's and the WSGI middleware's whole step, in one
    /// call): the head comes from the environ (as `hmac_guard._wsgi.request_head` reads it, with
    /// `target` as the request-target), every header check runs before anything is read, then
    /// the body is read from `stream` in chunks of at most `chunk_size` bytes and fed to the
    /// verification, never more than `body_limit + 1` bytes (nor more than a Content-Length
    /// within the limit), so an oversized body fails as soon as the limit is crossed. Without a
    /// Content-Length the body is read only when the server sets `wsgi.input_terminated`
    /// (PEP 3333), else it is empty. Returns the result and the exact body bytes.
    /// `stream` defaults to `environ["wsgi.input"]`.
    #[pyo3(signature = (environ, target, stream = None, chunk_size = 65536))]
    fn verify_environ<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        target: &Bound<'py, PyString>,
        stream: Option<&Bound<'py, PyAny>>,
        chunk_size: i64,
    ) -> PyResult<(PyVerified, Bound<'py, PyBytes>)> {
        if chunk_size < 1 {
            // read(0) would read nothing and read(-1) everything, before any limit check.
            return Err(py_error(py, ErrorCode::InvalidConfig, format!("chunk_size = {chunk_size} must be at least 1")));
        }
        shield(py, || {
            let fill = |buf: &mut _| fill_from_environ(py, buf, environ, target);
            let mut v = self.heads.with_head(fill, |head| self.core.begin(head).map(Box::new).py_err(py))?;
            let stream = match stream {
                Some(s) if !s.is_none() => s.clone(),
                _ => environ.get_item(intern!(py, "wsgi.input"))?,
            };
            let length = environ_get(environ, "CONTENT_LENGTH")?;
            let readable = match &length {
                Some(l) if l.is_truthy()? => true,
                _ => environ_get(environ, "wsgi.input_terminated")?.map_or(Ok(false), |t| t.is_truthy())?,
            };
            let mut chunks: Vec<Chunk<'py>> = Vec::new();
            if readable {
                let limit = i64::try_from(self.core.policy().body_limit).unwrap_or(i64::MAX - 1);
                let mut room = limit.saturating_add(1);
                // With a Content-Length within the limit, stop after that many bytes instead of
                // asking the stream for an EOF it would answer with b"" (the core still checks
                // the count).
                if let Some(declared) = length.as_ref().and_then(declared_length)
                    && declared < room
                {
                    room = declared;
                }
                while room > 0 {
                    let data = stream.call_method1(intern!(py, "read"), (chunk_size.min(room),))?;
                    if !data.is_truthy()? {
                        break;
                    }
                    let size = i64::try_from(data.len()?).unwrap_or(i64::MAX);
                    let chunk = extract_chunk(&data)?;
                    let bytes = chunk.as_slice();
                    // Raises as soon as the limit is crossed.
                    let r = if bytes.len() >= GIL_RELEASE_THRESHOLD { py.detach(|| v.update(bytes)) } else { v.update(bytes) };
                    r.py_err(py)?;
                    chunks.push(chunk);
                    room = room.saturating_sub(size);
                }
            }
            let pending = v.finish_body().py_err(py)?;
            let verified = py.detach(|| pending.claim()).py_err(py)?;
            Ok((PyVerified::from(verified), join_chunks(py, chunks)))
        })
    }

    /// Verifies a request whose body is fully available (same code path as streaming).
    #[pyo3(signature = (method, url, headers, body = None, *, url_scheme = None))]
    fn verify(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyString>,
        url: &Bound<'_, PyString>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyString>>,
    ) -> PyResult<PyVerified> {
        shield(py, || {
            let fill = |buf: &mut _| fill_from_args(py, buf, method, url, headers, url_scheme);
            // Argument errors in order (headers, then body) before any check of the core's.
            let (mut v, chunk) = self.heads.with_head(fill, |head| {
                let chunk = body.filter(|b| !b.is_none()).map(extract_chunk).transpose()?;
                Ok((self.core.begin(head).py_err(py)?, chunk))
            })?;
            let data: &[u8] = chunk.as_ref().map_or(&[], |c| c.as_slice());
            // The rest in one section without the GIL: the store step must run without it (a
            // networked store blocks), and releasing once costs the same as releasing for the
            // claim alone. A `bytes` body is immutable; a mutable buffer was copied.
            let verified = py.detach(|| {
                v.update(data)?;
                v.finish()
            });
            Ok(PyVerified::from(verified.py_err(py)?))
        })
    }

    /// What the server computes for a request, check by check: signature base, covered
    /// components, each check's outcome. Never a secret or the expected MAC; never claims a nonce.
    #[pyo3(signature = (method, url, headers, body = None, *, url_scheme = None))]
    fn explain(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyString>,
        url: &Bound<'_, PyString>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyString>>,
    ) -> PyResult<PyExplanation> {
        shield(py, || {
            let head = head_from_args(py, method, url, headers, url_scheme)?;
            let chunk = body.filter(|b| !b.is_none()).map(extract_chunk).transpose()?;
            let data = chunk.as_ref().map(Chunk::as_slice);
            let core = &self.core;
            let ex = py.detach(|| core.explain(&head, data));
            Ok(PyExplanation::from(ex))
        })
    }

    fn __repr__(&self) -> String {
        let p = self.core.policy();
        let ids: Vec<String> = self.core.keys().ids().iter().map(|id| py_str(id)).collect();
        format!(
            "Guard(scheme={}, keys=[{}], max_age_secs={}, max_future_skew_secs={}, body_limit={}, store={})",
            py_str(self.core.scheme().name()),
            ids.join(", "),
            p.max_age_secs,
            p.max_future_skew_secs,
            p.body_limit,
            py_str(self.store_kind)
        )
    }
}

enum State {
    Ready(Box<Verification>),
    Busy,
    Finished,
}

/// A verification in progress: `update()` with each body chunk, then `finish()` once.
#[pyclass(frozen, module = "hmac_guard._native", name = "Verification")]
pub(crate) struct PyVerification {
    state: Mutex<State>,
}

impl PyVerification {
    fn new(v: Box<Verification>) -> Self {
        PyVerification { state: Mutex::new(State::Ready(v)) }
    }
}

impl std::fmt::Debug for PyVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verification")
    }
}

impl PyVerification {
    fn take(&self, py: Python<'_>, finishing: bool) -> PyResult<Box<Verification>> {
        let mut state = self.state.lock();
        match std::mem::replace(&mut *state, if finishing { State::Finished } else { State::Busy }) {
            State::Ready(v) => Ok(v),
            State::Busy => {
                *state = State::Busy;
                Err(py_error(py, ErrorCode::InvalidState, "the verification is in use by another thread"))
            }
            State::Finished => {
                *state = State::Finished;
                Err(py_error(py, ErrorCode::InvalidState, "the verification is already finished"))
            }
        }
    }
}

#[pymethods]
impl PyVerification {
    /// Feeds the next body chunk (`bytes`, `bytearray` or `memoryview`). Fails as soon as the
    /// bytes seen pass the body limit. Chunks of 2 KiB and more are hashed without the GIL.
    fn update(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        shield(py, || {
            let chunk = extract_chunk(data)?;
            let mut v = self.take(py, false)?;
            let bytes = chunk.as_slice();
            let r = if bytes.len() >= GIL_RELEASE_THRESHOLD { py.detach(|| v.update(bytes)) } else { v.update(bytes) };
            *self.state.lock() = State::Ready(v);
            r.py_err(py)
        })
    }

    /// Finishes the body checks and claims the nonce (without the GIL). Can be called once.
    fn finish(&self, py: Python<'_>) -> PyResult<PyVerified> {
        shield(py, || {
            let v = self.take(py, true)?;
            let pending = v.finish_body().py_err(py)?;
            let verified = py.detach(|| pending.claim()).py_err(py)?;
            Ok(PyVerified::from(verified))
        })
    }

    /// Body bytes fed so far.
    #[getter]
    fn bytes_seen(&self) -> u64 {
        match &*self.state.lock() {
            State::Ready(v) => v.bytes_seen(),
            State::Busy | State::Finished => 0,
        }
    }

    /// Whether `finish()` was called.
    #[getter]
    fn finished(&self) -> bool {
        matches!(&*self.state.lock(), State::Finished)
    }

    fn __repr__(&self) -> String {
        match &*self.state.lock() {
            State::Ready(v) => format!("Verification(key_id={}, bytes_seen={})", py_str(v.key_id()), v.bytes_seen()),
            State::Busy => "Verification(<busy>)".to_string(),
            State::Finished => "Verification(<finished>)".to_string(),
        }
    }
}

/// A verified request: act only on these values (`subject` is the only source of identity).
#[pyclass(frozen, module = "hmac_guard._native", name = "Verified")]
#[derive(Debug)]
pub(crate) struct PyVerified {
    /// Scheme that verified the request.
    #[pyo3(get)]
    scheme: &'static str,
    /// Signature label (RFC 9421).
    #[pyo3(get)]
    label: Option<String>,
    /// Key id that verified it.
    #[pyo3(get)]
    key_id: String,
    /// The key's configured subject (principal).
    #[pyo3(get)]
    subject: Option<String>,
    /// The key's algorithm.
    #[pyo3(get)]
    algorithm: &'static str,
    /// Signature creation time (Unix seconds).
    #[pyo3(get)]
    created: Option<i64>,
    /// Signature expiry (Unix seconds).
    #[pyo3(get)]
    expires: Option<i64>,
    /// The nonce that was claimed.
    #[pyo3(get)]
    nonce: Option<String>,
    /// Application tag.
    #[pyo3(get)]
    tag: Option<String>,
    covered: hmac_guard::Covered,
    /// Body bytes verified.
    #[pyo3(get)]
    body_len: u64,
    ticket: Option<ReplayTicket>,
}

impl From<Verified> for PyVerified {
    fn from(v: Verified) -> Self {
        PyVerified {
            scheme: v.scheme,
            label: v.label,
            key_id: v.key_id,
            subject: v.subject,
            algorithm: v.algorithm.name(),
            created: v.created,
            expires: v.expires,
            nonce: v.nonce,
            tag: v.tag,
            covered: v.covered,
            body_len: v.body_len,
            ticket: v.replay_ticket,
        }
    }
}

#[pymethods]
impl PyVerified {
    /// The signed value of a covered component (`@path`, `content-type`, or a serialized
    /// identifier such as `"@query-param";name="id"`), or `None`.
    fn component(&self, id: &str) -> Option<&str> {
        self.covered.get(id)
    }

    /// Covered components and their signed values, in signing order.
    #[getter]
    fn covered(&self) -> Vec<(String, String)> {
        self.covered.to_vec()
    }

    /// In `replay="reserve"` mode, the reservation to commit or release; else `None`.
    #[getter]
    fn replay_ticket(&self) -> Option<PyReplayTicket> {
        self.ticket.clone().map(|t| PyReplayTicket { inner: t })
    }

    fn __repr__(&self) -> String {
        format!(
            "Verified(scheme={}, key_id={}, subject={}, created={}, nonce={}, body_len={})",
            py_str(self.scheme),
            py_str(&self.key_id),
            py_opt(self.subject.as_deref()),
            self.created.map_or_else(|| "None".to_string(), |c| c.to_string()),
            py_opt(self.nonce.as_deref()),
            self.body_len
        )
    }
}

/// A two-phase replay reservation (`Guard(replay="reserve")`): `commit()` once the handler
/// succeeded, `release()` when it failed so the sender's retry is accepted.
#[pyclass(frozen, module = "hmac_guard._native", name = "ReplayTicket")]
#[derive(Debug)]
pub(crate) struct PyReplayTicket {
    inner: ReplayTicket,
}

#[pymethods]
impl PyReplayTicket {
    /// Marks the delivery as processed for the rest of its window.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        shield(py, || {
            let t = &self.inner;
            py.detach(|| t.commit()).py_err(py)
        })
    }

    /// Drops the reservation so a retry can succeed.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        shield(py, || {
            let t = &self.inner;
            py.detach(|| t.release()).py_err(py)
        })
    }
}

/// The report of `Guard.explain`. `str(explanation)` is a readable multi-line report.
#[pyclass(frozen, module = "hmac_guard._native", name = "Explanation")]
#[derive(Debug)]
pub(crate) struct PyExplanation {
    /// Scheme name.
    #[pyo3(get)]
    scheme: &'static str,
    /// Signature label (RFC 9421).
    #[pyo3(get)]
    label: Option<String>,
    /// Key id the request names.
    #[pyo3(get)]
    key_id: Option<String>,
    /// Covered components and their values as the server sees them.
    #[pyo3(get)]
    covered: Vec<(String, String)>,
    /// The exact bytes the MAC runs over (`<body>` where the MAC covers the body itself).
    #[pyo3(get)]
    signature_base: Option<String>,
    /// `(check, outcome, detail)`: outcome `pass`, `fail` (detail = error code) or `skip`.
    #[pyo3(get)]
    checks: Vec<(String, String, Option<String>)>,
    /// The first failure's code, or `None`.
    #[pyo3(get)]
    error_code: Option<String>,
    /// The first failure's internal reason, or `None`.
    #[pyo3(get)]
    error_reason: Option<String>,
    text: String,
}

impl From<Explanation> for PyExplanation {
    fn from(ex: Explanation) -> Self {
        let checks = ex
            .checks
            .iter()
            .map(|(name, outcome)| {
                let (kind, detail) = match outcome {
                    Outcome::Passed => ("pass", None),
                    Outcome::Failed(e) => ("fail", Some(e.code().as_str().to_string())),
                    Outcome::NotRun(why) => ("skip", Some((*why).to_string())),
                };
                ((*name).to_string(), kind.to_string(), detail)
            })
            .collect();
        PyExplanation {
            scheme: ex.scheme,
            label: ex.label.clone(),
            key_id: ex.key_id.clone(),
            covered: ex.covered.clone(),
            signature_base: ex.signature_base.clone(),
            checks,
            error_code: ex.error.as_ref().map(|e| e.code().as_str().to_string()),
            error_reason: ex.error.as_ref().map(|e| e.reason().to_string()),
            text: ex.to_string(),
        }
    }
}

#[pymethods]
impl PyExplanation {
    /// Whether every check that ran passed.
    #[getter]
    fn ok(&self) -> bool {
        self.error_code.is_none()
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Explanation(scheme={}, key_id={}, error_code={})",
            py_str(self.scheme),
            py_opt(self.key_id.as_deref()),
            py_opt(self.error_code.as_deref())
        )
    }
}
