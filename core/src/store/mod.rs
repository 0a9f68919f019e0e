//! Replay stores: remember each (scheme, key id, nonce) until its timestamp leaves the window.
//!
//! The trait is synchronous and each call is one atomic step, so a networked store (Redis) can
//! implement it with one round trip; bindings that must not block (Node's event loop, asyncio)
//! run the final claim step on a worker thread via [`crate::PendingReplay`].

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_async;
#[cfg(feature = "redis")]
mod redis_loss;
#[cfg(feature = "redis")]
mod redis_target;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use memory::{MemoryStore, MemoryStoreConfig};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreConfig};

use crate::error::Result;

/// Identifies one use of a nonce. Stores hash it; they never keep the nonce itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplayKey<'a> {
    /// Scheme namespace (`rfc9421`, `simple`, …).
    pub scheme: &'a str,
    /// Key id that signed the request.
    pub key_id: &'a str,
    /// The nonce.
    pub nonce: &'a str,
}

impl fmt::Debug for ReplayKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayKey").field("scheme", &self.scheme).field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// A claim running on a store's own I/O: resolves to the reservation token (0 for a plain claim).
/// It can be polled on any executor.
pub type ClaimFuture = Pin<Box<dyn Future<Output = Result<u64>> + Send + 'static>>;

/// Storage for used nonces.
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Records the key if it is absent or expired; atomically, so of racing duplicates exactly
    /// one succeeds.
    ///
    /// # Errors
    /// `ERR_REPLAY` when a live entry exists; `ERR_REPLAY_STORE_FULL` when full of live entries
    /// (never evicts one); `ERR_REPLAY_STORE_UNAVAILABLE` for networked stores that cannot answer.
    fn insert_if_absent(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()>;

    /// Two-phase delivery: holds the key for `hold_ms` as a reservation. Concurrent duplicates
    /// are rejected with `ERR_REPLAY` while it is held. Returns a token that identifies this
    /// reservation for [`ReplayStore::release`].
    ///
    /// # Errors
    /// As [`ReplayStore::insert_if_absent`].
    fn reserve(&self, key: &ReplayKey<'_>, hold_ms: u64, now_ms: i64) -> Result<u64>;

    /// Turns a reservation into a used nonce kept for `ttl_ms`.
    ///
    /// # Errors
    /// `ERR_REPLAY_STORE_FULL` / `ERR_REPLAY_STORE_UNAVAILABLE`.
    fn commit(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()>;

    /// Drops the reservation `token` (the handler failed), so a retry can succeed. A no-op when
    /// the key is committed or now held by another reservation (this one's hold lapsed and a
    /// retry took over): a slow handler must never cancel a newer delivery attempt.
    ///
    /// # Errors
    /// `ERR_REPLAY_STORE_UNAVAILABLE` for networked stores.
    fn release(&self, key: &ReplayKey<'_>, token: u64, now_ms: i64) -> Result<()>;

    /// The store's kind, for metrics and logs (`memory`, `redis`).
    fn kind(&self) -> &'static str {
        "custom"
    }

    /// Whether [`ReplayStore::claim_async`] has an async path (it returns `Some`).
    fn has_async_claim(&self) -> bool {
        false
    }

    /// The claim of [`ReplayStore::insert_if_absent`] (`reserve: false`, `ms`: the TTL) or
    /// [`ReplayStore::reserve`] (`reserve: true`, `ms`: the hold) without blocking the caller, for
    /// stores that wait on the network; `None`: use the blocking call. Same semantics and errors.
    fn claim_async(&self, key: &ReplayKey<'_>, ms: u64, reserve: bool, now_ms: i64) -> Option<ClaimFuture> {
        let _ = (key, ms, reserve, now_ms);
        None
    }

    /// [`ReplayStore::commit`] without blocking the caller (`None`: use the blocking call). The
    /// work runs on the store's own I/O: dropping the future does not cancel it.
    fn commit_async(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Option<ClaimFuture> {
        let _ = (key, ttl_ms, now_ms);
        None
    }

    /// [`ReplayStore::release`] without blocking the caller, as [`ReplayStore::commit_async`].
    fn release_async(&self, key: &ReplayKey<'_>, token: u64, now_ms: i64) -> Option<ClaimFuture> {
        let _ = (key, token, now_ms);
        None
    }

    /// The latest moment (Unix ms) before which this store may have lost claims (Redis restarted
    /// empty, flushed, evicted, failed over to a lagging replica), if it ever noticed one. The
    /// verifier refuses requests signed before it until their timestamp window has passed.
    fn lost_at_ms(&self) -> Option<i64> {
        None
    }

    /// Whether a call may wait on the network (an async adapter then runs the claim on a
    /// blocking-capable thread). Unknown stores are assumed to.
    fn may_block(&self) -> bool {
        true
    }

    /// Whether a request is accepted without replay protection when this store cannot answer
    /// (`ERR_REPLAY_STORE_UNAVAILABLE`). The guard's monitor applies it, counts and reports it.
    fn fails_open(&self) -> bool {
        false
    }
}
