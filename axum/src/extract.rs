//! axum extractors: the verified request, or a 500 when the layer did not run on the route — a
//! misconfiguration fails closed, never open.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use hmac_guard::{Error, ErrorCode, Verified};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;

/// The verified request (key id, subject, signed components), set by [`crate::HmacGuardLayer`].
/// The body is read as usual, after it (`Bytes`, `Json`, `String`, `Form`).
#[derive(Debug, Clone)]
pub struct Hmac(pub Arc<Verified>);

/// The verified request and the body exactly as verified, for single routes such as webhooks.
#[derive(Debug, Clone)]
pub struct VerifiedBody {
    /// The verified request.
    pub verified: Arc<Verified>,
    /// The body as verified (the bytes on the wire).
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for VerifiedBody {
    type Rejection = MissingLayer;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let verified = req.extensions().get::<Arc<Verified>>().cloned().ok_or(MissingLayer)?;
        // The layer put the verified bytes back in memory: collecting them cannot fail or wait.
        let body = req.into_body().collect().await.map_err(|_| MissingLayer)?.to_bytes();
        Ok(VerifiedBody { verified, body })
    }
}

/// The rejection when [`Hmac`] or [`VerifiedBody`] is asked for on a route the layer does not
/// cover.
#[derive(Debug, Clone, Copy)]
pub struct MissingLayer;

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        let error = Error::new(ErrorCode::InvalidState, "the hmac-guard layer does not cover this route");
        let mut response = (StatusCode::INTERNAL_SERVER_ERROR, hmac_guard::refusal::body(&error, false)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(hmac_guard::Refusal::CONTENT_TYPE));
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Hmac {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Arc<Verified>>().cloned().map(Hmac).ok_or(MissingLayer)
    }
}
