//! Webhook receivers: each provider's signature rules as a [`Scheme`] on the same engine as signed
//! API requests (the streaming verifier, its byte cap, key rings, the replay store's two-phase
//! reservation).
//!
//! A provider names no key: every configured secret of the endpoint (rotation) is a candidate,
//! the body streams through one MAC per candidate, and each MAC is compared in constant time with
//! every signature the request carries. A delivery is claimed under an id the signature covers
//! (`delivery.rs`), so a provider's retry and an attacker's replay are the same duplicate.

mod delivery;
mod providers;
mod sign;
mod verify;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub use delivery::{Delivery, DeliveryKey};
pub use sign::{SignedWebhook, sign};

use crate::error::{ErrorCode, Result, fail};
use crate::request::RequestHead;
use crate::scheme::{HeaderLimits, Prepared, Scheme};

/// Most secrets one endpoint verifies with (each costs one MAC over the body).
pub const MAX_SECRETS: usize = 8;
/// Most signatures one request may carry (Standard Webhooks and Stripe send a list).
pub const MAX_SIGNATURES: usize = 8;
/// Longest delivery id read from a header or a body.
pub const MAX_ID_LEN: usize = 256;

/// Whether a handler's answer means the delivery was handled (commit its reservation) rather
/// than failed (release it, so the provider's retry runs): providers count 2xx only.
#[must_use]
pub const fn handled(status: u16) -> bool {
    matches!(status, 200..=299)
}

/// The preset of the guard a webhook receiver is built on.
///
/// # Errors
/// `ERR_INVALID_CONFIG` when the guard verifies signed requests, not a provider's webhooks: a
/// receiver on it would refuse every delivery.
pub fn preset_of(guard: &crate::Guard) -> Result<Preset> {
    let scheme = guard.scheme().name();
    Preset::from_name(scheme).ok_or_else(|| {
        crate::Error::new(
            ErrorCode::InvalidConfig,
            format!("a webhook receiver needs a webhook preset's guard (scheme \"stripe\", ...), not the {scheme} scheme's"),
        )
    })
}

/// A webhook provider's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    StandardWebhooks,
    /// Svix: Standard Webhooks under `svix-*` header names.
    Svix,
    /// Stripe (`Stripe-Signature: t=…,v1=…`).
    Stripe,
    /// GitHub (`X-Hub-Signature-256: sha256=…`).
    Github,
    /// Slack (`X-Slack-Signature: v0=…`, `X-Slack-Request-Timestamp`).
    Slack,
    /// Shopify (`X-Shopify-Hmac-Sha256`).
    Shopify,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 6] =
        [Preset::StandardWebhooks, Preset::Svix, Preset::Stripe, Preset::Github, Preset::Slack, Preset::Shopify];

    /// The preset's name in options (`scheme: "stripe"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Preset::StandardWebhooks => "standard-webhooks",
            Preset::Svix => "svix",
            Preset::Stripe => "stripe",
            Preset::Github => "github",
            Preset::Slack => "slack",
            Preset::Shopify => "shopify",
        }
    }

    /// The preset with this name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the provider signs a timestamp (then a tolerance applies).
    #[must_use]
    pub const fn signs_timestamp(self) -> bool {
        !matches!(self, Preset::Github | Preset::Shopify)
    }

    /// The provider's clock tolerance, both directions (seconds).
    #[must_use]
    pub const fn default_tolerance_secs(self) -> u32 {
        300
    }

    /// How long a processed delivery is remembered: the provider's retry horizon with a margin.
    #[must_use]
    pub const fn default_dedupe_secs(self) -> u32 {
        const HOUR: u32 = 3600;
        match self {
            // Standard Webhooks' schedule spans about 75 h; Stripe retries for up to 3 days;
            // GitHub redeliveries can be requested for 3 days.
            Preset::StandardWebhooks | Preset::Svix | Preset::Stripe => 4 * 24 * HOUR,
            Preset::Github => 3 * 24 * HOUR,
            // Slack retries three times within minutes.
            Preset::Slack => HOUR,
            // Shopify retries 8 times over 4 hours.
            Preset::Shopify => 24 * HOUR,
        }
    }

    /// Shortest secret accepted, in bytes of the derived key: what the provider issues (Standard
    /// Webhooks' 24-byte keys), or for GitHub, whose secrets users type, a floor that refuses
    /// only the trivially guessable.
    #[must_use]
    pub const fn min_secret_len(self) -> usize {
        match self {
            Preset::StandardWebhooks | Preset::Svix | Preset::Stripe => 24,
            Preset::Github => 8,
            Preset::Slack | Preset::Shopify => 32,
        }
    }

    /// The HMAC key for a secret as the provider's dashboard shows it: `whsec_` + base64 for
    /// Standard Webhooks/Svix (decoded), the string's UTF-8 bytes for everyone else (Stripe's
    /// `whsec_…` included: Stripe keys with the whole string).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a Standard Webhooks secret that is not base64, or a key shorter
    /// than [`Preset::min_secret_len`]. The reason never holds the secret.
    pub fn secret_key(self, secret: &str) -> Result<Vec<u8>> {
        let key = match self {
            Preset::StandardWebhooks | Preset::Svix => {
                let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
                match B64.decode(encoded) {
                    Ok(key) => key,
                    Err(_) => {
                        return fail(ErrorCode::InvalidConfig, "is not a Standard Webhooks secret (whsec_ followed by base64)");
                    }
                }
            }
            _ => secret.as_bytes().to_vec(),
        };
        if key.len() < self.min_secret_len() {
            return fail(
                ErrorCode::InvalidConfig,
                format!("is {} bytes; a {} secret has at least {}", key.len(), self.name(), self.min_secret_len()),
            );
        }
        Ok(key)
    }

    /// The header that carries the signature (lowercase).
    #[must_use]
    pub const fn signature_header(self) -> &'static str {
        providers::rules(self).signature
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a webhook scheme found in the head, beyond [`Prepared`]'s common fields.
#[derive(Clone)]
pub struct WebhookPrepared {
    /// The provider.
    pub preset: Preset,
    /// Every signature of the version the preset verifies, decoded; those of another version,
    /// encoding or length are left out (they can match nothing).
    pub signatures: Vec<Vec<u8>>,
    /// The delivery id read from a header: signed for Standard Webhooks, informational for
    /// GitHub (`X-GitHub-Delivery`) and Shopify (`X-Shopify-Webhook-Id`).
    pub header_id: Option<String>,
    /// The event type read from a header (GitHub, Shopify; not signed).
    pub header_type: Option<String>,
    /// The receiver's dedupe namespace (from its configuration, never from the request): two
    /// receivers that get the same event (one Stripe account, two endpoints) and share a Redis
    /// each run it once, and no variant of the request line makes a copy new.
    pub endpoint: Arc<str>,
}

impl fmt::Debug for WebhookPrepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookPrepared")
            .field("preset", &self.preset)
            .field("signatures", &self.signatures.len())
            .field("header_id", &self.header_id)
            .field("header_type", &self.header_type)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// A provider's scheme.
#[derive(Debug, Clone)]
pub struct WebhookScheme {
    preset: Preset,
    endpoint: Arc<str>,
}

impl WebhookScheme {
    /// The scheme of `preset` for the receiver named `endpoint`: its deliveries are deduplicated
    /// under that name (`config` derives one from the secrets when none is given).
    #[must_use]
    pub fn new(preset: Preset, endpoint: &str) -> Self {
        WebhookScheme { preset, endpoint: Arc::from(endpoint) }
    }

    /// Its preset.
    #[must_use]
    pub const fn preset(&self) -> Preset {
        self.preset
    }
}

impl Scheme for WebhookScheme {
    fn name(&self) -> &'static str {
        self.preset.name()
    }

    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared> {
        providers::prepare(self.preset, &self.endpoint, head, limits)
    }
}

#[cfg(test)]
mod tests;
