//! Each provider's headers: where the signature, timestamp and delivery id are, how the
//! signatures are listed and encoded, and what the MAC covers before the body.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{MAX_ID_LEN, MAX_SIGNATURES, Preset, WebhookPrepared};
use crate::digest::from_hex;
use crate::error::{Error, ErrorCode, Result, fail};
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared};

/// Header names (lowercase) a preset reads.
pub(crate) struct Rules {
    pub(crate) signature: &'static str,
    /// A separate timestamp header (Stripe's is inside its signature header).
    pub(crate) timestamp: Option<&'static str>,
    /// The delivery id header; required and signed for Standard Webhooks.
    pub(crate) id: Option<&'static str>,
    /// The event type header (not signed).
    pub(crate) event_type: Option<&'static str>,
}

pub(crate) const fn rules(preset: Preset) -> Rules {
    match preset {
        Preset::StandardWebhooks => Rules {
            signature: "webhook-signature",
            timestamp: Some("webhook-timestamp"),
            id: Some("webhook-id"),
            event_type: None,
        },
        Preset::Svix => {
            Rules { signature: "svix-signature", timestamp: Some("svix-timestamp"), id: Some("svix-id"), event_type: None }
        }
        Preset::Stripe => Rules { signature: "stripe-signature", timestamp: None, id: None, event_type: None },
        Preset::Github => Rules {
            signature: "x-hub-signature-256",
            timestamp: None,
            id: Some("x-github-delivery"),
            event_type: Some("x-github-event"),
        },
        Preset::Slack => {
            Rules { signature: "x-slack-signature", timestamp: Some("x-slack-request-timestamp"), id: None, event_type: None }
        }
        Preset::Shopify => Rules {
            signature: "x-shopify-hmac-sha256",
            timestamp: None,
            id: Some("x-shopify-webhook-id"),
            event_type: Some("x-shopify-topic"),
        },
    }
}

/// A MAC of the preset's length (HMAC-SHA256), or nothing: a signature that cannot be one
/// matches no secret and is left out.
fn mac_hex(value: &str) -> Option<Vec<u8>> {
    from_hex(&value.to_ascii_lowercase()).filter(|m| m.len() == 32)
}

fn mac_b64(value: &str) -> Option<Vec<u8>> {
    B64.decode(value).ok().filter(|m| m.len() == 32)
}

/// Signatures and the timestamp found in the signature header.
struct Found {
    signatures: Vec<Vec<u8>>,
    timestamp: Option<String>,
}

/// `v1,<base64>` entries separated by spaces; other versions (`v1a`) are ignored.
fn standard_webhooks(header: &str, name: &str) -> Result<Found> {
    let mut signatures = Vec::new();
    for entry in header.split(' ').filter(|e| !e.is_empty()) {
        let Some((version, value)) = entry.split_once(',') else {
            return fail(ErrorCode::MalformedSignature, format!("{name} has an entry without a version (`v1,<base64>`)"));
        };
        if version == "v1" {
            if signatures.len() == MAX_SIGNATURES {
                return fail(ErrorCode::MalformedSignature, format!("{name} has more than {MAX_SIGNATURES} v1 signatures"));
            }
            signatures.extend(mac_b64(value));
        }
    }
    Ok(Found { signatures, timestamp: None })
}

/// `t=<unix>,v1=<hex>[,v1=…][,v0=…]`: only `v1` counts; `t` exactly once.
fn stripe(header: &str) -> Result<Found> {
    let mut found = Found { signatures: Vec::new(), timestamp: None };
    let mut v1 = 0;
    for item in header.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            return fail(ErrorCode::MalformedSignature, "Stripe-Signature has an item that is not key=value");
        };
        match k {
            "t" if found.timestamp.is_some() => {
                return fail(ErrorCode::MalformedSignature, "Stripe-Signature has t= more than once");
            }
            "t" => found.timestamp = Some(v.to_string()),
            "v1" => {
                v1 += 1;
                if v1 > MAX_SIGNATURES {
                    return fail(
                        ErrorCode::MalformedSignature,
                        format!("Stripe-Signature has more than {MAX_SIGNATURES} v1 signatures"),
                    );
                }
                found.signatures.extend(mac_hex(v));
            }
            _ => {}
        }
    }
    if found.timestamp.is_none() {
        return fail(ErrorCode::MalformedSignature, "Stripe-Signature has no t= timestamp");
    }
    Ok(found)
}

/// One `<prefix><hex>` value (GitHub `sha256=`, Slack `v0=`); another prefix matches nothing.
fn prefixed_hex(header: &str, prefix: &str) -> Found {
    let signatures = header.strip_prefix(prefix).and_then(mac_hex).into_iter().collect();
    Found { signatures, timestamp: None }
}

/// Unix seconds: 1 to 12 decimal digits.
fn timestamp(value: &str, name: &str) -> Result<i64> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return fail(ErrorCode::MalformedSignature, format!("{name} must be Unix seconds (decimal digits)"));
    }
    value.parse().map_err(|_| Error::new(ErrorCode::MalformedSignature, format!("{name} is out of range")))
}

fn is_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_ID_LEN && value.bytes().all(|b| b.is_ascii_graphic())
}

/// An informational header (not signed): its value if it looks like one, never an error.
fn informational(head: &RequestHead, name: Option<&str>) -> Option<String> {
    let mut values = head.values(name?);
    let value = crate::request::trim_ows(values.next()?);
    (values.next().is_none() && is_id(value)).then(|| value.to_string())
}

pub(crate) fn prepare(preset: Preset, endpoint: &Arc<str>, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared> {
    let rules = rules(preset);
    let max = limits.max_header_len;
    let Some(header) = head.single(rules.signature, max, ErrorCode::MalformedSignature)? else {
        if preset == Preset::Github && head.values("x-hub-signature").next().is_some() {
            return fail(
                ErrorCode::MissingSignature,
                "only the SHA-1 X-Hub-Signature is present; X-Hub-Signature-256 is required",
            );
        }
        return fail(ErrorCode::MissingSignature, format!("no {} header", rules.signature));
    };
    let found = match preset {
        Preset::StandardWebhooks | Preset::Svix => standard_webhooks(header, rules.signature)?,
        Preset::Stripe => stripe(header)?,
        Preset::Github => prefixed_hex(header, "sha256="),
        Preset::Slack => prefixed_hex(header, "v0="),
        Preset::Shopify => Found { signatures: mac_b64(header).into_iter().collect(), timestamp: None },
    };
    let signed_id = match (preset, rules.id) {
        (Preset::StandardWebhooks | Preset::Svix, Some(name)) => {
            let Some(id) = head.single(name, max, ErrorCode::MalformedSignature)? else {
                return fail(ErrorCode::MissingHeader, format!("{name} is missing"));
            };
            if !is_id(id) {
                return fail(ErrorCode::MalformedSignature, format!("{name} must be 1..={MAX_ID_LEN} visible ASCII characters"));
            }
            Some(id.to_string())
        }
        _ => None,
    };
    let ts = match (rules.timestamp, found.timestamp) {
        (Some(name), _) => match head.single(name, max, ErrorCode::MalformedSignature)? {
            Some(v) => Some((timestamp(v, name)?, v.to_string())),
            None => return fail(ErrorCode::MissingHeader, format!("{name} is missing")),
        },
        (None, Some(t)) => Some((timestamp(&t, "Stripe-Signature t=")?, t)),
        (None, None) => None,
    };
    // What the MAC covers before the body, written once; the signed values are ranges of it.
    let mut covered = Covered::with_capacity(64);
    let text = covered.text_mut();
    if preset == Preset::Slack {
        text.push_str("v0:");
    }
    let mut spans: Vec<(&'static str, std::ops::Range<usize>)> = Vec::with_capacity(2);
    let sep = if preset == Preset::Slack { ':' } else { '.' };
    for (name, value) in [("id", signed_id.as_deref()), ("timestamp", ts.as_ref().map(|(_, t)| t.as_str()))] {
        if let Some(value) = value {
            let start = text.len();
            text.push_str(value);
            spans.push((name, start..text.len()));
            text.push(sep);
        }
    }
    for (name, range) in spans {
        covered.push_static(name, range);
    }
    let prefix = covered.text().as_bytes().to_vec();
    let header_id = signed_id.or_else(|| informational(head, rules.id));
    Ok(Prepared {
        scheme: preset.name(),
        label: None,
        key_id: String::new(),
        created: ts.map(|(t, _)| t),
        expires: None,
        nonce: None,
        algorithm: None,
        tag: None,
        covered,
        mac_input: MacInput::BodyAppended { prefix, suffix: Vec::new() },
        signature: Vec::new(),
        body: BodyBinding::InMac,
        webhook: Some(Box::new(WebhookPrepared {
            preset,
            signatures: found.signatures,
            header_id,
            header_type: informational(head, rules.event_type),
            endpoint: Arc::clone(endpoint),
        })),
    })
}
