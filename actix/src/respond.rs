//! A refusal as a response (so outer middleware such as the logger still sees it): status, JSON
//! body, `Accept-Signature`, `Connection: close` — all as the core decides them.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use hmac_guard::{Error, Guard, Refusal};

pub(crate) fn refusal(
    guard: &Guard,
    error: &Error,
    announced_body: bool,
    body_fully_read: bool,
    expose: bool,
    payload: Payload,
) -> HttpResponse {
    let r = guard.refusal(error, announced_body, body_fully_read, expose);
    let mut response = HttpResponse::build(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    response.content_type(Refusal::CONTENT_TYPE);
    if let Some(accept) = r.accept_signature {
        response.insert_header(("accept-signature", accept));
    }
    if let Some(seconds) = r.retry_after {
        response.insert_header(("retry-after", seconds.to_string()));
    }
    if r.close {
        // Body bytes are left unread: answer, then close instead of reading them.
        response.force_close();
    }
    response.body(RefusalBody { json: Some(Bytes::from(r.body)), _unread: payload })
}

/// The refusal's JSON, holding the unread request payload until it is sent: actix-http drains a
/// *dropped* chunked payload to keep the connection (an unbounded read, and a hang when the
/// client stops sending after the answer), but closes after answering one that is still held.
struct RefusalBody {
    json: Option<Bytes>,
    _unread: Payload,
}

impl MessageBody for RefusalBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.json.as_ref().map_or(0, |b| b.len() as u64))
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.get_mut().json.take().map(Ok))
    }
}
