//! Strict structured-field (RFC 8941) parsing on top of `sfv`.
//!
//! RFC 8941 lets a repeated dictionary key or parameter silently override the earlier one. For
//! signature headers that would let two different signatures hide under one label, so this module
//! collects every member through `sfv`'s visitor API and rejects repeats. It also serializes the
//! inner list used as `@signature-params` (RFC 9421 §2.3) in canonical form.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sfv::visitor::{DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor};
use sfv::{BareItemFromInput, KeyRef, Parser, Version};

/// A bare item borrowed from the input where possible.
pub type Bare<'de> = BareItemFromInput<'de>;

/// Parameters in input order (no repeats).
#[derive(Debug, Default, Clone)]
pub struct Params<'de>(pub Vec<(&'de str, Bare<'de>)>);

impl<'de> Params<'de> {
    /// The value of parameter `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Bare<'de>> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// An item with its parameters.
#[derive(Debug, Clone)]
pub struct Item<'de> {
    /// The bare value.
    pub bare: Bare<'de>,
    /// Its parameters.
    pub params: Params<'de>,
}

/// A dictionary member.
#[derive(Debug, Clone)]
pub enum Member<'de> {
    /// A single item.
    Item(Item<'de>),
    /// An inner list with its own parameters.
    InnerList(Vec<Item<'de>>, Params<'de>),
}

/// Why a structured field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SfError(&'static str);

impl fmt::Display for SfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for SfError {}

/// Most dictionary members accepted (signature labels, digest algorithms).
pub const MAX_MEMBERS: usize = 64;
/// Most items in one inner list (covered components are capped lower by policy).
pub const MAX_ITEMS: usize = 64;
/// Most parameters on one item or inner list (RFC 9421 defines six signature parameters).
pub const MAX_PARAMS: usize = 16;

/// Parses an RFC 8941 dictionary, rejecting repeated keys and repeated parameters.
///
/// # Errors
/// A description of the first problem; it quotes nothing from the input.
pub fn parse_dictionary(input: &str) -> Result<Vec<(&str, Member<'_>)>, String> {
    if !input.is_ascii() {
        return Err("structured field contains non-ASCII bytes".into());
    }
    Parser::new(input)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(DictCollector::default())
        .map_err(|e| format!("invalid structured field: {e}"))
}

struct DictCollector<'de> {
    entries: Vec<(&'de str, Member<'de>)>,
}

impl Default for DictCollector<'_> {
    fn default() -> Self {
        DictCollector { entries: Vec::with_capacity(2) }
    }
}

fn placeholder<'de>() -> Item<'de> {
    Item { bare: Bare::Boolean(false), params: Params::default() }
}

impl<'de> DictionaryVisitor<'de> for DictCollector<'de> {
    type Out = Vec<(&'de str, Member<'de>)>;
    type Error = SfError;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, SfError> {
        let key = key.as_str();
        // Bounds keep the repeat checks below linear in practice (they are O(n) per member).
        if self.entries.len() >= MAX_MEMBERS {
            return Err(SfError("too many dictionary members"));
        }
        if self.entries.iter().any(|(k, _)| *k == key) {
            return Err(SfError("repeated dictionary key"));
        }
        self.entries.push((key, Member::Item(placeholder())));
        match self.entries.last_mut() {
            Some((_, member)) => Ok(MemberSlot(member)),
            None => Err(SfError("internal: entry vanished")),
        }
    }

    fn finish(self) -> Result<Self::Out, SfError> {
        Ok(self.entries)
    }
}

struct MemberSlot<'a, 'de>(&'a mut Member<'de>);

impl<'a, 'de> EntryVisitor<'de> for MemberSlot<'a, 'de> {
    type Error = SfError;

    fn item(self) -> Result<impl ItemVisitor<'de>, SfError> {
        *self.0 = Member::Item(placeholder());
        match self.0 {
            Member::Item(item) => Ok(ItemSlot(item)),
            Member::InnerList(..) => Err(SfError("internal: member kind")),
        }
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, SfError> {
        *self.0 = Member::InnerList(Vec::with_capacity(8), Params(Vec::with_capacity(4)));
        match self.0 {
            Member::InnerList(items, params) => Ok(ListSlot { items, params }),
            Member::Item(_) => Err(SfError("internal: member kind")),
        }
    }
}

struct ItemSlot<'a, 'de>(&'a mut Item<'de>);

impl<'a, 'de> ItemVisitor<'de> for ItemSlot<'a, 'de> {
    type Out = ();
    type Error = SfError;

    fn bare_item(self, bare: Bare<'de>) -> Result<impl ParameterVisitor<'de, Out = ()>, SfError> {
        self.0.bare = bare;
        Ok(ParamSlot(&mut self.0.params))
    }
}

struct ListSlot<'a, 'de> {
    items: &'a mut Vec<Item<'de>>,
    params: &'a mut Params<'de>,
}

impl<'a, 'de> InnerListVisitor<'de> for ListSlot<'a, 'de> {
    type Error = SfError;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, SfError> {
        if self.items.len() >= MAX_ITEMS {
            return Err(SfError("too many inner-list items"));
        }
        self.items.push(placeholder());
        match self.items.last_mut() {
            Some(item) => Ok(ItemSlot(item)),
            None => Err(SfError("internal: item vanished")),
        }
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, SfError> {
        Ok(ParamSlot(self.params))
    }
}

struct ParamSlot<'a, 'de>(&'a mut Params<'de>);

impl<'a, 'de> ParameterVisitor<'de> for ParamSlot<'a, 'de> {
    type Out = ();
    type Error = SfError;

    fn parameter(&mut self, key: &'de KeyRef, value: Bare<'de>) -> Result<(), SfError> {
        let key = key.as_str();
        if self.0.0.len() >= MAX_PARAMS {
            return Err(SfError("too many parameters"));
        }
        if self.0.0.iter().any(|(k, _)| *k == key) {
            return Err(SfError("repeated parameter"));
        }
        self.0.0.push((key, value));
        Ok(())
    }

    fn finish(self) -> Result<(), SfError> {
        Ok(())
    }
}

/// Appends a bare item in canonical RFC 8941 form.
pub fn write_bare(out: &mut String, bare: &Bare<'_>) {
    match bare {
        Bare::Integer(i) => write_int(out, i64::from(*i)),
        Bare::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Bare::String(s) => write_string(out, s.as_str()),
        Bare::Token(t) => out.push_str(t.as_str()),
        Bare::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
        Bare::ByteSequence(bytes) => {
            out.push(':');
            B64.encode_string(bytes, out);
            out.push(':');
        }
        // Only reachable with RFC 9651 parsing, which this crate does not enable.
        Bare::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Bare::DisplayString(s) => write_string(out, s),
    }
}

/// Appends a decimal integer without going through `fmt` (hot: `created` in every base).
fn write_int(out: &mut String, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        buf[i] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push('-');
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Appends an sf-string with its escapes.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends parameters in canonical form (`true` booleans as bare keys).
pub fn write_params(out: &mut String, params: &Params<'_>) {
    for (k, v) in &params.0 {
        out.push(';');
        out.push_str(k);
        if !matches!(v, Bare::Boolean(true)) {
            out.push('=');
            write_bare(out, v);
        }
    }
}

/// Appends an inner list with its parameters in canonical form.
pub fn write_inner_list(out: &mut String, items: &[Item<'_>], params: &Params<'_>) {
    out.push('(');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_bare(out, &item.bare);
        write_params(out, &item.params);
    }
    out.push(')');
    write_params(out, params);
}

/// The string inside a bare item, if it is one.
#[must_use]
pub fn as_str<'a>(bare: &'a Bare<'_>) -> Option<&'a str> {
    match bare {
        Bare::String(s) => Some(match s {
            Cow::Borrowed(s) => s.as_str(),
            Cow::Owned(s) => s.as_str(),
        }),
        _ => None,
    }
}

/// The integer inside a bare item, if it is one.
#[must_use]
pub fn as_int(bare: &Bare<'_>) -> Option<i64> {
    match bare {
        Bare::Integer(i) => Some(i64::from(*i)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signature_input_shape() {
        let d = parse_dictionary(r#"sig1=("@method" "@path";x);created=1;keyid="k", sig2=:AAA=:"#).unwrap();
        assert_eq!(d.len(), 2);
        let Member::InnerList(items, params) = &d[0].1 else { panic!("inner list") };
        assert_eq!(items.len(), 2);
        assert_eq!(as_int(params.get("created").unwrap()), Some(1));
        let mut s = String::new();
        write_inner_list(&mut s, items, params);
        assert_eq!(s, r#"("@method" "@path";x);created=1;keyid="k""#);
    }

    #[test]
    fn rejects_repeats_and_non_ascii() {
        assert!(parse_dictionary("a=1, a=2").is_err());
        assert!(parse_dictionary("a=1;p;p").is_err());
        assert!(parse_dictionary("a=(1 2);p=1;p=2").is_err());
        assert!(parse_dictionary("a=\"é\"").is_err());
        assert!(parse_dictionary("a=:not base64!:").is_err());
        assert!(parse_dictionary("a=1,").is_err());
        assert!(parse_dictionary("A=1").is_err());
    }

    #[test]
    fn integers_serialize_like_fmt() {
        for v in [0i64, 7, -7, 10, 1_618_884_473, -999_999_999_999_999, 999_999_999_999_999] {
            let mut s = String::new();
            write_int(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn member_and_parameter_counts_are_bounded() {
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("k{i}=1")).collect();
        assert!(parse_dictionary(&many[..MAX_MEMBERS].join(", ")).is_ok());
        assert!(parse_dictionary(&many.join(", ")).is_err());
        let params: String = (0..=MAX_PARAMS).map(|i| format!(";p{i}")).collect();
        assert!(parse_dictionary(&format!("a=1{params}")).is_err());
        let items: Vec<String> = (0..=MAX_ITEMS).map(|i| i.to_string()).collect();
        assert!(parse_dictionary(&format!("a=({})", items.join(" "))).is_err());
    }

    #[test]
    fn canonical_form_normalizes_whitespace() {
        let d = parse_dictionary(r#"s=("a"   "b");  created=5; alg="hmac-sha256""#).unwrap();
        let Member::InnerList(items, params) = &d[0].1 else { panic!("inner list") };
        let mut s = String::new();
        write_inner_list(&mut s, items, params);
        assert_eq!(s, r#"("a" "b");created=5;alg="hmac-sha256""#);
    }
}
