//! Two-phase replay (`ReplayMode::Reserve`): the reservation is committed when the handler
//! answered 2xx and released otherwise — on an error response, an error, or a request dropped
//! before its answer (client gone, panic), so a retried delivery can succeed.

use actix_web::web;
use hmac_guard::{Guard, ReplayTicket};

pub(crate) struct Settle {
    ticket: Option<ReplayTicket>,
    /// The store commits and releases on its own I/O (Redis): awaited, never blocking a thread.
    is_async: bool,
    /// A store that may block without an async path: the blocking pool.
    may_block: bool,
}

impl Settle {
    pub(crate) fn new(ticket: Option<ReplayTicket>, guard: &Guard) -> Self {
        Settle { ticket, is_async: guard.claim_is_async(), may_block: guard.claim_may_block() }
    }

    pub(crate) async fn finish(mut self, success: bool) {
        let Some(ticket) = self.ticket.take() else { return };
        // A store error here is already counted and reported by the guard's monitor.
        if self.is_async {
            let _ = if success { ticket.commit_async().await } else { ticket.release_async().await };
            return;
        }
        let run = move || {
            let _ = if success { ticket.commit() } else { ticket.release() };
        };
        if self.may_block {
            let _ = web::block(run).await;
        } else {
            run();
        }
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else { return };
        if self.is_async {
            // Started on the store's own I/O; nobody needs to wait for it.
            drop(ticket.release_async());
            return;
        }
        let release = move || {
            let _ = ticket.release();
        };
        // Not on the worker's event loop when the store may wait on the network: on the runtime's
        // blocking pool (no thread per request); inline only outside any runtime.
        if !self.may_block {
            release();
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(release)),
            Err(_) => release(),
        }
    }
}
