//! The body, streamed through the verification as it arrives and kept for the handler, then
//! the nonce claimed (on actix's blocking pool when the replay store may wait on the network).

use actix_web::dev::Payload;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt as _;
use hmac_guard::{Error, ErrorCode, Guard, PendingReplay, Verification, Verified};

/// Why reading stopped, whether the body had been read to its end, and the payload (kept alive
/// until the refusal is sent: see `respond.rs`).
pub(crate) struct Stopped {
    pub(crate) error: Error,
    pub(crate) fully_read: bool,
    pub(crate) payload: Payload,
}

/// Feeds every chunk to `v` (which enforces the byte cap and the declared length) and collects
/// it; a payload error (bad chunking, the connection gone) is `ERR_BAD_FRAMING`.
pub(crate) async fn read(mut v: Verification, mut payload: Payload, capacity: usize) -> Result<(PendingReplay, Bytes), Stopped> {
    let mut buf = BytesMut::with_capacity(capacity);
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            let error =
                Error::new(ErrorCode::BadFraming, "the request body could not be read (malformed framing or connection closed)");
            v.refuse(&error);
            return Err(Stopped { error, fully_read: false, payload });
        };
        if let Err(error) = v.update(&chunk) {
            return Err(Stopped { error, fully_read: false, payload });
        }
        buf.extend_from_slice(&chunk);
    }
    let pending = v.finish_body().map_err(|error| Stopped { error, fully_read: true, payload: Payload::None })?;
    Ok((pending, buf.freeze()))
}

/// Claims the nonce: inline for an in-process store; for Redis on the store's own async client
/// (the worker's event loop never waits on the network); on the blocking pool for a store that may
/// block and has no async path.
pub(crate) async fn claim(guard: &Guard, pending: PendingReplay) -> hmac_guard::Result<Verified> {
    if !guard.claim_may_block() || guard.claim_is_async() {
        return pending.claim_async().await;
    }
    web::block(move || pending.claim())
        .await
        .unwrap_or_else(|_| Err(Error::new(ErrorCode::Internal, "the replay store step could not run")))
}

/// The verified bytes as a payload again, for the handler's own extractors.
pub(crate) fn payload_of(bytes: Bytes) -> Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(bytes);
    Payload::from(payload)
}
