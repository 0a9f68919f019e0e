//! The per-request path: one-shot verify and the streaming steps, as plain functions on a
//! [`Lane`] that each guard creates once. Not class methods and a JS object per streamed request:
//! on napi-rs 3 each method call takes a global borrow registry and each external value a weak
//! handle and finalizer (measured: `begin` + `abort` ≈ 8 µs, far more under load). Here a streamed
//! verification lives in a reused slot of its lane, named by a number.

use std::cell::RefCell;

use hmac_guard::{ErrorCode, Guard, RequestHead, Verification};
use napi::Env;
use napi::bindgen_prelude::{AsyncTask, Either, External, PromiseRaw};
use napi_derive::napi;

use crate::errors::{Result, guarded, refuse_blocking};
use crate::head::{head_from_parts, head_into};
use crate::verified::{Packed, Verdict, VerdictTask, claim_promise, pack_into};

/// A guard's per-request state (JS thread only): a scratch head and the streamed verifications.
#[derive(Debug)]
pub struct Lane {
    guard: Guard,
    /// The store is Redis: the blocking store steps are refused on the JS thread.
    networked: bool,
    /// The core claims without blocking (Redis): `finishAsync` awaits its async claim.
    async_claim: bool,
    /// Refilled in place by each call (no allocation per header once warm).
    scratch: RefCell<RequestHead>,
    slots: RefCell<Slots>,
}

impl Lane {
    pub(crate) fn new(guard: Guard, networked: bool) -> Self {
        let async_claim = guard.claim_is_async();
        Lane { guard, networked, async_claim, scratch: RefCell::default(), slots: RefCell::default() }
    }

    /// Runs `f` on the head split from `parts`, in the scratch head (a nested call: a fresh one).
    fn with_head<T>(
        &self,
        parts: &str,
        lens: &[u32],
        f: impl FnOnce(&RequestHead) -> hmac_guard::Result<T>,
    ) -> hmac_guard::Result<T> {
        let Ok(mut head) = self.scratch.try_borrow_mut() else {
            return f(&head_from_parts(parts, lens)?);
        };
        head_into(parts, lens, &mut head)?;
        let out = f(&head);
        // Emptied, capacity kept.
        head.method.clear();
        head.target.clear();
        for (n, v) in &mut head.headers {
            n.clear();
            v.clear();
        }
        out
    }

    fn slots(&self) -> hmac_guard::Result<std::cell::RefMut<'_, Slots>> {
        self.slots.try_borrow_mut().map_err(|_| hmac_guard::Error::new(ErrorCode::InvalidState, "re-entrant verification step"))
    }
}

/// Streamed verifications by handle. A handle is `generation * 2^32 + index`: a stale handle (a
/// slot finished and reused since) is refused, not mistaken for the new occupant.
#[derive(Debug, Default)]
struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// Boxed: slots are never freed, and an inline verification (≈ 750 bytes) would keep a burst's
/// peak in memory for good.
#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    verification: Option<Box<Verification>>,
}

/// Generations stay below 2^21 so a handle is an exact JS number. They wrap after 2^21 reuses; the
/// JS layer never keeps a spent handle (`settle` in lib/guard.js), so this is a second defence.
const GENERATION_MASK: u32 = (1 << 21) - 1;

impl Slots {
    fn insert(&mut self, v: Verification) -> hmac_guard::Result<i64> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len())
                    .map_err(|_| hmac_guard::Error::new(ErrorCode::InvalidState, "too many verifications in flight"))?;
                self.slots.push(Slot::default());
                i
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.verification = Some(Box::new(v));
        Ok(i64::from(slot.generation) << 32 | i64::from(index))
    }

    fn get(&mut self, handle: i64) -> hmac_guard::Result<&mut Verification> {
        self.slot(handle).and_then(|s| s.verification.as_deref_mut()).ok_or_else(finished)
    }

    /// Takes the verification out and frees its slot.
    fn take(&mut self, handle: i64) -> hmac_guard::Result<Verification> {
        let index = handle & 0xffff_ffff;
        let slot = self.slot(handle).ok_or_else(finished)?;
        let v = slot.verification.take().ok_or_else(finished)?;
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        // `slot` found it, so the index fits.
        self.free.push(u32::try_from(index).unwrap_or(u32::MAX));
        Ok(*v)
    }

    fn slot(&mut self, handle: i64) -> Option<&mut Slot> {
        let index = usize::try_from(handle & 0xffff_ffff).ok()?;
        let generation = u32::try_from(handle >> 32).ok()?;
        self.slots.get_mut(index).filter(|s| s.generation == generation && s.verification.is_some())
    }
}

fn finished() -> hmac_guard::Error {
    hmac_guard::Error::new(ErrorCode::InvalidState, "this verification is already finished")
}

/// One-shot verification of a request whose body is in memory, on the calling thread. The head
/// travels as `parts` and its lengths in the first `count` entries of `io` (`head.rs`); the result
/// comes back in `io` (`verified::pack_into`): one array both ways, none created per call.
#[napi(ts_return_type = "string | VerifiedResult")]
pub fn lane_verify(lane: &External<Lane>, parts: String, io: Io<'_>, count: u32, body: Option<&[u8]>) -> Result<Packed> {
    guarded(|| {
        refuse_blocking(lane.networked, "verify()")?;
        let v = lane.with_head(&parts, lens_of(io, count)?, |h| lane.guard.verify(h, body.unwrap_or_default()))?;
        Ok(pack_into(v, io, false))
    })
}

/// The JS layer's `Uint32Array`, written in place (an alias: a `&mut` written in the signature
/// would ask for `FromNapiMutRef`, which typed-array slices do not implement).
type Io<'a> = &'a mut [u32];

/// The head lengths at the start of `io`.
fn lens_of(io: &[u32], count: u32) -> hmac_guard::Result<&[u32]> {
    io.get(..count as usize)
        .ok_or_else(|| hmac_guard::Error::new(ErrorCode::InvalidState, "request parts do not match their lengths"))
}

/// Runs every check that needs no body; returns the handle to stream the body into.
#[napi]
pub fn lane_begin(lane: &External<Lane>, parts: String, io: &[u32], count: u32) -> Result<i64> {
    guarded(|| {
        let v = lane.with_head(&parts, lens_of(io, count)?, |h| lane.guard.begin(h))?;
        lane.slots()?.insert(v)
    })
}

/// Feeds a body chunk (read in place, not copied).
#[napi]
pub fn lane_update(lane: &External<Lane>, handle: i64, chunk: &[u8]) -> Result<()> {
    guarded(|| lane.slots()?.get(handle)?.update(chunk))
}

/// Finishes the body checks and claims the nonce; the handle is spent. The result comes back
/// in `io` as for [`lane_verify`].
#[napi(ts_return_type = "string | VerifiedResult")]
pub fn lane_finish(lane: &External<Lane>, handle: i64, io: Io<'_>) -> Result<Packed> {
    guarded(|| {
        refuse_blocking(lane.networked, "finish()")?;
        let v = lane.slots()?.take(handle)?.finish()?;
        Ok(pack_into(v, io, false))
    })
}

/// A promise of a verdict: a libuv pool task, or a future on napi's runtime.
pub type VerdictPromise<'env> = Either<AsyncTask<VerdictTask>, PromiseRaw<'env, Verdict>>;

/// Finishes the body checks here (a failure throws), then claims the nonce off the event loop:
/// with Redis through the core's async claim (no libuv pool thread waits on the round trip,
/// `verified::claim_promise`), with the in-memory store on the libuv pool.
#[napi(ts_return_type = "Promise<VerifiedResult | ErrorValue>")]
pub fn lane_finish_async<'env>(env: &'env Env, lane: &External<Lane>, handle: i64) -> Result<VerdictPromise<'env>> {
    let pending = guarded(|| lane.slots()?.take(handle)?.finish_body())?;
    if lane.async_claim {
        return claim_promise(env, pending, lane.networked).map(Either::B);
    }
    Ok(Either::A(VerdictTask::new(lane.networked, move || pending.claim())))
}

/// Abandons a verification; nothing is claimed. A spent handle is ignored. With the `code` and
/// `reason` of a refusal found outside it (a body the server could not read: `ERR_BAD_FRAMING`) it
/// is counted as that rejection; without, as abandoned.
#[napi]
pub fn lane_abort(lane: &External<Lane>, handle: i64, code: Option<String>, reason: Option<String>) -> Result<()> {
    guarded(|| {
        let Ok(mut slots) = lane.slots.try_borrow_mut() else { return Ok(()) };
        let Ok(v) = slots.take(handle) else { return Ok(()) };
        drop(slots);
        if let Some(code) = code.as_deref().and_then(ErrorCode::from_code) {
            v.refuse(&hmac_guard::Error::new(code, reason.unwrap_or_default()));
        }
        Ok(())
    })
}

/// Body bytes the verification has seen (0 once finished).
#[napi]
pub fn lane_bytes_seen(lane: &External<Lane>, handle: i64) -> Result<i64> {
    guarded(|| {
        let Ok(mut slots) = lane.slots.try_borrow_mut() else { return Ok(0) };
        Ok(slots.get(handle).map_or(0, |v| i64::try_from(v.bytes_seen()).unwrap_or(i64::MAX)))
    })
}

/// The key id the verification names (`null` once finished).
#[napi]
pub fn lane_key_id(lane: &External<Lane>, handle: i64) -> Result<Option<String>> {
    guarded(|| {
        let Ok(mut slots) = lane.slots.try_borrow_mut() else { return Ok(None) };
        Ok(slots.get(handle).ok().map(|v| v.key_id().to_string()))
    })
}

/// Verifications begun and not yet finished or aborted (for leak checks and diagnostics).
#[napi]
pub fn lane_in_flight(lane: &External<Lane>) -> Result<u32> {
    guarded(|| Ok(lane.slots.try_borrow().map_or(0, |s| u32::try_from(s.slots.len() - s.free.len()).unwrap_or(u32::MAX))))
}
