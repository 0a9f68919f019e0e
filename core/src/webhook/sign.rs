//! A provider's headers for a body, as the provider would send them: for testing an endpoint
//! (`hmac-guard sign --preset stripe`, `signWebhook`, `sign_webhook`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit as _, Mac as _};

use super::Preset;
use super::providers::rules;
use crate::clock::Clock as _;
use crate::digest::to_hex;
use crate::error::{Error, ErrorCode, Result, fail};

/// A signed delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// Header names and values to send with the body.
    pub headers: Vec<(String, String)>,
    /// The exact bytes the MAC covers (what `explain` shows).
    pub signed: Vec<u8>,
}

impl fmt::Debug for SignedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SignedWebhook").field("headers", &names).finish_non_exhaustive()
    }
}

/// Signs `body` as `preset`'s provider does with each of `secrets` (several: one signature per
/// secret where the provider lists several — Standard Webhooks, Stripe — else the first only).
/// `timestamp`: Unix seconds for presets that sign one (`None`: now); `id`: the delivery id
/// (Standard Webhooks; a random `msg_…` when `None`).
///
/// # Errors
/// `ERR_INVALID_CONFIG` for no secret or a secret the preset refuses (named by position).
pub fn sign(preset: Preset, secrets: &[&str], body: &[u8], timestamp: Option<i64>, id: Option<&str>) -> Result<SignedWebhook> {
    if secrets.is_empty() {
        return fail(ErrorCode::InvalidConfig, "secrets: at least one is required");
    }
    let keys = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            preset.secret_key(s).map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("secrets[{i}] {}", e.reason())))
        })
        .collect::<Result<Vec<_>>>()?;
    let id = match id {
        Some(id) => id.to_string(),
        None => format!("msg_{}", crate::signer::random_nonce()?),
    };
    let ts = timestamp.unwrap_or_else(|| crate::clock::SystemClock.now_secs()).to_string();
    let mut signed = match preset {
        Preset::StandardWebhooks | Preset::Svix => format!("{id}.{ts}."),
        Preset::Stripe => format!("{ts}."),
        Preset::Slack => format!("v0:{ts}:"),
        Preset::Github | Preset::Shopify => String::new(),
    }
    .into_bytes();
    signed.extend_from_slice(body);
    let macs: Vec<Vec<u8>> = keys.iter().map(|k| mac(k, &signed)).collect::<Result<_>>()?;
    let first = &macs[0];
    let r = rules(preset);
    let value = match preset {
        Preset::StandardWebhooks | Preset::Svix => {
            macs.iter().map(|m| format!("v1,{}", B64.encode(m))).collect::<Vec<_>>().join(" ")
        }
        Preset::Stripe => {
            let sigs: Vec<String> = macs.iter().map(|m| format!("v1={}", to_hex(m))).collect();
            format!("t={ts},{}", sigs.join(","))
        }
        Preset::Github => format!("sha256={}", to_hex(first)),
        Preset::Slack => format!("v0={}", to_hex(first)),
        Preset::Shopify => B64.encode(first),
    };
    let mut headers = Vec::with_capacity(3);
    if matches!(preset, Preset::StandardWebhooks | Preset::Svix)
        && let Some(name) = r.id
    {
        headers.push((name.to_string(), id));
    }
    if let Some(name) = r.timestamp {
        headers.push((name.to_string(), ts));
    }
    headers.push((r.signature.to_string(), value));
    Ok(SignedWebhook { headers, signed })
}

fn mac(key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorCode::InvalidConfig, "HMAC key setup failed"))?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}
