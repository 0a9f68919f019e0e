//! What a verified delivery is: its id, event type and the key it is deduplicated under.
//!
//! The dedupe key is always covered by the signature: the provider's signed id where it signs one
//! (Standard Webhooks' `webhook-id`; the event id inside a Stripe or Slack body, which a retry
//! re-signs with a new timestamp), otherwise the MAC itself. Never an unsigned header alone
//! (`X-GitHub-Delivery`), which whoever replays a delivery can change. The body is read as JSON
//! only after its MAC matched.

use serde_json::Value;

use super::{MAX_ID_LEN, Preset, WebhookPrepared};

/// Where a delivery's dedupe key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKey {
    /// The provider's signed delivery id (`webhook-id`).
    SignedId,
    /// The event id inside the signed body (Stripe `id`, Slack `event_id`).
    BodyId,
    /// The matching MAC: the provider signs no id, or the body carries none.
    Signature,
}

impl DeliveryKey {
    /// `signed-id`, `body-id` or `signature`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            DeliveryKey::SignedId => "signed-id",
            DeliveryKey::BodyId => "body-id",
            DeliveryKey::Signature => "signature",
        }
    }
}

/// A verified webhook delivery, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The preset's name (`stripe`).
    pub provider: &'static str,
    /// The provider's delivery or event id: signed for Standard Webhooks, Stripe and Slack;
    /// the informational header for GitHub and Shopify.
    pub id: Option<String>,
    /// The event type: from the signed body (Standard Webhooks and Stripe `type`, Slack
    /// `event.type` or `type`) or the provider's header (GitHub, Shopify: not signed).
    pub event_type: Option<String>,
    /// Whether the body is a JSON document.
    pub json: bool,
    /// What the delivery is deduplicated under.
    pub dedupe: DeliveryKey,
}

fn string_at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = doc;
    for name in path {
        v = v.as_object()?.get(*name)?;
    }
    v.as_str()
}

fn id_at(doc: Option<&Value>, path: &[&str]) -> Option<String> {
    let id = string_at(doc?, path)?;
    (!id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control)).then(|| id.to_string())
}

/// The delivery and its replay-store nonce, once the MAC `mac` matched over `body`.
pub(crate) fn resolve(w: &WebhookPrepared, body: &[u8], mac: &[u8]) -> (Delivery, String) {
    let doc: Option<Value> = serde_json::from_slice(body).ok();
    let doc = doc.as_ref();
    let text = |path: &[&str]| doc.and_then(|d| string_at(d, path)).map(str::to_string);
    let (id, event_type) = match w.preset {
        Preset::StandardWebhooks | Preset::Svix => (w.header_id.clone(), text(&["type"])),
        Preset::Stripe => (id_at(doc, &["id"]), text(&["type"])),
        Preset::Slack => (id_at(doc, &["event_id"]), text(&["event", "type"]).or_else(|| text(&["type"]))),
        Preset::Github | Preset::Shopify => (w.header_id.clone(), w.header_type.clone()),
    };
    let (dedupe, nonce) = match (w.preset, &id) {
        (Preset::StandardWebhooks | Preset::Svix, Some(id)) => (DeliveryKey::SignedId, format!("id:{id}")),
        (Preset::Stripe | Preset::Slack, Some(id)) => (DeliveryKey::BodyId, format!("id:{id}")),
        _ => (DeliveryKey::Signature, format!("mac:{}", crate::digest::to_hex(mac))),
    };
    (Delivery { provider: w.preset.name(), id, event_type, json: doc.is_some(), dedupe }, nonce)
}
