//! The webhook presets' options: the endpoint's secrets, the clock tolerance, the dedupe horizon.
//! A preset decides the rest (no key ids, no nonce, two-phase claims), so the options that
//! configure signed requests are refused with it.

use zeroize::Zeroizing;

use super::read::{Options, invalid};
use super::value::Value;
use super::{Spelling, fields::field};
use crate::error::{Error, ErrorCode, Result};
use crate::keyring::{Algorithm, KeySpec};
use crate::scheme::HeaderLimits;
use crate::verifier::{Guard, Policy, ReplayMode};
use crate::webhook::{MAX_SECRETS, Preset};

/// Options that apply to webhook presets only.
pub(crate) const WEBHOOK_ONLY: [&str; 4] =
    ["webhook.secrets", "webhook.tolerance_secs", "webhook.dedupe_secs", "webhook.endpoint"];

/// Options a preset decides itself.
const NOT_FOR_WEBHOOKS: [&str; 13] = [
    "keys",
    "profile",
    "policy.max_age_secs",
    "policy.max_future_skew_secs",
    "policy.require_nonce",
    "policy.replay",
    "policy.required_components",
    "policy.required_params",
    "policy.accepted_labels",
    "policy.required_tag",
    "policy.min_nonce_len",
    "policy.max_nonce_len",
    "policy.trust_proxy",
];

/// The longest dedupe horizon (30 days).
const MAX_DEDUPE_SECS: i64 = 30 * 86_400;

/// The policy, the keys and the dedupe namespace of a webhook preset (and whether it was named).
pub(crate) fn read(o: &Options<'_>, preset: Preset) -> Result<(Policy, Vec<KeySpec>, String, bool)> {
    if let Some(id) = NOT_FOR_WEBHOOKS.iter().find(|id| o.has(id)) {
        let instead = match *id {
            "keys" => format!(" (give the endpoint's secrets as {})", o.name("webhook.secrets")),
            "policy.max_age_secs" | "policy.max_future_skew_secs" => {
                format!(" (the clock tolerance is {})", o.name("webhook.tolerance_secs"))
            }
            _ => String::new(),
        };
        return Err(invalid(&o.name(id), format_args!("does not apply to the {preset} preset{instead}")));
    }
    let keys = match o.raw("webhook.secrets") {
        None => return Err(invalid(&o.name("webhook.secrets"), format_args!("is required by the {preset} preset"))),
        Some(v) => secret_specs(v, preset, &o.name("webhook.secrets"))?,
    };
    let tolerance = if preset.signs_timestamp() {
        o.int_as("webhook.tolerance_secs", 1, 86_400)?.unwrap_or(preset.default_tolerance_secs())
    } else if o.has("webhook.tolerance_secs") {
        return Err(invalid(&o.name("webhook.tolerance_secs"), format_args!("does not apply: {preset} signs no timestamp")));
    } else {
        preset.default_tolerance_secs()
    };
    let d = Policy::default();
    let dl = HeaderLimits::default();
    let policy = Policy {
        max_age_secs: tolerance,
        max_future_skew_secs: tolerance,
        body_limit: o.int_as("policy.body_limit", 1, super::policy::MAX_BODY_LIMIT)?.unwrap_or(d.body_limit),
        header_limits: HeaderLimits {
            max_header_len: o.int_as("policy.max_header_len", 256, 1 << 20)?.unwrap_or(dl.max_header_len),
            max_components: o.int_as("policy.max_components", 1, 256)?.unwrap_or(dl.max_components),
            ..dl
        },
        require_nonce: false,
        replay: ReplayMode::Reserve { hold_secs: o.int_as("policy.reserve_hold_secs", 1, 86_400)?.unwrap_or(60) },
        trust_proxy: false,
        dedupe_secs: o.int_as("webhook.dedupe_secs", 1, MAX_DEDUPE_SECS)?.unwrap_or(preset.default_dedupe_secs()),
    };
    let (endpoint, named) = match o.string("webhook.endpoint")? {
        Some(name) if name.is_empty() || name.len() > 128 || !name.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(invalid(&o.name("webhook.endpoint"), "must be 1 to 128 visible ASCII characters"));
        }
        Some(name) => (format!("name:{name}"), true),
        None => (fingerprint(preset, &keys), false),
    };
    Ok((policy, keys, endpoint, named))
}

/// The dedupe namespace of a receiver named by nothing but its secrets: a MAC of a fixed label
/// under each secret, sorted and hashed. The same secrets give the same name in every worker (one
/// endpoint shares its deliveries across processes); another endpoint's secrets give another (two
/// endpoints that receive the same event each run it). It reveals no more about a secret than any
/// signed delivery does.
fn fingerprint(preset: Preset, keys: &[KeySpec]) -> String {
    use hmac::{KeyInit as _, Mac as _};
    use sha2::Digest as _;
    let mut macs: Vec<Vec<u8>> = keys
        .iter()
        .filter_map(|k| {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&k.secret).ok()?;
            m.update(b"hmac-guard webhook dedupe namespace");
            Some(m.finalize().into_bytes().to_vec())
        })
        .collect();
    macs.sort();
    macs.dedup();
    let mut h = sha2::Sha256::new();
    h.update(preset.name().as_bytes());
    for m in &macs {
        h.update(m);
    }
    format!("secrets:{}", crate::digest::to_hex(&h.finalize()[..12]))
}

/// The endpoint's secrets, as the provider's dashboard shows them: a list of strings (or one
/// string), at most [`MAX_SECRETS`], each turned into a key `secret-<i>` by the preset's rule.
/// Errors name the position, never the value.
fn secret_specs(value: &Value, preset: Preset, name: &str) -> Result<Vec<KeySpec>> {
    let items = match value {
        Value::List(items) => items.as_slice(),
        Value::Str(_) => std::slice::from_ref(value),
        other => return Err(invalid(name, format_args!("must be a list of strings, not {}", other.kind()))),
    };
    if items.is_empty() {
        return Err(invalid(name, "must hold at least one secret"));
    }
    if items.len() > MAX_SECRETS {
        return Err(invalid(name, format_args!("may hold at most {MAX_SECRETS} secrets")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let secret = match item {
                Value::Str(Some(s)) => Zeroizing::new(s.to_string()),
                Value::Str(None) => return Err(invalid(&format!("{name}[{i}]"), "is not valid Unicode")),
                other => return Err(invalid(&format!("{name}[{i}]"), format_args!("must be a string, not {}", other.kind()))),
            };
            let key = preset.secret_key(&secret).map_err(|e| invalid(&format!("{name}[{i}]"), e.reason()))?;
            Ok(KeySpec::new(format!("secret-{i}"), key, Algorithm::HmacSha256))
        })
        .collect()
}

/// The preset named by a binding's argument (`signWebhook('stripe', …)`), with the contract's
/// wording for an unknown name.
///
/// # Errors
/// `ERR_INVALID_CONFIG` for a name no preset has.
pub fn preset(name: &str) -> Result<Preset> {
    Preset::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
        Error::new(ErrorCode::InvalidConfig, format!("preset must be one of {}", names.join(", ")))
    })
}

/// Signs a delivery as `preset`'s provider would (the signer of every binding): the secrets as the
/// `secrets` option takes them (one string or a list), checked the same way.
///
/// # Errors
/// `ERR_INVALID_CONFIG` for an unknown preset or a bad secret (named by position, never by value).
pub fn sign(
    preset_name: &str,
    secrets: &Value,
    spelling: Spelling,
    body: &[u8],
    timestamp: Option<i64>,
    id: Option<&str>,
) -> Result<crate::webhook::SignedWebhook> {
    let preset = preset(preset_name)?;
    let name = field("webhook.secrets").name(spelling);
    // Validated (count, type, floor) as the option is; the signer takes the strings.
    secret_specs(secrets, preset, name)?;
    let texts: Vec<&str> = match secrets {
        Value::List(items) => items.iter().filter_map(|v| if let Value::Str(Some(s)) = v { Some(&***s) } else { None }).collect(),
        Value::Str(Some(s)) => vec![&***s],
        _ => Vec::new(),
    };
    crate::webhook::sign(preset, &texts, body, timestamp, id)
}

/// Replaces a webhook guard's secrets at runtime (rotation without a restart): the new list is
/// validated as the `secrets` option is, then swapped in at once.
///
/// # Errors
/// `ERR_INVALID_CONFIG` naming the bad position, or when the guard is not a webhook preset's.
pub fn rotate_secrets(guard: &Guard, secrets: &Value, spelling: Spelling) -> Result<()> {
    let preset = crate::webhook::preset_of(guard)?;
    let specs = secret_specs(secrets, preset, field("webhook.secrets").name(spelling))?;
    guard.keys().replace_all(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(secret: &str) -> KeySpec {
        KeySpec::new("k", secret.as_bytes().to_vec(), Algorithm::HmacSha256)
    }

    #[test]
    fn the_derived_namespace_follows_the_set_of_secrets() {
        let (a, b) = ("whsec_first-secret-of-the-endpoint", "whsec_second-secret-of-the-endpoint");
        let one = fingerprint(Preset::Stripe, &[spec(a), spec(b)]);
        assert_eq!(one, fingerprint(Preset::Stripe, &[spec(b), spec(a)]), "order does not matter");
        assert_ne!(one, fingerprint(Preset::Stripe, &[spec(a)]));
        assert_ne!(one, fingerprint(Preset::Github, &[spec(a), spec(b)]));
        assert!(one.starts_with("secrets:") && one.len() == "secrets:".len() + 24, "{one}");
        assert!(!one.contains("first-secret"));
    }
}
