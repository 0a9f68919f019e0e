//! The [`Webhook`] extractor: a verified delivery of a provider preset, as the handler sees it.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use hmac_guard::Verified;
use serde::de::DeserializeOwned;

use crate::extract::{MissingMiddleware, WireBody};

/// A verified webhook delivery, on a route wrapped by [`crate::HmacGuard::webhook`]. Asked for on
/// a route without a webhook guard it fails with 500 `ERR_INVALID_STATE` (fails closed).
///
/// Answer 2xx and the delivery is committed (a copy is answered 200 without running the handler
/// again); answer an error status, return an error or panic, or lose the client, and it is
/// released, so the provider's retry runs the handler.
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

impl FromRequest for Webhook {
    type Error = MissingMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ext = req.extensions();
        let found = ext.get::<Arc<Verified>>().cloned().zip(ext.get::<WireBody>().map(|b| b.0.clone()));
        ready(
            found
                .and_then(|(verified, body)| {
                    let d = verified.webhook.clone()?;
                    Some(Webhook {
                        provider: d.provider,
                        id: d.id,
                        event_type: d.event_type,
                        json: d.json,
                        secret_id: verified.key_id.clone(),
                        body,
                        verified,
                    })
                })
                .ok_or(MissingMiddleware),
        )
    }
}
