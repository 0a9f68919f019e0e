//! The body, streamed through the verification as it arrives and kept for the handler, then
//! the nonce claimed (on tokio's blocking pool when the replay store may wait on the network).

use bytes::{Bytes, BytesMut};
use hmac_guard::{Error, ErrorCode, Guard, PendingReplay, Verification, Verified};
use http_body::Body;
use http_body_util::BodyExt as _;

/// The verified bytes, kept in the request's extensions by the layer (a layer between it and
/// the handler may change the body; these stay as verified).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct WireBody(pub(crate) Bytes);

/// Why reading stopped, and whether the body had been read to its end.
pub(crate) struct Stopped {
    pub(crate) error: Error,
    pub(crate) fully_read: bool,
}

/// Feeds every data frame to `v` (which enforces the byte cap and the declared length) and
/// collects it; a body the server could not read is `ERR_BAD_FRAMING`.
pub(crate) async fn read<B>(mut v: Verification, mut body: B, capacity: usize) -> Result<(PendingReplay, Bytes), Stopped>
where
    B: Body<Data = Bytes> + Unpin,
{
    // A body that arrives as one frame (the common case) is kept as is, not copied.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            let error =
                Error::new(ErrorCode::BadFraming, "the request body could not be read (malformed framing or connection closed)");
            v.refuse(&error);
            return Err(Stopped { error, fully_read: false });
        };
        if let Ok(data) = frame.into_data() {
            v.update(&data).map_err(|error| Stopped { error, fully_read: false })?;
            if let Some(head) = first.take() {
                buf.reserve(capacity.max(head.len() + data.len()));
                buf.extend_from_slice(&head);
            }
            if buf.is_empty() {
                first = Some(data);
            } else {
                buf.extend_from_slice(&data);
            }
        }
    }
    let pending = v.finish_body().map_err(|error| Stopped { error, fully_read: true })?;
    Ok((pending, first.unwrap_or_else(|| buf.freeze())))
}

/// Claims the nonce: inline for an in-process store; for Redis on the store's own async client
/// (the runtime's threads never wait on the network); on the blocking pool for a store that may
/// block and has no async path.
pub(crate) async fn claim(guard: &Guard, pending: PendingReplay) -> hmac_guard::Result<Verified> {
    if !guard.claim_may_block() || guard.claim_is_async() {
        return pending.claim_async().await;
    }
    tokio::task::spawn_blocking(move || pending.claim())
        .await
        .unwrap_or_else(|_| Err(Error::new(ErrorCode::Internal, "the replay store step panicked")))
}
