//! A refusal as a response: status, JSON body, `Accept-Signature`, `Connection: close` — all as
//! the core decides them (`Guard::refusal`).

use hmac_guard::{Error, Guard, Refusal};
use http::{HeaderValue, Response, StatusCode, header};

pub(crate) fn refusal<B: From<String>>(
    guard: &Guard,
    error: &Error,
    announced_body: bool,
    body_fully_read: bool,
    expose_reasons: bool,
) -> Response<B> {
    let r = guard.refusal(error, announced_body, body_fully_read, expose_reasons);
    let mut response = Response::new(B::from(r.body));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(Refusal::CONTENT_TYPE));
    if let Some(accept) = r.accept_signature.and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.insert("accept-signature", accept);
    }
    if let Some(seconds) = r.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if r.close {
        // Body bytes are left unread: hyper closes the connection after this answer.
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
