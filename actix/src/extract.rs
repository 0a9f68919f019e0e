//! Extractors: the verified request, and the verified wire bytes with it. Asked for on a route
//! the middleware does not cover they fail with 500 `ERR_INVALID_STATE`: a misconfiguration
//! fails closed, never open.

use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use hmac_guard::{Error, ErrorCode, Refusal, Verified};

/// The verified request (key id, subject, signed components), set by [`crate::HmacGuard`]. The
/// body is read as usual, after it (`web::Bytes`, `web::Json`, `String`, `web::Payload`).
#[derive(Debug, Clone)]
pub struct Hmac(pub Arc<Verified>);

/// The verified request and the body bytes exactly as they arrived (before any decoding), for
/// single routes such as webhooks.
#[derive(Debug, Clone)]
pub struct VerifiedBody {
    /// The verified request.
    pub verified: Arc<Verified>,
    /// The body as verified.
    pub body: Bytes,
}

/// The verified bytes, kept in the request's extensions by the middleware.
#[derive(Debug, Clone)]
pub(crate) struct WireBody(pub(crate) Bytes);

/// The error when an extractor is used on a route the middleware does not cover.
#[derive(Debug, Clone, Copy)]
pub struct MissingMiddleware;

impl fmt::Display for MissingMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the hmac-guard middleware does not cover this route")
    }
}

impl ResponseError for MissingMiddleware {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        let error = Error::new(ErrorCode::InvalidState, self.to_string());
        HttpResponse::InternalServerError().content_type(Refusal::CONTENT_TYPE).body(hmac_guard::refusal::body(&error, false))
    }
}

impl FromRequest for Hmac {
    type Error = MissingMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Arc<Verified>>().cloned().map(Hmac).ok_or(MissingMiddleware))
    }
}

impl FromRequest for VerifiedBody {
    type Error = MissingMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        let found = ext.get::<Arc<Verified>>().cloned().zip(ext.get::<WireBody>().map(|b| b.0.clone()));
        ready(found.map(|(verified, body)| VerifiedBody { verified, body }).ok_or(MissingMiddleware))
    }
}
