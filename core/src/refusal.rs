//! How an adapter answers a refused request, decided once for every framework: the status, the
//! JSON body, `Accept-Signature` (RFC 9421 §5.1) and whether the connection must close.

use crate::error::{Error, ErrorCode};
use crate::json::Object;
use crate::verifier::Guard;
use crate::verifier::ReplayMode;

/// The answer to a refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// `{"error":{"code","message"}}`, with `reason` added in development mode.
    pub body: String,
    /// The `Accept-Signature` field value, for a 401 of a scheme that has one.
    pub accept_signature: Option<String>,
    /// Answer with `Connection: close` and read nothing more: body bytes were left unread.
    pub close: bool,
    /// `Retry-After` (seconds): a copy of a webhook delivery in flight may be retried once the
    /// reservation's hold has passed.
    pub retry_after: Option<u32>,
}

impl Refusal {
    /// The body's media type.
    pub const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";
}

/// The JSON body of a refusal: `{"error":{"code","message"}}`, the message the code's generic
/// client-facing one; `reason` added when `expose_reason` (development only).
#[must_use]
pub fn body(error: &Error, expose_reason: bool) -> String {
    let mut inner = String::with_capacity(80);
    let mut o = Object::open(&mut inner);
    o.str("code", error.code().as_str()).str("message", error.code().message());
    if expose_reason {
        o.str("reason", error.reason());
    }
    o.close();
    let mut body = String::with_capacity(inner.len() + 10);
    let mut outer = Object::open(&mut body);
    outer.raw("error", &inner);
    outer.close();
    body
}

impl Guard {
    /// The `Retry-After` seconds for a refusal with `code`: the reservation hold for a delivery
    /// in progress, else none.
    #[must_use]
    pub fn retry_after(&self, code: ErrorCode) -> Option<u32> {
        match (code, self.policy().replay) {
            (ErrorCode::DeliveryInProgress, ReplayMode::Reserve { hold_secs }) => Some(hold_secs),
            _ => None,
        }
    }

    /// The answer to a request refused with `error`. `announced_body`: the request announced a
    /// body ([`crate::intake::announces_body`]); `body_fully_read`: all of it was read;
    /// `expose_reason`: development mode adds the error's reason (never a secret, but it tells
    /// a prober which check failed).
    #[must_use]
    pub fn refusal(&self, error: &Error, announced_body: bool, body_fully_read: bool, expose_reason: bool) -> Refusal {
        Refusal {
            status: error.status(),
            body: body(error, expose_reason),
            accept_signature: self.accept_signature(error.code(), announced_body),
            close: announced_body && crate::intake::close_after_refusal(body_fully_read),
            retry_after: self.retry_after(error.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::error::{Error, ErrorCode};
    use crate::rfc9421::Rfc9421;
    use crate::verifier::Guard;

    #[test]
    fn status_body_accept_signature_and_close() {
        let guard = Guard::builder().scheme(Arc::new(Rfc9421::default())).build().unwrap();
        let e = Error::new(ErrorCode::SignatureMismatch, "signature does not match the signature base");
        let r = guard.refusal(&e, true, false, false);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, r#"{"error":{"code":"ERR_SIGNATURE_MISMATCH","message":"authentication failed"}}"#);
        assert!(r.accept_signature.as_deref().is_some_and(|a| a.contains("content-digest")), "{r:?}");
        assert!(r.close);
        let r = guard.refusal(&Error::new(ErrorCode::BodyTooLarge, "x \"y\""), false, true, true);
        assert_eq!((r.status, r.close, r.accept_signature), (413, false, None));
        assert!(r.body.ends_with(r#""reason":"x \"y\""}}"#), "{}", r.body);
    }
}
