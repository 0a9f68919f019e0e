//! How an asyncio event loop awaits a claim (`Verification.finish_async`). pyo3 turns the `async
//! fn` into a coroutine that polls the core's `claim_async()` future on the loop's thread; while
//! the Redis store's own runtime works, the coroutine waits on an asyncio future and holds neither
//! the GIL nor a thread. When the answer arrives, the runtime wakes the task: that wake must reach
//! the loop (`call_soon_threadsafe`, pyo3's waker), which needs the GIL. It is handed to one
//! relay thread for the process instead, so the store's runtime never waits for the GIL (its
//! timeouts keep firing on time for every caller, blocking ones included, however busy Python
//! is). A panic while polling is `ERR_INTERNAL`, never an unwind into pyo3's coroutine.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use hmac_guard::{Error, ErrorCode};
use pyo3::Python;

use crate::errors::PANIC_REASON;

/// A core future made fit for pyo3's coroutine: wakes go through the relay thread, and a panic
/// while polling is `ERR_INTERNAL`.
pub(crate) struct Relayed<T> {
    inner: Pin<Box<dyn Future<Output = hmac_guard::Result<T>> + Send>>,
}

impl<T> Relayed<T> {
    pub(crate) fn new(inner: impl Future<Output = hmac_guard::Result<T>> + Send + 'static) -> Self {
        Relayed { inner: Box::pin(inner) }
    }
}

impl<T> Future for Relayed<T> {
    type Output = hmac_guard::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let waker = Waker::from(Arc::new(Forward(cx.waker().clone())));
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(&mut Context::from_waker(&waker)))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Err(Error::new(ErrorCode::Internal, PANIC_REASON))),
        }
    }
}

/// The waker the core's future sees: passes the coroutine's waker on to the relay thread.
struct Forward(Waker);

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        relay(self.0.clone());
    }

    fn wake_by_ref(self: &Arc<Self>) {
        relay(self.0.clone());
    }
}

/// Queues `waker` for the relay thread (started on first use). Without one (it could not be
/// started), wakes here.
fn relay(waker: Waker) {
    static RELAY: OnceLock<Option<Sender<Waker>>> = OnceLock::new();
    let sender = RELAY.get_or_init(|| {
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new().name("hmac-guard-wake".into()).spawn(move || run(&rx));
        thread.ok().map(|_| tx)
    });
    match sender {
        // A send fails only once the relay stopped: the interpreter is gone, nothing to wake.
        Some(tx) => drop(tx.send(waker)),
        None => drop(Python::try_attach(|_| wake(waker))),
    }
}

/// The relay thread: attaches once per batch of ready wakers and wakes each (pyo3's waker then
/// calls the loop's `call_soon_threadsafe`). Ends when the interpreter can no longer be attached.
fn run(rx: &Receiver<Waker>) {
    while let Ok(first) = rx.recv() {
        let attached = Python::try_attach(|_| {
            wake(first);
            while let Ok(next) = rx.try_recv() {
                wake(next);
            }
        });
        if attached.is_none() {
            return;
        }
    }
}

/// pyo3's waker panics if the loop refuses the call for another reason than being closed: that
/// coroutine then never resumes (its loop is broken), and the relay goes on.
fn wake(waker: Waker) {
    let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
}
