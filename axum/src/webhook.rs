//! The [`Webhook`] extractor: a verified delivery of a provider preset, as the handler sees it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use hmac_guard::Verified;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::extract::{MissingLayer, WireBody};

/// A verified webhook delivery, on a route behind [`crate::HmacGuardLayer::webhook`]. Asked for
/// on a route without a webhook layer it is rejected with 500 `ERR_INVALID_STATE` (fails closed).
///
/// Answer 2xx and the delivery is committed (a copy is answered 200 without running the handler
/// again); answer an error status, panic, or lose the client, and it is released, so the
/// provider's retry runs the handler.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The preset's name (`stripe`).
    pub provider: &'static str,
    /// The provider's delivery or event id (see `hmac_guard::webhook::Delivery::id`).
    pub id: Option<String>,
    /// The event type (`payment_intent.succeeded`, `push`, ...).
    pub event_type: Option<String>,
    /// Whether the body is a JSON document ([`Webhook::payload`] parses it).
    pub json: bool,
    /// Which of the endpoint's secrets signed it: `secret-0`, `secret-1`, ... (never its value).
    pub secret_id: String,
    /// The body exactly as it arrived and was verified (any bytes).
    pub body: Bytes,
    /// Everything the core verified.
    pub verified: Arc<Verified>,
}

impl Webhook {
    /// The body parsed as JSON into `T`; `None` when the body is not JSON.
    #[must_use]
    pub fn payload<T: DeserializeOwned>(&self) -> Option<serde_json::Result<T>> {
        self.json.then(|| serde_json::from_slice(&self.body))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Webhook {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let verified = parts.extensions.get::<Arc<Verified>>().cloned().ok_or(MissingLayer)?;
        let body = parts.extensions.get::<WireBody>().map(|b| b.0.clone()).ok_or(MissingLayer)?;
        let d = verified.webhook.clone().ok_or(MissingLayer)?;
        Ok(Webhook {
            provider: d.provider,
            id: d.id,
            event_type: d.event_type,
            json: d.json,
            secret_id: verified.key_id.clone(),
            body,
            verified,
        })
    }
}
