//! `Signer`: signs outgoing requests with the core's signer (RFC 9421 or the simple scheme). The
//! key goes through the core's key contract (`key_spec`), as `Guard(keys=[...])` does.

use std::sync::Arc;

use hmac_guard::config::{Spelling, Value, key_spec};
use hmac_guard::{DigestAlgorithm, Rfc9421SignOptions, SimpleSignOptions};
use pyo3::prelude::*;

use crate::convert::{Chunk, hashing, opt, py_str};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::head::head_from_args;
use crate::options::to_value;

/// Signs requests with one key. `sign()` returns the headers to add, as `(name, value)` pairs.
#[pyclass(frozen, module = "hmac_guard._native", name = "Signer")]
#[derive(Debug)]
pub(crate) struct PySigner {
    core: hmac_guard::Signer,
    /// The simple scheme (else RFC 9421).
    simple: bool,
    options: Rfc9421SignOptions,
}

/// An optional `str` argument that must be one of `allowed`'s words, or `ConfigError` naming it.
fn choice<T: Copy>(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>, name: &str, allowed: &[(&str, T)]) -> PyResult<Option<T>> {
    let Some(given) = opt::<String>(obj, name)? else { return Ok(None) };
    match allowed.iter().find(|(word, _)| *word == given) {
        Some(&(_, value)) => Ok(Some(value)),
        None => {
            let words: Vec<&str> = allowed.iter().map(|(word, _)| *word).collect();
            Err(py_error(py, hmac_guard::ErrorCode::InvalidConfig, format!("{name} must be one of {}", words.join(", "))))
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
            if let Some(clock) = opt::<Arc<hmac_guard::ManualClock>>(clock, "clock")? {
                core = core.with_clock(clock);
            }
            let simple = choice(py, scheme, "scheme", &[("rfc9421", false), ("simple", true)])?.unwrap_or(false);
            let digests = [("sha-256", DigestAlgorithm::Sha256), ("sha-512", DigestAlgorithm::Sha512)];
            let defaults = Rfc9421SignOptions::default();
            let expires_in = opt(expires_in, "expires_in")?;
            let options = Rfc9421SignOptions {
                label: opt(label, "label")?.unwrap_or(defaults.label),
                components: opt(components, "components")?,
                expires_in,
                tag: opt(tag, "tag")?,
                include_alg: opt(include_alg, "include_alg")?.unwrap_or(defaults.include_alg),
                digest: choice(py, digest, "digest", &digests)?.unwrap_or(defaults.digest),
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
        self.sign_with_base(py, method, url, headers, body, created, nonce, components, url_scheme).map(|(h, _)| h)
    }

    /// As `sign` (same arguments), also returning the signature base those headers sign:
    /// `(headers, base)`, the base as `Guard.explain(...).signature_base` reports it.
    #[pyo3(signature = (method, url, headers = None, body = None, *, created = None, nonce = None, components = None, url_scheme = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign_with_base(
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
    ) -> PyResult<(Vec<(String, String)>, String)> {
        shield(py, || {
            let (created, nonce, components) = (opt(created, "created")?, opt(nonce, "nonce")?, opt(components, "components")?);
            let head = head_from_args(py, method, url, headers, url_scheme)?;
            let body: Option<Chunk<'_>> = opt(body, "body")?;
            let data = body.as_ref().map_or(&[][..], Chunk::as_slice);
            let run = || {
                if self.simple {
                    let opts = SimpleSignOptions { timestamp: created, nonce };
                    return self.core.sign_simple_with_base(&head.method, head.path_and_query(), data, &opts);
                }
                let components = components.or_else(|| self.options.components.clone());
                let opts = Rfc9421SignOptions { created, nonce, components, ..self.options.clone() };
                self.core.sign_rfc9421_with_base(&head, data, &opts)
            };
            hashing(py, data.len(), run).py_err(py)
        })
    }

    fn __repr__(&self) -> String {
        format!("Signer(key_id={}, scheme={})", py_str(self.core.key_id()), py_str(self.scheme()))
    }
}
