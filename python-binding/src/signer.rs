//! `Signer`: signs outgoing requests with the core's signer (RFC 9421 or the simple scheme).

use hmac_guard::{DigestAlgorithm, ErrorCode, Rfc9421SignOptions, SimpleSignOptions};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{GIL_RELEASE_THRESHOLD, extract_chunk, key_spec};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::guard::{PyManualClock, clock_of, py_str};
use crate::head::head_from_args;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignScheme {
    Rfc9421,
    Simple,
}

/// Signs requests with one key. `sign()` returns the headers to add, as `(name, value)` pairs.
#[pyclass(frozen, module = "hmac_guard._native", name = "Signer")]
#[derive(Debug)]
pub(crate) struct PySigner {
    core: hmac_guard::Signer,
    scheme: SignScheme,
    options: Rfc9421SignOptions,
}

#[pymethods]
impl PySigner {
    #[new]
    #[pyo3(signature = (
        key_id,
        secret,
        *,
        algorithm = "hmac-sha256",
        scheme = "rfc9421",
        label = "sig1",
        components = None,
        tag = None,
        include_alg = false,
        digest = "sha-256",
        expires_in = None,
        clock = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        key_id: String,
        secret: &Bound<'_, PyAny>,
        algorithm: &str,
        scheme: &str,
        label: &str,
        components: Option<Vec<String>>,
        tag: Option<String>,
        include_alg: bool,
        digest: &str,
        expires_in: Option<u32>,
        clock: Option<&Bound<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        shield(py, || {
            let scheme = match scheme {
                "rfc9421" => SignScheme::Rfc9421,
                "simple" => SignScheme::Simple,
                other => {
                    return Err(py_error(py, ErrorCode::InvalidConfig, format!("unknown scheme {other:?} (rfc9421, simple)")));
                }
            };
            let digest = match digest {
                "sha-256" => DigestAlgorithm::Sha256,
                "sha-512" => DigestAlgorithm::Sha512,
                other => {
                    return Err(py_error(py, ErrorCode::InvalidConfig, format!("unknown digest {other:?} (sha-256, sha-512)")));
                }
            };
            let spec = key_spec(py, key_id, secret, algorithm, None, None, None)?;
            let core = hmac_guard::Signer::new(spec).py_err(py)?.with_clock(clock_of(clock));
            let options = Rfc9421SignOptions {
                label: label.to_string(),
                components,
                created: None,
                expires_in,
                nonce: None,
                tag,
                include_alg,
                digest,
            };
            Ok(PySigner { core, scheme, options })
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
        match self.scheme {
            SignScheme::Rfc9421 => "rfc9421",
            SignScheme::Simple => "simple",
        }
    }

    /// The headers that sign this request. For `rfc9421`, `headers` must carry what the covered
    /// components need (`Host` for `@authority`, unless `url` is absolute); `created`/`nonce`
    /// default to now and 128 random bits.
    #[pyo3(signature = (method, url, headers = None, body = None, *, created = None, nonce = None, components = None, url_scheme = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyString>,
        url: &Bound<'_, PyString>,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        created: Option<i64>,
        nonce: Option<String>,
        components: Option<Vec<String>>,
        url_scheme: Option<&Bound<'_, PyString>>,
    ) -> PyResult<Vec<(String, String)>> {
        shield(py, || {
            let head = head_from_args(py, method, url, headers, url_scheme)?;
            let chunk = body.filter(|b| !b.is_none()).map(extract_chunk).transpose()?;
            let data: &[u8] = chunk.as_ref().map_or(&[], |c| c.as_slice());
            let run = || match self.scheme {
                SignScheme::Rfc9421 => {
                    let mut opts = self.options.clone();
                    opts.created = created;
                    opts.nonce = nonce;
                    if components.is_some() {
                        opts.components = components;
                    }
                    self.core.sign_rfc9421(&head, data, &opts)
                }
                SignScheme::Simple => {
                    let opts = SimpleSignOptions { timestamp: created, nonce };
                    self.core.sign_simple(&head.method, head.path_and_query(), data, &opts)
                }
            };
            let out = if data.len() >= GIL_RELEASE_THRESHOLD { py.detach(run) } else { run() };
            out.py_err(py)
        })
    }

    fn __repr__(&self) -> String {
        format!("Signer(key_id={}, scheme={})", py_str(self.core.key_id()), py_str(self.scheme()))
    }
}
