//! Webhook receivers' native pieces: `Verified.webhook` (`Webhook`), the core's answer to a
//! refusal (`Refusal`, from `Guard::refusal`) and the test signer `sign_webhook` (the core's
//! `webhook::sign`). Every rule — preset names, secret formats, statuses, `Retry-After` — is the
//! core's; this file only carries values across.

use hmac_guard::config::{Spelling, Value};
use hmac_guard::webhook::Delivery;
use hmac_guard::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{Chunk, opt, py_opt, py_str};
use crate::errors::{IntoPyResult, shield};
use crate::options::to_value;

/// What a verified webhook delivery is (`Verified.webhook`): the provider, its delivery or event
/// id, the event type, whether the body is JSON, and what it is deduplicated under.
#[pyclass(frozen, module = "hmac_guard._native", name = "Webhook")]
#[derive(Debug)]
pub(crate) struct PyWebhook {
    /// The preset's name (`stripe`).
    #[pyo3(get)]
    provider: &'static str,
    /// The delivery or event id (signed for Standard Webhooks, Stripe and Slack).
    #[pyo3(get)]
    id: Option<String>,
    /// The event type.
    #[pyo3(get, name = "type")]
    event_type: Option<String>,
    /// Whether the core read the body as a JSON document (after the MAC matched).
    #[pyo3(get)]
    json: bool,
    /// What the delivery is deduplicated under: `signed-id`, `body-id` or `signature`.
    #[pyo3(get)]
    dedupe: &'static str,
}

impl From<Delivery> for PyWebhook {
    fn from(d: Delivery) -> Self {
        PyWebhook { provider: d.provider, id: d.id, event_type: d.event_type, json: d.json, dedupe: d.dedupe.name() }
    }
}

#[pymethods]
impl PyWebhook {
    fn __repr__(&self) -> String {
        format!(
            "Webhook(provider={}, id={}, type={}, json={}, dedupe={})",
            py_str(self.provider),
            py_opt(self.id.as_deref()),
            py_opt(self.event_type.as_deref()),
            if self.json { "True" } else { "False" },
            py_str(self.dedupe)
        )
    }
}

/// The answer to a refused request, as the core builds it (`Guard.refusal(...)`).
#[pyclass(frozen, module = "hmac_guard._native", name = "Refusal")]
#[derive(Debug)]
pub(crate) struct PyRefusal {
    /// The HTTP status (200 for a copy of a committed webhook delivery).
    #[pyo3(get)]
    status: u16,
    body: Vec<u8>,
    /// The `Accept-Signature` field value, for a 401 of a scheme that has one.
    #[pyo3(get)]
    accept_signature: Option<String>,
    /// Answer with `Connection: close` and read nothing more: body bytes were left unread.
    #[pyo3(get)]
    close: bool,
    /// `Retry-After` seconds (a webhook delivery still in flight), else `None`.
    #[pyo3(get)]
    retry_after: Option<u32>,
}

impl From<hmac_guard::Refusal> for PyRefusal {
    fn from(r: hmac_guard::Refusal) -> Self {
        PyRefusal {
            status: r.status,
            body: r.body.into_bytes(),
            accept_signature: r.accept_signature,
            close: r.close,
            retry_after: r.retry_after,
        }
    }
}

#[pymethods]
impl PyRefusal {
    /// The JSON body: `{"error": {"code", "message"}}` (and `reason` in development mode).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.body)
    }

    /// The body's media type.
    #[getter]
    fn content_type(&self) -> &'static str {
        hmac_guard::Refusal::CONTENT_TYPE
    }

    /// The response fields to send, in order: `Content-Type`, `Content-Length`, then
    /// `Accept-Signature`, `Retry-After` and `Connection: close` where the core asks for them.
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("Content-Type", hmac_guard::Refusal::CONTENT_TYPE.to_string()),
            ("Content-Length", self.body.len().to_string()),
        ];
        if let Some(a) = &self.accept_signature {
            out.push(("Accept-Signature", a.clone()));
        }
        if let Some(secs) = self.retry_after {
            out.push(("Retry-After", secs.to_string()));
        }
        if self.close {
            out.push(("Connection", "close".to_string()));
        }
        out
    }

    fn __repr__(&self) -> String {
        format!(
            "Refusal(status={}, close={}, retry_after={})",
            self.status,
            if self.close { "True" } else { "False" },
            self.retry_after.map_or_else(|| "None".to_string(), |s| s.to_string())
        )
    }
}

/// The core's answer to `error` (an `HmacGuardError`'s code and reason).
pub(crate) fn refusal_for(
    guard: &hmac_guard::Guard,
    code: &str,
    reason: String,
    announced_body: bool,
    body_fully_read: bool,
    expose: bool,
) -> PyRefusal {
    let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::Internal);
    PyRefusal::from(guard.refusal(&Error::new(code, reason), announced_body, body_fully_read, expose))
}

/// A delivery signed as its provider would (`sign_webhook`): the headers to send and the exact
/// bytes the MAC covers. Its `repr` names the headers only.
#[pyclass(frozen, module = "hmac_guard._native", name = "SignedWebhook")]
#[derive(Debug)]
pub(crate) struct PySignedWebhook {
    headers: Vec<(String, String)>,
    signed: Vec<u8>,
}

#[pymethods]
impl PySignedWebhook {
    /// Header names and values to send with the body, in the provider's order.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (n, v) in &self.headers {
            d.set_item(n, v)?;
        }
        Ok(d)
    }

    /// The exact bytes the MAC covers (what `explain` shows).
    #[getter]
    fn signed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.signed)
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self.headers.iter().map(|(n, _)| py_str(n)).collect();
        format!("SignedWebhook(headers=[{}])", names.join(", "))
    }
}

/// Signs `body` as `preset`'s provider does (the core's `webhook::sign`), with `secret` or
/// `secrets` (several: one signature each where the provider lists several). `timestamp`: Unix
/// seconds (default: now); `id`: the Standard Webhooks delivery id (default: a random one).
#[pyfunction]
#[pyo3(signature = (preset, *, secret = None, secrets = None, body, timestamp = None, id = None))]
pub(crate) fn sign_webhook(
    py: Python<'_>,
    preset: &Bound<'_, PyAny>,
    secret: Option<&Bound<'_, PyAny>>,
    secrets: Option<&Bound<'_, PyAny>>,
    body: &Bound<'_, PyAny>,
    timestamp: Option<&Bound<'_, PyAny>>,
    id: Option<&Bound<'_, PyAny>>,
) -> PyResult<PySignedWebhook> {
    shield(py, || {
        let preset_name: String = crate::convert::arg(preset, "preset")?;
        let body: Chunk<'_> = crate::convert::arg(body, "body")?;
        let timestamp: Option<i64> = opt(timestamp, "timestamp")?;
        let id: Option<String> = opt(id, "id")?;
        let given = [secret, secrets].into_iter().flatten().filter(|o| !o.is_none()).collect::<Vec<_>>();
        // The secrets and the preset's name are checked by the core, as the `secrets` option is.
        let value = match given.as_slice() {
            [] => Value::List(Vec::new()),
            [one] => to_value(one)?,
            _ => return Err(Error::new(ErrorCode::InvalidConfig, "give secret or secrets, not both")).py_err(py),
        };
        let signed =
            hmac_guard::config::sign_webhook(&preset_name, &value, Spelling::Python, body.as_slice(), timestamp, id.as_deref())
                .py_err(py)?;
        Ok(PySignedWebhook { headers: signed.headers, signed: signed.signed })
    })
}

/// Whether a handler's answer with `status` means the delivery was handled (commit its
/// reservation) rather than failed (release it, so the provider's retry runs): the core's rule
/// (`webhook::handled`).
#[pyfunction]
pub(crate) fn webhook_handled(status: &Bound<'_, PyAny>) -> PyResult<bool> {
    // A status outside u16 is no answer a provider counts as handled.
    let status: i64 = crate::convert::arg(status, "status")?;
    Ok(u16::try_from(status).is_ok_and(hmac_guard::webhook::handled))
}
