//! axum extractors: the verified request, or a 500 when the layer did not run on the route — a
//! misconfiguration fails closed, never open.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use hmac_guard::{Error, ErrorCode, Verified};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

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

pub(crate) use crate::body::WireBody;

impl<S: Send + Sync> FromRequestParts<S> for VerifiedBody {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let verified = parts.extensions.get::<Arc<Verified>>().cloned().ok_or(MissingLayer)?;
        let body = parts.extensions.get::<WireBody>().map(|b| b.0.clone()).ok_or(MissingLayer)?;
        Ok(VerifiedBody { verified, body })
    }
}

/// The rejection when [`Hmac`] or [`VerifiedBody`] is asked for on a route the layer does not
/// cover.
#[derive(Debug, Clone, Copy)]
pub struct MissingLayer;

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the hmac-guard layer does not cover this route")
    }
}

impl std::error::Error for MissingLayer {}

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        let error = Error::new(ErrorCode::InvalidState, self.to_string());
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
