//! axum extractors: the verified request, or a 500 when the layer did not run on the route — a
//! misconfiguration fails closed, never open.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use hmac_guard::{Error, ErrorCode, Verified};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

/// The verified request (key id, subject, signed components), set by [`crate::HmacGuardLayer`].
/// The body is read as usual, after it (`Bytes`, `Json`, `String`, `Form`).
#[derive(Debug, Clone)]
pub struct Hmac(pub Arc<Verified>);

/// The rejection when [`Hmac`] is asked for on a route the layer does not cover.
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
