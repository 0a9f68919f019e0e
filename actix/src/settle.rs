//! Two-phase replay (`ReplayMode::Reserve`): the reservation is committed when the handler
//! answered 2xx and released otherwise — on an error response, an error, or a request dropped
//! before its answer (client gone, panic), so a retried delivery can succeed.

use actix_web::web;
use hmac_guard::ReplayTicket;

pub(crate) struct Settle {
    ticket: Option<ReplayTicket>,
    may_block: bool,
}

impl Settle {
    pub(crate) fn new(ticket: Option<ReplayTicket>, may_block: bool) -> Self {
        Settle { ticket, may_block }
    }

    pub(crate) async fn finish(mut self, success: bool) {
        let Some(ticket) = self.ticket.take() else { return };
        // A store error here is already counted and reported by the guard's monitor.
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
