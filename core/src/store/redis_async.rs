//! The Redis store's async path: one multiplexed connection, driven by a one-thread runtime the
//! store owns, carries every claim — concurrent claims are pipelined on it instead of each taking
//! a pooled connection and a blocked thread. Callers on any executor (napi's, asyncio's through
//! pyo3, actix's, axum's) await a future that only waits for the runtime's answer. Same key
//! layout, same data-loss watch, same timeout and fail-closed error as the blocking path: a claim
//! that gets no answer within the timeout is `ERR_REPLAY_STORE_UNAVAILABLE` at that moment, never
//! accepted later.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::redis_loss::{LossWatch, Seen};
use super::redis_target::{Conn, Target};
use crate::error::{Error, ErrorCode, Result, fail};

/// Whether the key was claimed, from the runtime; pollable on any executor.
pub(crate) type Claimed = Pin<Box<dyn Future<Output = Result<bool>> + Send + 'static>>;

pub(crate) struct AsyncPath {
    /// Taken on drop: shut down in the background, so a store dropped inside an async context
    /// (an axum handler, a napi future) does not block or panic.
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

impl Drop for AsyncPath {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

struct Shared {
    target: Target,
    timeout: Duration,
    /// The connection, once made; dropped after a failure so the next claim reconnects.
    con: Mutex<Option<Conn>>,
    /// Serialises connecting (one attempt at a time, the others wait for its result).
    connecting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AsyncPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPath").field("timeout", &self.shared.timeout).finish_non_exhaustive()
    }
}

impl AsyncPath {
    pub(crate) fn new(target: Target, timeout: Duration) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hmac-guard-redis")
            .enable_all()
            .build()
            .map_err(|_| Error::new(ErrorCode::Internal, "could not start the Redis client's runtime"))?;
        let shared = Arc::new(Shared { target, timeout, con: Mutex::new(None), connecting: tokio::sync::Mutex::new(()) });
        Ok(AsyncPath { runtime: Some(runtime), shared })
    }

    /// `SET key value NX PX ttl` with the data-loss watch, on the runtime; resolves to whether the
    /// key was claimed.
    pub(crate) fn claim(
        &self,
        key: String,
        value: String,
        ttl_ms: u64,
        now_ms: i64,
        loss: Arc<LossWatch>,
        token: u64,
    ) -> Claimed {
        self.spawn(move |shared| async move { shared.claim(key, value, ttl_ms, now_ms, &loss, token).await })
    }

    /// `SET key value PX ttl` (a reservation committed).
    pub(crate) fn commit(&self, key: String, value: &'static str, ttl_ms: u64) -> Claimed {
        self.spawn(move |shared| async move {
            let mut con = shared.connection().await?;
            let r: redis::RedisResult<()> =
                redis::cmd("SET").arg(&key).arg(value).arg("PX").arg(ttl_ms.max(1)).query_async(&mut con).await;
            r.map(|()| true).map_err(|e| shared.failed(&e))
        })
    }

    /// Runs `script` on `key` with `arg` (the compare-and-delete of a reservation).
    pub(crate) fn script(&self, script: redis::Script, key: String, arg: String) -> Claimed {
        self.spawn(move |shared| async move {
            let mut con = shared.connection().await?;
            let r: redis::RedisResult<i64> = script.key(&key).arg(&arg).invoke_async(&mut con).await;
            r.map(|n| n > 0).map_err(|e| shared.failed(&e))
        })
    }

    /// Runs `op` on the runtime within the timeout (connecting included); the answer comes back
    /// through a oneshot, so the caller's executor does not matter.
    fn spawn<F, Fut>(&self, op: F) -> Claimed
    where
        F: FnOnce(Arc<Shared>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool>> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let Some(runtime) = &self.runtime else {
            return Box::pin(std::future::ready(Err(Error::new(ErrorCode::Internal, "the Redis client's runtime stopped"))));
        };
        runtime.spawn(async move {
            let deadline = tokio::time::Instant::now() + shared.timeout;
            let r = tokio::time::timeout_at(deadline, op(Arc::clone(&shared))).await;
            let _ = tx.send(r.unwrap_or_else(|_| Err(unavailable_kind("timed out"))));
        });
        Box::pin(async move {
            rx.await.unwrap_or_else(|_| Err(Error::new(ErrorCode::Internal, "the Redis client's runtime stopped")))
        })
    }
}

/// The claim's round trip: `SET NX` (set or not), `GET` (the holder), `INCR` (the watch's
/// sequence), `GET` (the data-loss marker).
type ClaimReply = (Option<String>, Option<String>, i64, Option<String>);

impl Shared {
    async fn claim(&self, key: String, value: String, ttl_ms: u64, now_ms: i64, loss: &LossWatch, token: u64) -> Result<bool> {
        let mut con = self.connection().await?;
        let sent = loss.snapshot();
        // `GET` after the `SET NX`: what holds the key when the claim failed (a reservation
        // `r…`, or a used nonce), in the same round trip; `SET … NX GET` would need Redis 7.
        let reply: redis::RedisResult<ClaimReply> = redis::pipe()
            .cmd("SET")
            .arg(&key)
            .arg(&value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms.max(1))
            .cmd("GET")
            .arg(&key)
            .cmd("INCR")
            .arg(&loss.seq_key)
            .cmd("GET")
            .arg(&loss.marker_key)
            .query_async(&mut con)
            .await;
        let (claimed, holder, seq, marker) = reply.map_err(|e| self.failed(&e))?;
        match loss.observe(sent, seq, marker, now_ms, token) {
            Seen::Same => {}
            Seen::Lost(new_marker) => {
                let r: redis::RedisResult<()> =
                    redis::cmd("SET").arg(&loss.marker_key).arg(&new_marker).query_async(&mut con).await;
                r.map_err(|e| self.failed(&e))?;
                loss.adopt(new_marker, seq);
            }
            Seen::First(new_marker) => {
                // Cleared however this ends (written, failed, or cancelled by the timeout), so a
                // later claim can try again.
                struct InFlight<'a>(&'a LossWatch);
                impl Drop for InFlight<'_> {
                    fn drop(&mut self) {
                        self.0.first_failed();
                    }
                }
                let _in_flight = InFlight(loss);
                let key = &loss.marker_key;
                let r: redis::RedisResult<(Option<String>, Option<String>)> =
                    redis::pipe().cmd("SET").arg(key).arg(&new_marker).arg("NX").cmd("GET").arg(key).query_async(&mut con).await;
                let (_, winner) = r.map_err(|e| self.failed(&e))?;
                loss.adopt_first(winner.unwrap_or(new_marker));
            }
        }
        match (claimed, holder) {
            (Some(_), _) => Ok(true),
            // Held by a reservation, or released between the two commands: in flight either way.
            (None, Some(h)) if h.starts_with('r') => {
                fail(ErrorCode::DeliveryInProgress, "a reservation for this delivery is held")
            }
            (None, None) => fail(ErrorCode::DeliveryInProgress, "a reservation for this delivery is held"),
            (None, Some(_)) => Ok(false),
        }
    }

    /// The connection, made on first use or after a failure.
    async fn connection(&self) -> Result<Conn> {
        if let Some(con) = self.con.lock().clone() {
            return Ok(con);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(con) = self.con.lock().clone() {
            return Ok(con);
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let con = self.target.connect(&config).await.map_err(|e| super::redis::unavailable(&e))?;
        *self.con.lock() = Some(con.clone());
        Ok(con)
    }

    /// A failed call: the connection is dropped (the next claim reconnects) and the failure named.
    fn failed(&self, e: &redis::RedisError) -> Error {
        if e.is_connection_dropped() || e.is_io_error() || e.is_timeout() || e.is_connection_refusal() {
            *self.con.lock() = None;
        }
        super::redis::unavailable(e)
    }
}

fn unavailable_kind(kind: &str) -> Error {
    Error::new(ErrorCode::ReplayStoreUnavailable, format!("redis {kind}"))
}

/// Waits on this thread for a future that needs no executor of its own (the runtime answers):
/// the blocking callers' way onto the async client.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
