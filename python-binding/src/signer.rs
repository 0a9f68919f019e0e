//! `Signer`: signs outgoing requests with the core's signer (RFC 9421 or the simple scheme). The
//! key goes through the core's key contract (`key_spec`), as `Guard(keys=[...])` does.

use std::sync::Arc;

use hmac_guard::config::{DEFAULT_URL_SCHEME, Spelling, Value, key_spec};
use hmac_guard::{Clock, DigestAlgorithm, ErrorCode, Rfc9421SignOptions, SimpleSignOptions};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::clock::PyManualClock;
use crate::convert::{GIL_RELEASE_THRESHOLD, extract_chunk, int_arg, opt_text, opt_texts, out_of_range, py_str, wrong_type};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::head::head_from_args;
use crate::options::to_value;

const CONFIG: ErrorCode = ErrorCode::InvalidConfig;

/// Signs requests with one key. `sign()` returns the headers to add, as `(name, value)` pairs.
#[pyclass(frozen, module = "hmac_guard._native", name = "Signer")]
#[derive(Debug)]
pub(crate) struct PySigner {
    core: hmac_guard::Signer,
    /// The simple scheme (else RFC 9421).
    simple: bool,
    options: Rfc9421SignOptions,
}

/// One of a fixed set of words, or `ConfigError` naming the argument.
fn choice<T: Copy>(py: Python<'_>, name: &str, given: Option<String>, allowed: &[(&str, T)]) -> PyResult<Option<T>> {
    let Some(given) = given else { return Ok(None) };
    match allowed.iter().find(|(word, _)| *word == given) {
        Some((_, value)) => Ok(Some(*value)),
        None => {
            let words: Vec<&str> = allowed.iter().map(|(word, _)| *word).collect();
            Err(py_error(py, CONFIG, format!("{name} must be one of {}", words.join(", "))))
        }
    }
}

#[pymethods]
impl PySigner {
    #[new]
    #[pyo3(signature = (
        key_id,
        secret,
        *,
        algorithm = None,
        scheme = None,
        label = None,
        components = None,
        tag = None,
        include_alg = None,
        digest = None,
        expires_in = None,
        clock = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        key_id: &Bound<'_, PyAny>,
        secret: &Bound<'_, PyAny>,
        algorithm: Option<&Bound<'_, PyAny>>,
        scheme: Option<&Bound<'_, PyAny>>,
        label: Option<&Bound<'_, PyAny>>,
        components: Option<&Bound<'_, PyAny>>,
        tag: Option<&Bound<'_, PyAny>>,
        include_alg: Option<&Bound<'_, PyAny>>,
        digest: Option<&Bound<'_, PyAny>>,
        expires_in: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        shield(py, || {
            let algorithm = algorithm.map_or(Ok(Value::Null), to_value)?;
            let key = Value::map([("id", to_value(key_id)?), ("secret", to_value(secret)?), ("algorithm", algorithm)]);
            let mut core = hmac_guard::Signer::new(key_spec(&key, Spelling::Python).py_err(py)?).py_err(py)?;
            if let Some(c) = clock.filter(|c| !c.is_none()) {
                let c = c.cast::<PyManualClock>().map_err(|_| wrong_type("clock", "a ManualClock", c))?;
                core = core.with_clock(Arc::clone(&c.get().inner) as Arc<dyn Clock>);
            }
            let schemes = [("rfc9421", false), ("simple", true)];
            let simple = choice(py, "scheme", opt_text(py, scheme, "scheme", CONFIG)?, &schemes)?.unwrap_or(false);
            let digests = [("sha-256", DigestAlgorithm::Sha256), ("sha-512", DigestAlgorithm::Sha512)];
            let defaults = Rfc9421SignOptions::default();
            let expires_in = match expires_in.filter(|e| !e.is_none()) {
                None => None,
                Some(e) => {
                    let n = int_arg(py, e, "expires_in")?;
                    Some(u32::try_from(n).map_err(|_| out_of_range(py, "expires_in", "an integer", 0, u32::MAX))?)
                }
            };
            let options = Rfc9421SignOptions {
                label: opt_text(py, label, "label", CONFIG)?.unwrap_or(defaults.label),
                components: opt_texts(py, components, "components", CONFIG)?,
                expires_in,
                tag: opt_text(py, tag, "tag", CONFIG)?,
                include_alg: match include_alg.filter(|b| !b.is_none()) {
                    Some(b) => b.cast::<PyBool>().map_err(|_| wrong_type("include_alg", "a bool", b))?.is_true(),
                    None => defaults.include_alg,
                },
                digest: choice(py, "digest", opt_text(py, digest, "digest", CONFIG)?, &digests)?.unwrap_or(defaults.digest),
                ..defaults
            };
            Ok(PySigner { core, simple, options })
        })
    }

    /// The key id.
    #[getter]
    fn key_id(&self) -> &str {
        self.core.key_id()
    }

    /// `rfc9421` or `simple`.
    #[getter]
    fn scheme(&self) -> &'static str {
        if self.simple { "simple" } else { "rfc9421" }
    }

    /// The headers that sign this request. For `rfc9421`, `headers` must carry what the covered
    /// components need (`Host` for `@authority`, unless `url` is absolute); `created`/`nonce`
    /// default to now and 128 random bits.
    #[pyo3(signature = (method, url, headers = None, body = None, *, created = None, nonce = None, components = None, url_scheme = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        created: Option<&Bound<'_, PyAny>>,
        nonce: Option<&Bound<'_, PyAny>>,
        components: Option<&Bound<'_, PyAny>>,
        url_scheme: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<(String, String)>> {
        shield(py, || {
            let created = created.filter(|c| !c.is_none()).map(|c| int_arg(py, c, "created")).transpose()?;
            let nonce = opt_text(py, nonce, "nonce", CONFIG)?;
            let components = opt_texts(py, components, "components", CONFIG)?;
            let mut head = head_from_args(py, method, url, headers, url_scheme)?;
            // The core's signer does not fill in the scheme as its verifier does: give it the
            // core's default, so both sides cover the same `@scheme` and `@authority`.
            if head.scheme.is_empty() {
                head.scheme = DEFAULT_URL_SCHEME.to_string();
            }
            let chunk = body.filter(|b| !b.is_none()).map(|b| extract_chunk(b, "body")).transpose()?;
            let data: &[u8] = chunk.as_ref().map_or(&[], |c| c.as_slice());
            let run = || {
                if self.simple {
                    let opts = SimpleSignOptions { timestamp: created, nonce };
                    return self.core.sign_simple(&head.method, head.path_and_query(), data, &opts);
                }
                let components = components.or_else(|| self.options.components.clone());
                self.core.sign_rfc9421(&head, data, &Rfc9421SignOptions { created, nonce, components, ..self.options.clone() })
            };
            let out = if data.len() >= GIL_RELEASE_THRESHOLD { py.detach(run) } else { run() };
            out.py_err(py)
        })
    }

    fn __repr__(&self) -> String {
        format!("Signer(key_id={}, scheme={})", py_str(self.core.key_id()), py_str(self.scheme()))
    }
}
