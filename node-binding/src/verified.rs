//! A verification's result as it leaves for JS (packed in one string on the hot path, else an
//! object), the replay ticket of `reserve` mode, the tasks that finish on the libuv pool, and the
//! async claim of a store that has one (Redis), which finishes without any pool thread.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};

use hmac_guard::{ErrorCode, PendingReplay, ReplayTicket, Verified};
use napi::bindgen_prelude::{AsyncTask, Either, PromiseRaw};
use napi::{Env, Task};
use napi_derive::napi;

use crate::errors::{ErrorValue, Result, guarded, refuse_blocking, shielded};

/// One covered component (its identifier as serialized, `"content-type"`) and its signed value.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct CoveredComponent {
    pub id: String,
    pub value: String,
}

/// A verified request: act only on these values (`subject` is the only source of identity;
/// `created`/`expires` are Unix seconds). `index.d.ts` documents the public shape.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct VerifiedResult {
    pub scheme: String,
    pub label: Option<String>,
    pub key_id: String,
    pub subject: Option<String>,
    pub algorithm: String,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    pub covered: Vec<CoveredComponent>,
    pub body_length: i64,
    /// In `reserve` replay mode: the reservation to commit or release.
    pub replay_ticket: Option<NativeReplayTicket>,
    /// A webhook preset's delivery: provider, id, event type, whether the body is JSON.
    pub webhook: Option<WebhookDelivery>,
}

/// A verified webhook delivery (the core's `webhook::Delivery`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// The preset's name (`stripe`).
    pub provider: String,
    /// The provider's delivery or event id.
    pub id: Option<String>,
    /// The event type (`payment_intent.succeeded`).
    #[napi(js_name = "type")]
    pub event_type: Option<String>,
    /// The core parsed the body as JSON once its MAC matched.
    pub json: bool,
    /// What the delivery is deduplicated under.
    #[napi(ts_type = "'signed-id' | 'body-id' | 'signature'")]
    pub dedupe: String,
}

impl From<hmac_guard::webhook::Delivery> for WebhookDelivery {
    fn from(d: hmac_guard::webhook::Delivery) -> Self {
        WebhookDelivery {
            provider: d.provider.to_string(),
            id: d.id,
            event_type: d.event_type,
            json: d.json,
            dedupe: d.dedupe.name().to_string(),
        }
    }
}

impl VerifiedResult {
    /// The full object; `networked`: the ticket's store is Redis (commit/release on the pool only).
    pub(crate) fn new(v: Verified, networked: bool) -> Self {
        VerifiedResult {
            scheme: v.scheme.to_string(),
            label: v.label,
            key_id: v.key_id,
            subject: v.subject,
            algorithm: v.algorithm.name().to_string(),
            created: v.created,
            expires: v.expires,
            nonce: v.nonce,
            tag: v.tag,
            covered: v
                .covered
                .iter()
                .map(|(id, value)| CoveredComponent { id: id.to_string(), value: value.to_string() })
                .collect(),
            body_length: i64::try_from(v.body_len).unwrap_or(i64::MAX),
            replay_ticket: v.replay_ticket.map(|t| NativeReplayTicket { ticket: Arc::new(t), networked }),
            webhook: v.webhook.map(WebhookDelivery::from),
        }
    }
}

/// A verification result as it crosses into JS: field texts back to back in one string, their
/// lengths in the caller's `io` array (see [`pack_into`]), or the full object when it carries a
/// replay ticket or has more fields than `io` holds.
pub type Packed = Either<String, VerifiedResult>;

/// `io` entry of a field that is absent.
const ABSENT: u32 = u32::MAX;

/// Packs a result: the texts of scheme, label, key id, subject, algorithm, created, expires,
/// nonce, tag, body length, then each covered component's id and value, back to back in one
/// string; `io[0]` = the field count, `io[1..]` = their UTF-16 lengths ([`ABSENT`]: missing). One
/// string costs a fraction of an object built property by property; `lib/verified.js` reads it.
pub(crate) fn pack_into(v: Verified, io: &mut [u32], networked: bool) -> Packed {
    let fields = 10 + 2 * v.covered.iter().count();
    if v.replay_ticket.is_some() || v.webhook.is_some() || io.len() <= fields {
        return Either::B(VerifiedResult::new(v, networked));
    }
    let mut p = Packer { out: String::with_capacity(256), io, k: 1 };
    p.text(Some(v.scheme));
    p.text(v.label.as_deref());
    p.text(Some(&v.key_id));
    p.text(v.subject.as_deref());
    p.text(Some(v.algorithm.name()));
    p.number(v.created);
    p.number(v.expires);
    p.text(v.nonce.as_deref());
    p.text(v.tag.as_deref());
    p.number(Some(i64::try_from(v.body_len).unwrap_or(i64::MAX)));
    for (id, value) in v.covered.iter() {
        p.text(Some(id));
        p.text(Some(value));
    }
    p.io[0] = u32::try_from(fields).unwrap_or(0);
    Either::A(p.out)
}

/// Appends fields to a packed result (see [`pack_into`]).
struct Packer<'a> {
    out: String,
    io: &'a mut [u32],
    k: usize,
}

impl Packer<'_> {
    fn text(&mut self, s: Option<&str>) {
        self.io[self.k] = match s {
            None => ABSENT,
            Some(s) => {
                self.out.push_str(s);
                // ASCII (nearly every field): the UTF-16 length is the byte length.
                let units = if s.is_ascii() { s.len() } else { s.encode_utf16().count() };
                u32::try_from(units).unwrap_or(ABSENT)
            }
        };
        self.k += 1;
    }

    /// A number in decimal (without `fmt`: this runs for several fields of every verification).
    fn number(&mut self, n: Option<i64>) {
        self.io[self.k] = match n {
            None => ABSENT,
            Some(n) => {
                let mut digits = [0u8; 20];
                let mut m = n.unsigned_abs();
                let mut at = digits.len();
                loop {
                    at -= 1;
                    digits[at] = b'0' + (m % 10) as u8;
                    m /= 10;
                    if m == 0 {
                        break;
                    }
                }
                if n < 0 {
                    self.out.push('-');
                }
                self.out.extend(digits[at..].iter().map(|&d| char::from(d)));
                u32::from(n < 0) + (digits.len() - at) as u32
            }
        };
        self.k += 1;
    }
}

/// What a verification's promise resolves with: the result, or an error value that the JS layer
/// turns into a rejection (`lib/guard.js`).
pub type Verdict = Either<VerifiedResult, ErrorValue>;

fn verdict(r: hmac_guard::Result<VerifiedResult>) -> Verdict {
    match r {
        Ok(v) => Either::A(v),
        Err(e) => Either::B(ErrorValue::from(&e)),
    }
}

/// Claims the nonce through the core's async claim and returns the promise of the verdict. For
/// Redis the core's own runtime and multiplexed connection make the round trip, timeout and
/// fail-closed error included (`core/src/store/redis_async.rs`); the future here only awaits its
/// reply, on napi's runtime (one worker, see [`init_runtime`]), and the promise settles on the JS
/// thread. No libuv pool thread is taken, so a hung Redis stalls neither the pool nor the loop.
pub(crate) fn claim_promise(env: &Env, pending: PendingReplay, networked: bool) -> Result<PromiseRaw<'_, Verdict>> {
    promise_of(env, async move { pending.claim_async().await.map(|v| VerifiedResult::new(v, networked)) })
}

/// Spawns `work` on napi's runtime, a panic while polling it resolving as `ERR_INTERNAL`.
pub(crate) fn promise_of(
    env: &Env,
    work: impl Future<Output = hmac_guard::Result<VerifiedResult>> + Send + 'static,
) -> Result<PromiseRaw<'_, Verdict>> {
    let shielded = Shielded(Box::pin(work));
    env.spawn_future(async move { Ok(verdict(shielded.await)) })
        .map_err(|e| napi::Error::new(ErrorCode::Internal.as_str().to_string(), e.reason))
}

/// A future polled inside the panic boundary: a panic becomes an `ERR_INTERNAL` verdict instead
/// of unwinding into napi's runtime (whose own handler would reject without an `ERR_*` code).
struct Shielded<F>(Pin<Box<F>>);

impl<F: Future<Output = hmac_guard::Result<T>>, T> Future for Shielded<F> {
    type Output = hmac_guard::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let work = self.0.as_mut();
        shielded(|| Ok(work.poll(cx))).unwrap_or_else(|e| Poll::Ready(Err(e)))
    }
}

/// napi's runtime with one worker instead of one per core: its tasks only await the claim's
/// reply and build the result. Called when the library loads (`lib.rs`), before the addon
/// registers and napi makes its default runtime; should this fail, napi makes its default one.
pub(crate) fn init_runtime() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let built =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("hmac-guard-napi").enable_all().build();
        if let Ok(rt) = built {
            napi::bindgen_prelude::create_custom_tokio_runtime(rt);
        }
    });
}

/// A verdict computed on the libuv pool (a one-shot verification, or a streamed one's store step,
/// of a store without an async claim): resolves with the result or an error value, which the JS
/// layer turns into a rejection.
pub struct VerdictTask {
    work: Option<Box<dyn FnOnce() -> hmac_guard::Result<Verified> + Send>>,
    networked: bool,
}

impl VerdictTask {
    pub(crate) fn new(networked: bool, work: impl FnOnce() -> hmac_guard::Result<Verified> + Send + 'static) -> AsyncTask<Self> {
        AsyncTask::new(VerdictTask { work: Some(Box::new(work)), networked })
    }
}

impl fmt::Debug for VerdictTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerdictTask").field("networked", &self.networked).finish_non_exhaustive()
    }
}

impl Task for VerdictTask {
    type Output = hmac_guard::Result<Verified>;
    type JsValue = Verdict;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take();
        Ok(shielded(|| work.ok_or_else(|| hmac_guard::Error::new(ErrorCode::InvalidState, "verification task ran twice"))?()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(verdict(output.map(|v| VerifiedResult::new(v, self.networked))))
    }
}

/// A ticket's commit or release on the libuv pool: the in-memory store (no network to wait on).
#[derive(Debug)]
pub struct TicketTask {
    ticket: Arc<ReplayTicket>,
    commit: bool,
}

impl Task for TicketTask {
    type Output = Option<hmac_guard::Error>;
    type JsValue = Option<ErrorValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let (ticket, commit) = (&self.ticket, self.commit);
        Ok(shielded(|| if commit { ticket.commit() } else { ticket.release() }).err())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.as_ref().map(ErrorValue::from))
    }
}

/// A two-phase replay reservation (`reserve` mode): commit once the handler succeeded, release
/// when it failed so a retry can pass.
#[napi]
#[derive(Debug)]
pub struct NativeReplayTicket {
    ticket: Arc<ReplayTicket>,
    networked: bool,
}

#[napi]
impl NativeReplayTicket {
    /// Marks the delivery as processed for the rest of its window.
    #[napi]
    pub fn commit(&self) -> Result<()> {
        guarded(|| refuse_blocking(self.networked, "commit()").and_then(|()| self.ticket.commit()))
    }

    /// Drops the reservation so a retry can succeed.
    #[napi]
    pub fn release(&self) -> Result<()> {
        guarded(|| refuse_blocking(self.networked, "release()").and_then(|()| self.ticket.release()))
    }

    /// `commit` off the event loop; resolves with `null` or an error value. With Redis through the
    /// core's async commit (awaited on napi's runtime: no libuv pool thread waits on Redis), in
    /// memory on the libuv pool.
    #[napi(ts_return_type = "Promise<ErrorValue | null>")]
    pub fn commit_async<'env>(&self, env: &'env Env) -> Result<TicketPromise<'env>> {
        if self.networked {
            return settle_promise(env, self.ticket.commit_async()).map(Either::B);
        }
        Ok(Either::A(AsyncTask::new(TicketTask { ticket: Arc::clone(&self.ticket), commit: true })))
    }

    /// `release` off the event loop, as `commitAsync`; resolves with `null` or an error value.
    #[napi(ts_return_type = "Promise<ErrorValue | null>")]
    pub fn release_async<'env>(&self, env: &'env Env) -> Result<TicketPromise<'env>> {
        if self.networked {
            return settle_promise(env, self.ticket.release_async()).map(Either::B);
        }
        Ok(Either::A(AsyncTask::new(TicketTask { ticket: Arc::clone(&self.ticket), commit: false })))
    }
}

/// A commit's or release's promise: a libuv pool task, or the core's async store call on napi's
/// runtime.
pub type TicketPromise<'env> = Either<AsyncTask<TicketTask>, PromiseRaw<'env, Option<ErrorValue>>>;

/// Spawns a ticket's async store call on napi's runtime, a panic while polling it resolving as an
/// `ERR_INTERNAL` error value.
fn settle_promise(
    env: &Env,
    work: impl Future<Output = hmac_guard::Result<()>> + Send + 'static,
) -> Result<PromiseRaw<'_, Option<ErrorValue>>> {
    let shielded = Shielded(Box::pin(work));
    env.spawn_future(async move { Ok(shielded.await.err().as_ref().map(ErrorValue::from)) })
        .map_err(|e| napi::Error::new(ErrorCode::Internal.as_str().to_string(), e.reason))
}

/// Whether a webhook handler's answer with `status` means the delivery was handled (commit its
/// reservation) rather than failed (release it, so the provider's retry runs): the core's rule.
#[napi]
pub fn webhook_handled(status: i64) -> bool {
    u16::try_from(status).is_ok_and(hmac_guard::webhook::handled)
}
