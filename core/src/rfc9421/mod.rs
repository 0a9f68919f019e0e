//! RFC 9421 HTTP Message Signatures with `hmac-sha256` / `hmac-sha512`.

mod accept;
pub mod components;

use crate::digest::parse_content_digest;
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::{Algorithm, truncate};
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};
use crate::sf::{self, Bare, Item, Member, ParamValue, Params, canonical};
use components::{ComponentRef, parse_component_parts, write_identifier};

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
                // The value is not echoed: configuration text may be a secret in the wrong field.
                return fail(
                    ErrorCode::InvalidConfig,
                    "required_params may list only created, expires, nonce, keyid, alg and tag",
                );
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

fn read_params<'a>(params: impl Iterator<Item = (&'a str, ParamValue<'a>)>) -> Result<SigParams> {
    let mut out = SigParams::default();
    for (name, v) in params {
        let bad_type =
            || crate::Error::new(ErrorCode::InvalidParameter, format!("signature parameter {name} has the wrong type"));
        let int = || match v {
            ParamValue::Int(i) => Ok(i),
            _ => Err(bad_type()),
        };
        let string = || match v {
            ParamValue::Str(s) => Ok(s),
            _ => Err(bad_type()),
        };
        match name {
            "created" => out.created = Some(int()?),
            "expires" => out.expires = Some(int()?),
            "nonce" => out.nonce = Some(string()?.to_string()),
            "keyid" => out.keyid = Some(string()?.to_string()),
            "tag" => out.tag = Some(string()?.to_string()),
            "alg" => out.alg = Some(Algorithm::from_name(string()?)?),
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

/// The accepted `Signature-Input` member: parsed by the general parser, or canonical text the
/// fast path validated (then the text is its own canonical serialization and is copied verbatim).
#[derive(Clone, Copy)]
enum InputList<'a> {
    Parsed {
        items: &'a [Item<'a>],
        params: &'a Params<'a>,
    },
    /// `text` is the whole inner list with its parameters; `close` is the index of its `)`.
    Canonical {
        text: &'a str,
        close: usize,
        len: usize,
    },
}

/// Parameters of an item or of the inner list, in order.
enum ParamIter<'a> {
    Parsed(std::slice::Iter<'a, (&'a str, Bare<'a>)>),
    /// The remaining canonical parameter text (`;name=value…`).
    Canonical(&'a str),
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a str, ParamValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ParamIter::Parsed(it) => it.next().map(|(k, v)| (*k, ParamValue::of(v))),
            ParamIter::Canonical(rest) => {
                let (name, value, end) = canonical::param(rest, 0)?;
                *rest = rest.get(end..).unwrap_or_default();
                Some((name, value))
            }
        }
    }
}

impl Clone for ParamIter<'_> {
    fn clone(&self) -> Self {
        match self {
            ParamIter::Parsed(it) => ParamIter::Parsed(it.clone()),
            ParamIter::Canonical(rest) => ParamIter::Canonical(rest),
        }
    }
}

/// One covered component as listed in the signature.
#[derive(Clone, Copy)]
enum ItemRef<'a> {
    Parsed(&'a Item<'a>),
    /// `text` is the item (`"name";params`), `name_end` the index just past its closing quote.
    Canonical {
        text: &'a str,
        name_end: usize,
    },
}

impl<'a> ItemRef<'a> {
    fn name(self) -> Option<&'a str> {
        match self {
            ItemRef::Parsed(item) => sf::as_str(&item.bare),
            ItemRef::Canonical { text, name_end } => text.get(1..name_end - 1),
        }
    }

    fn params(self) -> ParamIter<'a> {
        match self {
            ItemRef::Parsed(item) => ParamIter::Parsed(item.params.0.iter()),
            ItemRef::Canonical { text, name_end } => ParamIter::Canonical(text.get(name_end..).unwrap_or_default()),
        }
    }

    fn has_params(self) -> bool {
        match self {
            ItemRef::Parsed(item) => !item.params.0.is_empty(),
            ItemRef::Canonical { text, name_end } => text.len() > name_end,
        }
    }

    fn write_identifier(self, out: &mut String) {
        match self {
            ItemRef::Parsed(item) => write_identifier(item, out),
            ItemRef::Canonical { text, .. } => out.push_str(text),
        }
    }
}

/// The items of an [`InputList`].
enum ItemIter<'a> {
    Parsed(std::slice::Iter<'a, Item<'a>>),
    /// The remaining canonical item text, up to (not including) the closing `)`.
    Canonical(&'a str),
}

impl<'a> Iterator for ItemIter<'a> {
    type Item = ItemRef<'a>;

    fn next(&mut self) -> Option<ItemRef<'a>> {
        match self {
            ItemIter::Parsed(it) => it.next().map(ItemRef::Parsed),
            ItemIter::Canonical(rest) => {
                let name_end = canonical::plain_string(rest.as_bytes(), 0)?;
                let end = canonical::skip_params(rest, name_end);
                let text = rest.get(..end)?;
                *rest = rest.get(end + 1..).unwrap_or_default();
                Some(ItemRef::Canonical { text, name_end })
            }
        }
    }
}

impl<'a> InputList<'a> {
    fn len(self) -> usize {
        match self {
            InputList::Parsed { items, .. } => items.len(),
            InputList::Canonical { len, .. } => len,
        }
    }

    fn items(self) -> ItemIter<'a> {
        match self {
            InputList::Parsed { items, .. } => ItemIter::Parsed(items.iter()),
            InputList::Canonical { text, close, .. } => ItemIter::Canonical(text.get(1..close).unwrap_or_default()),
        }
    }

    fn params(self) -> ParamIter<'a> {
        match self {
            InputList::Parsed { params, .. } => ParamIter::Parsed(params.0.iter()),
            InputList::Canonical { text, close, .. } => ParamIter::Canonical(text.get(close + 1..).unwrap_or_default()),
        }
    }

    /// Appends the canonical serialization (the `@signature-params` value, RFC 9421 §2.3).
    fn write(self, out: &mut String) {
        match self {
            InputList::Parsed { items, params } => sf::write_inner_list(out, items, params),
            InputList::Canonical { text, .. } => out.push_str(text),
        }
    }
}

/// The fast path: both signature fields in the canonical subset (see [`sf::canonical`]), the
/// labels of both the same, one accepted. Returns the accepted label, its member and the decoded
/// signature; `None` sends the request through the general parser.
fn parse_canonical<'a>(
    input: &'a str,
    sig: &'a str,
    accepted: impl Fn(&str) -> bool,
) -> Option<(&'a str, InputList<'a>, Vec<u8>)> {
    let mut chosen: Option<(&str, InputList<'_>)> = None;
    let input_keys = canonical::dictionary(input, |key, start| {
        let (close, end, len) = canonical::inner_list(input, start)?;
        if chosen.is_none() && accepted(key) {
            chosen = Some((key, InputList::Canonical { text: input.get(start..end)?, close: close - start, len }));
        }
        Some(end)
    })?;
    let (label, list) = chosen?;
    let sb = sig.as_bytes();
    let mut signature: Option<Vec<u8>> = None;
    let sig_keys = canonical::dictionary(sig, |key, start| {
        let end = canonical::byte_sequence(sb, start)?;
        let b64 = sb.get(start + 1..end - 1)?;
        let mut buf = [0u8; 96];
        let n = canonical::decode_into(b64, &mut buf)?;
        if key == label {
            signature = Some(buf.get(..n)?.to_vec());
        }
        Some(end)
    })?;
    let (ik, sk) = (input_keys.as_slice(), sig_keys.as_slice());
    if ik.len() != sk.len() || !ik.iter().all(|k| sk.contains(k)) {
        return None;
    }
    Some((label, list, signature?))
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

    fn accept_signature(&self, nonce: bool, with_body: bool) -> Option<String> {
        Some(accept::field_value(&self.config, nonce, with_body))
    }

    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared> {
        let result = self.prepare_with(head, limits, true);
        // Debug builds (tests, fuzzing) check that the fast path decides exactly as the general one.
        #[cfg(debug_assertions)]
        {
            let general = self.prepare_with(head, limits, false);
            assert_eq!(format!("{result:?}"), format!("{general:?}"), "fast and general RFC 9421 paths disagree");
        }
        result
    }
}

impl Rfc9421 {
    fn prepare_with(&self, head: &RequestHead, limits: &HeaderLimits, fast: bool) -> Result<Prepared> {
        let input_field = head.combined("signature-input", limits.max_header_len)?;
        let sig_field = head.combined("signature", limits.max_header_len)?;
        let (input_field, sig_field) = match (input_field, sig_field) {
            (None, None) => return fail(ErrorCode::MissingSignature, "no Signature-Input or Signature header"),
            (None, Some(_)) => return fail(ErrorCode::MissingHeader, "Signature without Signature-Input"),
            (Some(_), None) => return fail(ErrorCode::MissingHeader, "Signature-Input without Signature"),
            (Some(i), Some(s)) => (i, s),
        };
        let accepted = |label: &str| self.config.accepted_labels.as_ref().is_none_or(|ls| ls.iter().any(|l| l == label));
        if fast && let Some((label, list, signature)) = parse_canonical(&input_field, &sig_field, accepted) {
            return self.build(head, limits, input_field.len(), label, list, signature);
        }
        let inputs = sf::parse_dictionary(&input_field)
            .map_err(|e| crate::Error::new(ErrorCode::MalformedSignature, format!("Signature-Input: {e}")))?;
        let mut sigs = sf::parse_dictionary(&sig_field)
            .map_err(|e| crate::Error::new(ErrorCode::MalformedSignature, format!("Signature: {e}")))?;
        if inputs.len() != sigs.len() || inputs.iter().any(|(l, _)| !sigs.iter().any(|(s, _)| s == l)) {
            return fail(ErrorCode::MalformedSignature, "Signature-Input and Signature do not carry the same labels");
        }
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
        self.build(head, limits, input_field.len(), label, InputList::Parsed { items, params }, signature)
    }

    /// Everything after the two signature fields are parsed: parameters, components, the base.
    fn build(
        &self,
        head: &RequestHead,
        limits: &HeaderLimits,
        input_len: usize,
        label: &str,
        list: InputList<'_>,
        signature: Vec<u8>,
    ) -> Result<Prepared> {
        let mut sp = read_params(list.params())?;
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
        let Some(key_id) = sp.keyid.take() else {
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

        let n_items = list.len();
        if n_items > limits.max_components {
            return fail(ErrorCode::MalformedSignature, format!("more than {} covered components", limits.max_components));
        }
        let mut covered = Covered::with_capacity(input_len + 64 * n_items + 32);
        let mut digest_binding: Option<DigestCover> = None;
        let mut query = components::QueryCache::default();
        // Which items carry no parameters (both parsers cap an inner list at `sf::MAX_ITEMS` = 64).
        const _: () = assert!(sf::MAX_ITEMS <= u64::BITS as usize, "one bit per item in `plain`");
        let mut plain = 0_u64;
        for (i, item) in list.items().enumerate() {
            let component = parse_component_parts(item.name(), item.params())?;
            let text = covered.text_mut();
            let id_start = text.len();
            item.write_identifier(text);
            let id = id_start..text.len();
            text.push_str(": ");
            let value_start = text.len();
            components::write_value_ref(component, head, limits.max_header_len, text, &mut query)?;
            let value = value_start..text.len();
            text.push('\n');
            let this_id = &covered.text()[id.clone()];
            if covered.iter().any(|(existing, _)| existing == this_id) {
                return fail(ErrorCode::MalformedSignature, format!("component {} is covered twice", truncate(this_id)));
            }
            covered.push_span(id, value.clone());
            if !item.has_params() {
                plain |= 1_u64.checked_shl(u32::try_from(i).unwrap_or(u32::MAX)).unwrap_or(0);
            }
            if let ComponentRef::Field { name: "content-digest", bs: false, key, .. } = component {
                // The whole field covered beats one covered member: then any member may be checked.
                digest_binding = match (digest_binding, key) {
                    (Some(whole @ DigestCover::Whole(_)), _) => Some(whole),
                    (_, None) => Some(DigestCover::Whole(value)),
                    (Some(DigestCover::Member(k)), Some(_)) => Some(DigestCover::Member(k)),
                    (None, Some(k)) => Some(DigestCover::Member(k.to_string())),
                };
            }
        }
        for required in &self.config.required_components {
            // Every item passed `parse_component`, so its name has no `"` or `\`: a plain item's
            // identifier is exactly the name in quotes.
            let present = covered.iter().enumerate().any(|(i, (id, _))| {
                let is_plain = u32::try_from(i).ok().and_then(|i| plain.checked_shr(i)).is_some_and(|p| p & 1 == 1);
                id == required || (is_plain && id.len() == required.len() + 2 && id.get(1..id.len() - 1) == Some(required))
            });
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
        list.write(text);
        Ok(Prepared {
            scheme: "rfc9421",
            label: Some(label.to_string()),
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
            webhook: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG64: &str = "sig1=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    fn fast(input: &str, sig: &str) -> bool {
        parse_canonical(input, sig, |_| true).is_some()
    }

    #[test]
    fn canonical_subset() {
        let input = r#"sig1=("@method" "@authority" "content-digest" "x-d";key="a";sf "@query-param";name="id");created=1618884473;nonce="b3k2pp5k7z";keyid="k1";expires=-5"#;
        let (label, list, signature) = parse_canonical(input, SIG64, |_| true).expect("canonical");
        assert_eq!((label, list.len(), signature.len()), ("sig1", 5, 64));
        let mut s = String::new();
        list.write(&mut s);
        assert_eq!(s, &input[5..]);
        let ids: Vec<String> = list
            .items()
            .map(|i| {
                let mut id = String::new();
                i.write_identifier(&mut id);
                format!("{id}|{:?}|{:?}", i.name(), i.params().collect::<Vec<_>>())
            })
            .collect();
        assert_eq!(ids[3], r#""x-d";key="a";sf|Some("x-d")|[("key", Str("a")), ("sf", True)]"#);
        assert_eq!(ids[4], r#""@query-param";name="id"|Some("@query-param")|[("name", Str("id"))]"#);
        assert_eq!(list.params().collect::<Vec<_>>()[2], ("keyid", ParamValue::Str("k1")));
        assert_eq!(list.params().last(), Some(("expires", ParamValue::Int(-5))));
        assert!(fast("a=(), b=(\"x\")", "b=::,a=:AAAA:"));
        assert!(fast("a=()", "a=::"));

        // Anything outside the subset goes to the general parser.
        for (input, sig) in [
            (r#"sig1=("a"  "b")"#, "sig1=::"),
            (r#"sig1=( "a")"#, "sig1=::"),
            (r#"sig1=("a"); created=1"#, "sig1=::"),
            (r#"sig1=("a");created=01"#, "sig1=::"),
            (r#"sig1=("a");created=-0"#, "sig1=::"),
            (r#"sig1=("a");created=1.5"#, "sig1=::"),
            (r#"sig1=("a");created=1234567890123456"#, "sig1=::"),
            (r#"sig1=("a");alg=hmac"#, "sig1=::"),
            (r#"sig1=("a");x=?1"#, "sig1=::"),
            (r#"sig1=("a\"b")"#, "sig1=::"),
            (r#"sig1=(a)"#, "sig1=::"),
            (r#"sig1=("a");p;p"#, "sig1=::"),
            (r#"sig1=("a"), sig1=("b")"#, "sig1=::"),
            (r#"sig1=("a"),"#, "sig1=::"),
            (r#"sig1=("a")"#, "sig1=:AAA:"),
            (r#"sig1=("a")"#, "sig1=:AAAA:;p"),
            (r#"sig1=("a")"#, "sig2=::"),
            (r#"sig1=("a")"#, "sig1=::, sig2=::"),
            (r#"sig1"#, "sig1=::"),
            (r#"sig1=1"#, "sig1=::"),
            (r#"sig1=("é")"#, "sig1=::"),
            ("", ""),
        ] {
            assert!(!fast(input, sig), "{input} / {sig}");
        }
        assert!(parse_canonical(r#"a=("x"), b=("y")"#, "a=::, b=::", |l| l == "c").is_none());
        assert_eq!(
            parse_canonical(r#"a=("x"), b=("y")"#, "b=:AAAA:, a=::", |l| l == "b").map(|f| (f.0, f.2)),
            Some(("b", vec![0, 0, 0]))
        );
    }
}
