//! RFC 9421 HTTP Message Signatures with `hmac-sha256` / `hmac-sha512`.

pub mod components;

use crate::digest::parse_content_digest;
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::{Algorithm, truncate};
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};
use crate::sf::{self, Bare, Member, Params};
use components::{Component, parse_component, write_identifier};

/// Signature parameters this verifier understands (RFC 9421 §2.3).
pub const KNOWN_PARAMS: [&str; 6] = ["created", "expires", "nonce", "keyid", "alg", "tag"];

/// Verifier policy for RFC 9421 signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Config {
    /// Components every signature must cover: a plain name (`@method`, `content-type`) or a full
    /// serialized identifier (`"@query-param";name="id"`). `content-digest` is required on top
    /// whenever the request announces a body.
    pub required_components: Vec<String>,
    /// Parameters every signature must carry (`keyid` is always needed to find the key).
    pub required_params: Vec<String>,
    /// Labels accepted; `None` accepts the first label of `Signature-Input`.
    pub accepted_labels: Option<Vec<String>>,
    /// When set, the `tag` parameter must equal this value.
    pub required_tag: Option<String>,
}

impl Default for Rfc9421Config {
    fn default() -> Self {
        Rfc9421Config {
            required_components: ["@method", "@authority", "@path", "@query"].map(String::from).to_vec(),
            required_params: ["created", "nonce", "keyid"].map(String::from).to_vec(),
            accepted_labels: None,
            required_tag: None,
        }
    }
}

impl Rfc9421Config {
    /// Checks the policy itself.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for unknown parameter names.
    pub fn validate(&self) -> Result<()> {
        for p in &self.required_params {
            if !KNOWN_PARAMS.contains(&p.as_str()) {
                return fail(ErrorCode::InvalidConfig, format!("unknown required parameter {p:?}"));
            }
        }
        Ok(())
    }
}

/// The RFC 9421 scheme.
#[derive(Debug, Clone, Default)]
pub struct Rfc9421 {
    config: Rfc9421Config,
}

impl Rfc9421 {
    /// A scheme with the given policy.
    ///
    /// # Errors
    /// As [`Rfc9421Config::validate`].
    pub fn new(config: Rfc9421Config) -> Result<Self> {
        config.validate()?;
        Ok(Rfc9421 { config })
    }

    /// The policy.
    #[must_use]
    pub fn config(&self) -> &Rfc9421Config {
        &self.config
    }
}

/// Which part of `Content-Digest` the signature covers: only a covered digest may bind the body.
enum DigestCover {
    /// The whole field, whose value sits at this range of the base.
    Whole(std::ops::Range<usize>),
    Member(String),
}

/// Signature parameters read from a `Signature-Input` member.
#[derive(Debug, Default)]
struct SigParams {
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<String>,
    keyid: Option<String>,
    alg: Option<Algorithm>,
    tag: Option<String>,
}

fn read_params(params: &Params<'_>) -> Result<SigParams> {
    let mut out = SigParams::default();
    for (name, v) in &params.0 {
        let bad_type =
            || crate::Error::new(ErrorCode::InvalidParameter, format!("signature parameter {name} has the wrong type"));
        match *name {
            "created" => out.created = Some(sf::as_int(v).ok_or_else(bad_type)?),
            "expires" => out.expires = Some(sf::as_int(v).ok_or_else(bad_type)?),
            "nonce" => out.nonce = Some(sf::as_str(v).ok_or_else(bad_type)?.to_string()),
            "keyid" => out.keyid = Some(sf::as_str(v).ok_or_else(bad_type)?.to_string()),
            "tag" => out.tag = Some(sf::as_str(v).ok_or_else(bad_type)?.to_string()),
            "alg" => out.alg = Some(Algorithm::from_name(sf::as_str(v).ok_or_else(bad_type)?)?),
            other => return fail(ErrorCode::InvalidParameter, format!("unknown signature parameter {:?}", truncate(other))),
        }
    }
    Ok(out)
}

impl SigParams {
    fn has(&self, name: &str) -> bool {
        match name {
            "created" => self.created.is_some(),
            "expires" => self.expires.is_some(),
            "nonce" => self.nonce.is_some(),
            "keyid" => self.keyid.is_some(),
            "alg" => self.alg.is_some(),
            "tag" => self.tag.is_some(),
            _ => false,
        }
    }
}

/// Joins covered lines and the `@signature-params` line into the signature base (§2.5): one
/// `"id": value` line per component, LF-separated, no trailing LF.
#[must_use]
pub fn signature_base(covered: &[(String, String)], signature_params: &str) -> String {
    let mut base = String::with_capacity(64 + covered.iter().map(|(i, v)| i.len() + v.len() + 3).sum::<usize>());
    for (id, value) in covered {
        base.push_str(id);
        base.push_str(": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    base
}

impl Scheme for Rfc9421 {
    fn name(&self) -> &'static str {
        "rfc9421"
    }

    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared> {
        let input_field = head.combined("signature-input", limits.max_header_len)?;
        let sig_field = head.combined("signature", limits.max_header_len)?;
        let (input_field, sig_field) = match (input_field, sig_field) {
            (None, None) => return fail(ErrorCode::MissingSignature, "no Signature-Input or Signature header"),
            (None, Some(_)) => return fail(ErrorCode::MissingHeader, "Signature without Signature-Input"),
            (Some(_), None) => return fail(ErrorCode::MissingHeader, "Signature-Input without Signature"),
            (Some(i), Some(s)) => (i, s),
        };
        let inputs = sf::parse_dictionary(&input_field)
            .map_err(|e| crate::Error::new(ErrorCode::MalformedSignature, format!("Signature-Input: {e}")))?;
        let mut sigs = sf::parse_dictionary(&sig_field)
            .map_err(|e| crate::Error::new(ErrorCode::MalformedSignature, format!("Signature: {e}")))?;
        if inputs.len() != sigs.len() || inputs.iter().any(|(l, _)| !sigs.iter().any(|(s, _)| s == l)) {
            return fail(ErrorCode::MalformedSignature, "Signature-Input and Signature do not carry the same labels");
        }
        let accepted = |label: &str| self.config.accepted_labels.as_ref().is_none_or(|ls| ls.iter().any(|l| l == label));
        let Some((label, input)) = inputs.iter().find(|(l, _)| accepted(l)) else {
            return fail(ErrorCode::LabelNotAccepted, "no signature label is accepted by the policy");
        };
        let Member::InnerList(items, params) = input else {
            return fail(ErrorCode::MalformedSignature, "Signature-Input member is not an inner list");
        };
        let signature = match sigs.iter_mut().find(|(l, _)| l == label).map(|(_, m)| m) {
            Some(Member::Item(item)) if item.params.0.is_empty() => match &mut item.bare {
                Bare::ByteSequence(bytes) => std::mem::take(bytes),
                _ => return fail(ErrorCode::MalformedSignature, "Signature member is not a byte sequence"),
            },
            _ => return fail(ErrorCode::MalformedSignature, "Signature member is not a byte sequence"),
        };

        let sp = read_params(params)?;
        for required in &self.config.required_params {
            if !sp.has(required) {
                return fail(ErrorCode::MissingParameter, format!("signature parameter {required} is required"));
            }
        }
        if sp.nonce.is_some() && sp.created.is_none() {
            // Nonces are remembered for the timestamp window; without `created` the same
            // request could be replayed each time its entry expires.
            return fail(ErrorCode::MissingParameter, "signature parameter created is required with a nonce");
        }
        let Some(key_id) = sp.keyid.clone() else {
            return fail(ErrorCode::MissingParameter, "signature parameter keyid is required");
        };
        if let Some(required_tag) = &self.config.required_tag {
            match &sp.tag {
                None => return fail(ErrorCode::MissingParameter, "signature parameter tag is required"),
                Some(tag) if tag != required_tag => {
                    return fail(ErrorCode::InvalidParameter, format!("tag {:?} is not accepted", truncate(tag)));
                }
                Some(_) => {}
            }
        }

        if items.len() > limits.max_components {
            return fail(ErrorCode::MalformedSignature, format!("more than {} covered components", limits.max_components));
        }
        let mut covered = Covered::with_capacity(input_field.len() + 64 * items.len() + 32);
        let mut names: Vec<(&str, bool)> = Vec::with_capacity(items.len());
        let mut digest_binding: Option<DigestCover> = None;
        let mut query = components::QueryCache::default();
        for item in items {
            let component = parse_component(item)?;
            let text = covered.text_mut();
            let id_start = text.len();
            write_identifier(item, text);
            let id = id_start..text.len();
            text.push_str(": ");
            let value_start = text.len();
            components::write_value(&component, head, limits.max_header_len, text, &mut query)?;
            let value = value_start..text.len();
            text.push('\n');
            let this_id = &covered.text()[id.clone()];
            if covered.iter().any(|(existing, _)| existing == this_id) {
                return fail(ErrorCode::MalformedSignature, format!("component {} is covered twice", truncate(this_id)));
            }
            covered.push_span(id, value.clone());
            names.push((sf::as_str(&item.bare).unwrap_or_default(), item.params.0.is_empty()));
            if let Component::Field { name, bs: false, key, .. } = &component
                && name == "content-digest"
            {
                // The whole field covered beats one covered member: then any member may be checked.
                digest_binding = match (digest_binding, key) {
                    (Some(whole @ DigestCover::Whole(_)), _) => Some(whole),
                    (_, None) => Some(DigestCover::Whole(value)),
                    (Some(DigestCover::Member(k)), Some(_)) => Some(DigestCover::Member(k)),
                    (None, Some(k)) => Some(DigestCover::Member(k.clone())),
                };
            }
        }
        for required in &self.config.required_components {
            let present =
                names.iter().zip(covered.iter()).any(|((name, plain), (id, _))| (*plain && name == required) || id == required);
            if !present {
                return fail(ErrorCode::MissingComponent, format!("the signature must cover {}", truncate(required)));
            }
        }
        let body = if let Some(cover) = digest_binding {
            BodyBinding::Digest(match &cover {
                // The covered value is the field as signed: parse it from the base, not again from the headers.
                DigestCover::Whole(range) => parse_content_digest(covered.text().get(range.clone()).unwrap_or_default(), None)?,
                DigestCover::Member(k) => {
                    let raw = head.combined("content-digest", limits.max_header_len)?.unwrap_or_default();
                    parse_content_digest(&raw, Some(k.as_str()))?
                }
            })
        } else if head.announces_body()? {
            return fail(ErrorCode::DigestRequired, "the request has a body but content-digest is not covered");
        } else {
            BodyBinding::None
        };

        let text = covered.text_mut();
        text.push_str("\"@signature-params\": ");
        sf::write_inner_list(text, items, params);
        Ok(Prepared {
            scheme: "rfc9421",
            label: Some((*label).to_string()),
            key_id,
            created: sp.created,
            expires: sp.expires,
            nonce: sp.nonce,
            algorithm: sp.alg,
            tag: sp.tag,
            covered,
            mac_input: MacInput::Base,
            signature,
            body,
        })
    }
}
