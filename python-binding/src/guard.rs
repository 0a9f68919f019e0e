//! `Guard`: a configured verifier. Its options go to the core's one configuration contract as
//! they are (`options.rs`); the request methods translate heads and bodies and call the core.

use std::sync::Arc;

use hmac_guard::config::{Spelling, Value, key_spec};
use hmac_guard::{ErrorCode, GuardConfig};
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyBytes, PyDict, PyString};
use pyo3::{PyTraverseError, intern};

use crate::convert::{Chunk, arg, hashing, opt, py_str, str_arg};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::explanation::PyExplanation;
use crate::head::{HeadCache, environ_get, fill_from_args, fill_from_environ, head_from_args};
use crate::observe::{PyReporter, install, metric_labels, raised_refusal, refusal};
use crate::options::to_value;
use crate::verification::{PyVerification, PyVerified};
use crate::webhook::{PyRefusal, refusal_for};

/// Content-Length as a number when it is a plain decimal `str` of at most 18 digits, else `None`
/// (then the body is read up to the limit and the core judges the header).
fn declared_length(value: &Bound<'_, PyAny>) -> Option<i64> {
    let digits = |t: &str| !t.is_empty() && t.len() <= 18 && t.bytes().all(|c| c.is_ascii_digit());
    crate::pystr::with_str(value.cast::<PyString>().ok()?, |t| if digits(t) { t.parse().ok() } else { None }).ok().flatten()
}

/// The body as one `bytes`: the chunk itself when the stream returned a single `bytes`.
fn join_chunks<'py>(py: Python<'py>, chunks: &[Chunk<'py>]) -> Bound<'py, PyBytes> {
    match chunks {
        [Chunk::Borrowed(b)] if b.is_exact_instance_of::<PyBytes>() => b.clone(),
        _ => PyBytes::new(py, &chunks.iter().map(Chunk::as_slice).collect::<Vec<_>>().concat()),
    }
}

/// A configured verifier. Thread-safe; share one per application.
#[pyclass(frozen, module = "hmac_guard._native", name = "Guard")]
#[derive(Debug)]
pub(crate) struct PyGuard {
    core: hmac_guard::Guard,
    store_kind: &'static str,
    /// JSON, as the core reports them.
    settings: String,
    /// `expose_reasons`: adapters add the error's reason to their error responses.
    expose_reasons: bool,
    /// `default`, `off` or `custom`, as the core chose.
    logger_choice: &'static str,
    /// Delivers the core's events to the Python hook and logger, when any.
    reporter: Option<Arc<PyReporter>>,
    heads: HeadCache,
}

/// `json.loads(text)`.
fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import(intern!(py, "json"))?.call_method1(intern!(py, "loads"), (text,))
}

#[pymethods]
impl PyGuard {
    /// `Guard(**options)`: keyword arguments only, named and checked by the core (Python
    /// spelling); an unknown or bad one is `ConfigError` naming it.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        shield(py, || {
            let values = options.map_or(Ok(Value::Null), |o| to_value(o.as_any()))?;
            let built = GuardConfig::from_options(&values, Spelling::Python).and_then(GuardConfig::build).py_err(py)?;
            let reporter = install(py, &built.guard, &built.observe, options)?;
            Ok(PyGuard {
                core: built.guard,
                store_kind: built.store_kind,
                settings: built.settings,
                expose_reasons: built.expose_reasons,
                logger_choice: built.observe.logger.name(),
                reporter,
                heads: HeadCache::default(),
            })
        })
    }

    /// The effective settings, defaults filled in, by canonical id (`policy.max_age_secs`, ...).
    /// Nothing that could be a secret is listed.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_loads(py, &self.settings)
    }

    /// Where log lines go: `default` (the `hmac_guard` logger), `off` or `custom`.
    #[getter]
    fn logger_choice(&self) -> &'static str {
        self.logger_choice
    }

    /// The counters and the replay store's health, as the core snapshots them (a `dict`).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_loads(py, &self.core.monitor().stats_json(Spelling::Python, self.core.keys()))
    }

    /// The Prometheus metric families: `[{name, type, help, samples: [{name, labels, value}]}]`.
    fn metric_families<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_loads(py, &self.core.monitor().families_json(self.core.keys()))
    }

    /// The metrics in the Prometheus text format, each sample with the `labels` given too.
    #[pyo3(signature = (labels = None))]
    fn metrics(&self, py: Python<'_>, labels: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        let extra = metric_labels(labels)?;
        self.core.monitor().prometheus_text(self.core.keys(), &extra).py_err(py)
    }

    /// Requests accepted without replay protection (a fail-open store that could not answer).
    #[getter]
    fn fail_open_uses(&self) -> u64 {
        self.core.monitor().fail_open_uses()
    }

    /// Counts and reports a refusal an adapter made itself (`code`: `"ERR_..."`), e.g. a body
    /// another middleware consumed first.
    fn refused(&self, code: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.refused(&refusal(code, reason)?);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.reporter.as_ref().map_or(Ok(()), |r| r.traverse(&visit))
    }

    fn __clear__(&self) {
        if let Some(r) = &self.reporter {
            r.clear();
        }
    }

    /// The replay store: `memory` (per process) or `redis` (shared; its round trip waits on the
    /// network, so async adapters await `Verification.finish_async()` for the final step).
    #[getter]
    fn store(&self) -> &'static str {
        self.store_kind
    }

    /// Whether the adapters add the error's reason to their error responses (development only).
    #[getter]
    fn expose_reasons(&self) -> bool {
        self.expose_reasons
    }

    /// The signature scheme: `rfc9421`, `simple` or a webhook preset (`stripe`, ...).
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
    /// The fields are those of a `keys=[...]` entry (`algorithm`, `subject`, `not_before`,
    /// `not_after` as keywords), checked by the same code; errors name `key.<field>`.
    #[pyo3(signature = (id, secret, **fields))]
    fn add_key(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        secret: &Bound<'_, PyAny>,
        fields: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        shield(py, || {
            let mut key = vec![("id".to_string(), to_value(id)?), ("secret".to_string(), to_value(secret)?)];
            if let Some(Value::Map(more)) = fields.map(|f| to_value(f.as_any())).transpose()? {
                key.extend(more);
            }
            let spec = key_spec(&Value::Map(key), Spelling::Python).py_err(py)?;
            self.core.keys().upsert(spec).py_err(py)
        })
    }

    /// Removes a key; returns whether it was present (`False` for a lone surrogate: no key has it).
    fn remove_key(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        shield(py, || Ok(str_arg(id, "id")?.to_cow().is_ok_and(|id| self.core.keys().remove(&id))))
    }

    /// Runs every check that needs no body (headers, key, window, declared length, and the MAC
    /// where a signed digest binds the body) and returns a streaming `Verification`.
    #[pyo3(signature = (method, url, headers, *, url_scheme = None))]
    fn begin(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyVerification> {
        shield(py, || {
            let fill = |buf: &mut _| fill_from_args(py, buf, method, url, headers, url_scheme);
            let v = self.heads.with_head(fill, |head| self.core.begin(head).map(Box::new).py_err(py))?;
            Ok(PyVerification::new(v))
        })
    }

    /// Verifies a WSGI request in one call (the Flask and WSGI adapters' whole step): the head from
    /// the environ (`target` is the request-target), every header check, then the body read from
    /// `stream` (default `environ["wsgi.input"]`) in chunks of at most `chunk_size`, failing as soon
    /// as the body limit is crossed; without a Content-Length only when the server sets
    /// `wsgi.input_terminated` (PEP 3333). Returns the result and the exact body bytes.
    #[pyo3(signature = (environ, target, stream = None, chunk_size = None))]
    fn verify_environ<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyAny>,
        target: &Bound<'py, PyAny>,
        stream: Option<&Bound<'py, PyAny>>,
        chunk_size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(PyVerified, Bound<'py, PyBytes>)> {
        let chunk_size = opt(chunk_size, "chunk_size")?.unwrap_or(65536);
        if chunk_size < 1 {
            // read(0) would read nothing and read(-1) everything, before any limit check.
            return Err(py_error(py, ErrorCode::InvalidConfig, format!("chunk_size = {chunk_size} must be at least 1")));
        }
        shield(py, || {
            let fill = |buf: &mut _| fill_from_environ(py, buf, environ, target);
            let mut v = self.heads.with_head(fill, |head| self.core.begin(head).map(Box::new).py_err(py))?;
            let stream = stream.map_or_else(|| environ.get_item(intern!(py, "wsgi.input")), |s| Ok(s.clone()))?;
            let length = environ_get(environ, "CONTENT_LENGTH")?;
            let readable = match &length {
                Some(l) if l.is_truthy()? => true,
                _ => environ_get(environ, "wsgi.input_terminated")?.map_or(Ok(false), |t| t.is_truthy())?,
            };
            // At most `body_limit + 1` bytes, and no more than a Content-Length within that: the
            // stream is not asked for an EOF it would answer with b"" (the core checks the count).
            let limit = i64::try_from(self.core.policy().body_limit).unwrap_or(i64::MAX - 1).saturating_add(1);
            let mut room = if readable { length.as_ref().and_then(declared_length).map_or(limit, |d| d.min(limit)) } else { 0 };
            let mut chunks = Vec::new();
            while room > 0 {
                let data = match stream.call_method1(intern!(py, "read"), (chunk_size.min(room),)) {
                    Ok(data) => data,
                    Err(e) => {
                        // The adapter's refusal (the body could not be read) is the verdict.
                        if let Some(refused) = raised_refusal(py, &e) {
                            v.refuse(&refused);
                        }
                        return Err(e);
                    }
                };
                if !data.is_truthy()? {
                    break;
                }
                let size = i64::try_from(data.len()?).unwrap_or(i64::MAX);
                let chunk: Chunk<'py> = arg(&data, "wsgi.input.read()")?;
                let bytes = chunk.as_slice();
                hashing(py, bytes.len(), || v.update(bytes)).py_err(py)?; // fails as soon as the limit is crossed
                chunks.push(chunk);
                room = room.saturating_sub(size);
            }
            let pending = v.finish_body().py_err(py)?;
            let verified = py.detach(|| pending.claim()).py_err(py)?;
            Ok((PyVerified::from(verified), join_chunks(py, &chunks)))
        })
    }

    /// Verifies a request whose body is fully available (same code path as streaming).
    #[pyo3(signature = (method, url, headers, body = None, *, url_scheme = None))]
    fn verify(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyVerified> {
        shield(py, || {
            let fill = |buf: &mut _| fill_from_args(py, buf, method, url, headers, url_scheme);
            // Argument errors in order (headers, then body) before any check of the core's.
            let (mut v, body) = self.heads.with_head(fill, |head| {
                let body: Option<Chunk<'_>> = opt(body, "body")?;
                Ok((self.core.begin(head).py_err(py)?, body))
            })?;
            let data = body.as_ref().map_or(&[][..], Chunk::as_slice);
            // The rest in one section without the GIL: the store step needs that anyway (a
            // networked store blocks). A `bytes` body is immutable; a mutable buffer was copied.
            let verified = py.detach(|| {
                v.update(data)?;
                v.finish()
            });
            Ok(PyVerified::from(verified.py_err(py)?))
        })
    }

    /// The `Accept-Signature` field value (RFC 9421 §5.1) a refusal with `code` (`"ERR_..."`)
    /// carries, as the core builds it: only for a 401 of the RFC 9421 scheme, else `None` (an
    /// unknown code too). `with_body`: the refused request announced a body.
    fn accept_signature(&self, code: &Bound<'_, PyAny>, with_body: bool) -> PyResult<Option<String>> {
        let code = str_arg(code, "code")?.to_cow().ok().and_then(|c| ErrorCode::from_code(&c));
        Ok(code.and_then(|c| self.core.accept_signature(c, with_body)))
    }

    /// The answer to a request refused with `error` (an `HmacGuardError`), as the core builds it
    /// (`Guard::refusal`): status, JSON body (with the reason when `expose_reasons`),
    /// `Accept-Signature`, `Connection: close` (`announced_body` and not `body_fully_read`) and
    /// `Retry-After`.
    fn refusal(&self, error: &Bound<'_, PyAny>, announced_body: bool, body_fully_read: bool) -> PyResult<PyRefusal> {
        let code: String = arg(&error.getattr(intern!(error.py(), "code"))?, "error.code")?;
        let reason: String = arg(&error.getattr(intern!(error.py(), "reason"))?, "error.reason")?;
        Ok(refusal_for(&self.core, &code, reason, announced_body, body_fully_read, self.expose_reasons))
    }

    /// The webhook preset this guard verifies (`stripe`, …); `ConfigError` for a guard of signed
    /// requests (the core's `webhook::preset_of`): a webhook receiver checks its guard with it.
    fn webhook_preset(&self, py: Python<'_>) -> PyResult<&'static str> {
        hmac_guard::webhook::preset_of(&self.core).map(hmac_guard::webhook::Preset::name).py_err(py)
    }

    /// Replaces a webhook preset's secrets at once (rotation without a restart): the list is
    /// checked as the `secrets` option is (the core's `config::rotate_secrets`).
    fn rotate_secrets(&self, py: Python<'_>, secrets: &Bound<'_, PyAny>) -> PyResult<()> {
        shield(py, || {
            let value = to_value(secrets)?;
            hmac_guard::config::rotate_secrets(&self.core, &value, Spelling::Python).py_err(py)
        })
    }

    /// What the server computes for a request, check by check: signature base, covered
    /// components, each check's outcome. Never a secret or the expected MAC; never claims a nonce.
    #[pyo3(signature = (method, url, headers, body = None, *, url_scheme = None))]
    fn explain(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyExplanation> {
        shield(py, || {
            let head = head_from_args(py, method, url, headers, url_scheme)?;
            let body: Option<Chunk<'_>> = opt(body, "body")?;
            let (core, data) = (&self.core, body.as_ref().map(Chunk::as_slice));
            Ok(PyExplanation::from(py.detach(|| core.explain(&head, data))))
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
