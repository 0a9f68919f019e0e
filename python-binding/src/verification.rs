//! `Verification` (a request being verified, fed its body), `Verified` (the result) and
//! `ReplayTicket` (a two-phase replay reservation).

use hmac_guard::{ErrorCode, ReplayTicket, Verification, Verified};
use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::awaitable::Relayed;
use crate::convert::{Chunk, arg, hashing, py_opt, py_str, str_arg};
use crate::errors::{IntoPyResult, py_error, shield};
use crate::observe::refusal;
use crate::webhook::PyWebhook;

#[derive(Debug)]
enum State {
    Ready(Box<Verification>),
    Busy,
    Finished,
}

/// A verification in progress: `update()` with each body chunk, then `finish()` once.
#[pyclass(frozen, module = "hmac_guard._native", name = "Verification")]
#[derive(Debug)]
pub(crate) struct PyVerification {
    state: Mutex<State>,
}

impl PyVerification {
    pub(crate) fn new(v: Box<Verification>) -> Self {
        PyVerification { state: Mutex::new(State::Ready(v)) }
    }

    fn take(&self, py: Python<'_>, finishing: bool) -> PyResult<Box<Verification>> {
        let mut state = self.state.lock();
        match std::mem::replace(&mut *state, if finishing { State::Finished } else { State::Busy }) {
            State::Ready(v) => Ok(v),
            other => {
                let why = if matches!(other, State::Busy) { "in use by another thread" } else { "already finished" };
                *state = other;
                Err(py_error(py, ErrorCode::InvalidState, format!("the verification is {why}")))
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
            let chunk: Chunk<'_> = arg(data, "data")?;
            let (mut v, bytes) = (self.take(py, false)?, chunk.as_slice());
            let r = hashing(py, bytes.len(), || v.update(bytes));
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

    /// `finish()` for an asyncio event loop: a coroutine that runs the body checks when awaited,
    /// then claims the nonce on the replay store's async client (Redis: the store's own runtime
    /// and multiplexed connection; an in-memory store answers at once). While Redis answers, the
    /// coroutine waits without the GIL and without a thread of its own; a Redis that does not
    /// answer is `StoreUnavailableError` at the store's timeout. Can be awaited once.
    async fn finish_async(&self) -> PyResult<PyVerified> {
        let pending = Python::attach(|py| shield(py, || self.take(py, true)?.finish_body().py_err(py)))?;
        let verified = Relayed::new(pending.claim_async()).await;
        Python::attach(|py| verified.py_err(py)).map(PyVerified::from)
    }

    /// Ends the verification with a refusal the adapter found while reading the body (`code`:
    /// `"ERR_..."`, e.g. `ERR_BAD_FRAMING`): counted and reported as that rejection, not as an
    /// abandoned verification. Nothing is claimed; the verification is finished.
    fn refuse(&self, py: Python<'_>, code: &Bound<'_, PyAny>, reason: &Bound<'_, PyAny>) -> PyResult<()> {
        let error = refusal(code, reason)?;
        self.take(py, true)?.refuse(&error);
        Ok(())
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
    webhook: Option<hmac_guard::webhook::Delivery>,
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
            webhook: v.webhook,
        }
    }
}

#[pymethods]
impl PyVerified {
    /// The signed value of a covered component (`@path`, `content-type`, or a serialized
    /// identifier such as `"@query-param";name="id"`), or `None`.
    /// (`None` too for an `id` that is not valid Unicode: no component is named so.)
    fn component(&self, id: &Bound<'_, PyAny>) -> PyResult<Option<&str>> {
        Ok(str_arg(id, "id")?.to_cow().ok().and_then(|id| self.covered.get(&id)))
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

    /// A webhook preset's delivery (provider, id, type, json, dedupe); `None` for other schemes.
    #[getter]
    fn webhook(&self) -> Option<PyWebhook> {
        self.webhook.clone().map(PyWebhook::from)
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
        shield(py, || py.detach(|| self.inner.commit()).py_err(py))
    }

    /// Drops the reservation so a retry can succeed.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        shield(py, || py.detach(|| self.inner.release()).py_err(py))
    }

    /// `commit()` for an asyncio event loop: awaited on the replay store's async client (Redis),
    /// so the loop goes on while the store answers.
    async fn commit_async(&self) -> PyResult<()> {
        let r = Relayed::new(self.inner.commit_async()).await;
        Python::attach(|py| r.py_err(py))
    }

    /// `release()` for an asyncio event loop, as `commit_async()`.
    async fn release_async(&self) -> PyResult<()> {
        let r = Relayed::new(self.inner.release_async()).await;
        Python::attach(|py| r.py_err(py))
    }
}
