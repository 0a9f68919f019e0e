//! The policy options and the RFC 9421 settings: ranges, defaults, profiles, combinations.

use super::read::{Options, invalid};
use crate::error::{Error, ErrorCode, Result};
use crate::rfc9421::components::{parse_component, parse_component_parts, write_identifier};
use crate::rfc9421::{KNOWN_PARAMS, Rfc9421Config};
use crate::scheme::HeaderLimits;
use crate::sf::{self, Member};
use crate::verifier::{Policy, ReplayMode};

/// Options that only the RFC 9421 scheme reads.
const RFC9421_ONLY: [&str; 4] =
    ["policy.required_components", "policy.required_params", "policy.accepted_labels", "policy.required_tag"];

/// JavaScript's largest exact integer: the largest body limit every binding can state.
pub(crate) const MAX_BODY_LIMIT: i64 = (1 << 53) - 1;

/// The policy, and the RFC 9421 settings when that is the scheme (`None` for the simple scheme).
pub(crate) fn read(o: &Options<'_>, scheme: &str, interop: bool) -> Result<(Policy, Option<Rfc9421Config>)> {
    let d = Policy::default();
    let dl = HeaderLimits::default();
    let max_age_secs = o.int_as("policy.max_age_secs", 1, 31_536_000)?.unwrap_or(d.max_age_secs);
    let max_future_skew_secs = o.int_as("policy.max_future_skew_secs", 0, 86_400)?.unwrap_or(d.max_future_skew_secs);
    let body_limit = o.int_as("policy.body_limit", 1, MAX_BODY_LIMIT)?.unwrap_or(d.body_limit);
    let max_header_len = o.int_as("policy.max_header_len", 256, 1 << 20)?.unwrap_or(dl.max_header_len);
    let min_nonce_len = o.int_as("policy.min_nonce_len", 1, 1024)?.unwrap_or(dl.min_nonce_len);
    let max_nonce_len = o.int_as("policy.max_nonce_len", 1, 1024)?.unwrap_or(dl.max_nonce_len);
    if min_nonce_len > max_nonce_len {
        return Err(invalid(&o.name("policy.min_nonce_len"), format_args!("must not exceed {}", o.name("policy.max_nonce_len"))));
    }
    let max_components = o.int_as("policy.max_components", 1, 256)?.unwrap_or(dl.max_components);
    let replay = match o.choice("policy.replay", &["consume", "reserve"])?.unwrap_or("consume") {
        "reserve" => ReplayMode::Reserve { hold_secs: o.int_as("policy.reserve_hold_secs", 1, 86_400)?.unwrap_or(60) },
        _ if o.has("policy.reserve_hold_secs") => {
            return Err(invalid(
                &o.name("policy.reserve_hold_secs"),
                format_args!("needs {} = \"reserve\"", o.name("policy.replay")),
            ));
        }
        _ => ReplayMode::Consume,
    };
    let require_nonce = o.bool("policy.require_nonce")?.unwrap_or(!interop);
    let policy = Policy {
        max_age_secs,
        max_future_skew_secs,
        body_limit,
        header_limits: HeaderLimits { max_header_len, min_nonce_len, max_nonce_len, max_components },
        require_nonce,
        replay,
        trust_proxy: o.bool("policy.trust_proxy")?.unwrap_or(false),
        dedupe_secs: 0,
    };
    if let Some(id) = super::webhook::WEBHOOK_ONLY.iter().find(|id| o.has(id)) {
        return Err(invalid(&o.name(id), "applies to the webhook presets only"));
    }
    if scheme == "simple" {
        if let Some(id) = RFC9421_ONLY.iter().find(|id| o.has(id)) {
            return Err(invalid(&o.name(id), "applies to the rfc9421 scheme only"));
        }
        if interop {
            return Err(invalid(&o.name("profile"), "\"interop\" applies to the rfc9421 scheme only"));
        }
        return Ok((policy, None));
    }
    Ok((policy, Some(rfc9421(o, interop, require_nonce, max_components)?)))
}

fn rfc9421(o: &Options<'_>, interop: bool, require_nonce: bool, max_components: usize) -> Result<Rfc9421Config> {
    let d = Rfc9421Config::default();
    let required_components = match o.strings("policy.required_components")? {
        Some(list) => list,
        // Third-party signers choose their own components; the body stays bound by a covered digest.
        None if interop => Vec::new(),
        None => d.required_components,
    };
    for c in &required_components {
        check_required_component(c).map_err(|e| invalid(&o.name("policy.required_components"), e.reason()))?;
    }
    if required_components.len() > max_components {
        return Err(invalid(
            &o.name("policy.required_components"),
            format_args!("lists more components than {} allows", o.name("policy.max_components")),
        ));
    }
    let required_params = match o.strings("policy.required_params")? {
        Some(list) => list,
        // Without a required nonce, `nonce` leaves the required parameters too: one switch.
        None if !require_nonce => d.required_params.into_iter().filter(|p| p != "nonce").collect(),
        None => d.required_params,
    };
    for p in &required_params {
        if !KNOWN_PARAMS.contains(&p.as_str()) {
            return Err(invalid(&o.name("policy.required_params"), format_args!("may only name {}", KNOWN_PARAMS.join(", "))));
        }
    }
    if !require_nonce && required_params.iter().any(|p| p == "nonce") {
        return Err(invalid(
            &o.name("policy.required_params"),
            format_args!("requires a nonce while {} is false", o.name("policy.require_nonce")),
        ));
    }
    let accepted_labels = o.strings("policy.accepted_labels")?;
    if let Some(labels) = &accepted_labels {
        if labels.is_empty() {
            return Err(invalid(&o.name("policy.accepted_labels"), "must not be empty (leave it out to accept the first label)"));
        }
        if !labels.iter().all(|l| is_sf_key(l)) {
            return Err(invalid(
                &o.name("policy.accepted_labels"),
                "must hold signature labels (lowercase letter or *, then lowercase letters, digits, _ - . *)",
            ));
        }
    }
    let required_tag = o.string("policy.required_tag")?;
    if required_tag.as_deref().is_some_and(|t| t.is_empty() || !t.bytes().all(|b| (0x20..=0x7e).contains(&b))) {
        return Err(invalid(&o.name("policy.required_tag"), "must be non-empty printable ASCII (an sf-string)"));
    }
    Ok(Rfc9421Config { required_components, required_params, accepted_labels, required_tag })
}

/// An RFC 8941 key: what a signature label must be.
fn is_sf_key(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b))
}

/// A required component must be one a request can carry, written as the signature writes it: a
/// plain name (`@method`, `content-type`) or a serialized identifier (`"@query-param";name="id"`).
fn check_required_component(c: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::new(ErrorCode::InvalidConfig, format!("lists a component that {why}")));
    if !c.starts_with('"') {
        return match parse_component_parts(Some(c), std::iter::empty()) {
            Ok(_) => Ok(()),
            Err(e) => bad(&format!("no request can carry ({})", e.reason())),
        };
    }
    let wrapped = format!("c=({c})");
    let item = match sf::parse_dictionary(&wrapped).ok().as_deref() {
        Some([(_, Member::InnerList(items, params))]) if items.len() == 1 && params.0.is_empty() => items[0].clone(),
        _ => return bad("is not one serialized component identifier"),
    };
    if let Err(e) = parse_component(&item) {
        return bad(&format!("no request can carry ({})", e.reason()));
    }
    let mut canonical = String::new();
    write_identifier(&item, &mut canonical);
    if canonical != c {
        return bad("is not in canonical form (write it as the signature base does)");
    }
    Ok(())
}
