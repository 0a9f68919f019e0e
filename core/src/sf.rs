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

/// A parameter value as the RFC 9421 checks read it: only these kinds are ever accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamValue<'a> {
    /// `;name` (boolean true).
    True,
    /// An integer.
    Int(i64),
    /// An sf-string, unescaped.
    Str(&'a str),
    /// Anything else (tokens, byte sequences, decimals, `?0`).
    Other,
}

impl<'a> ParamValue<'a> {
    /// The view of a parsed bare item.
    pub(crate) fn of(bare: &'a Bare<'_>) -> Self {
        match bare {
            Bare::Boolean(true) => ParamValue::True,
            Bare::Integer(i) => ParamValue::Int(i64::from(*i)),
            Bare::String(s) => ParamValue::Str(s.as_str()),
            _ => ParamValue::Other,
        }
    }
}

/// Allocation-free scanning of the canonical subset of RFC 8941 that signers emit.
///
/// Every function here accepts only text that [`parse_dictionary`] accepts *and* that is already in
/// the canonical form the `write_*` functions produce (one SP between inner-list items, no SP after
/// `;`, sf-strings without escapes, integers without leading zeros, byte sequences in padded
/// standard base64). Anything else returns `None`, and the caller falls back to the general parser,
/// which then decides (and words any error) exactly as before. So a verbatim slice of accepted
/// text equals its canonical serialization.
pub(crate) mod canonical {
    use super::{MAX_ITEMS, MAX_PARAMS, ParamValue};

    /// Most dictionary members the fast path handles (more go to the general parser).
    pub(crate) const MAX_FAST_MEMBERS: usize = 8;

    fn is_key_start(c: u8) -> bool {
        c.is_ascii_lowercase() || c == b'*'
    }

    fn is_key_inner(c: u8) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'.')
    }

    /// End of the key starting at `i`.
    pub(crate) fn key(b: &[u8], i: usize) -> Option<usize> {
        if !is_key_start(*b.get(i)?) {
            return None;
        }
        let mut j = i + 1;
        while b.get(j).is_some_and(|&c| is_key_inner(c)) {
            j += 1;
        }
        Some(j)
    }

    /// End of an sf-string without escapes starting at `i`.
    pub(crate) fn plain_string(b: &[u8], i: usize) -> Option<usize> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let rest = b.get(i + 1..)?;
        let close = rest.iter().position(|&c| c == b'"' || c == b'\\' || !(0x20..0x7f).contains(&c))?;
        (rest[close] == b'"').then_some(i + 1 + close + 1)
    }

    /// A canonical integer starting at `i` (no leading zeros, no `-0`, ≤ 15 digits, not a
    /// decimal): its value and end.
    pub(crate) fn integer(b: &[u8], i: usize) -> Option<(i64, usize)> {
        let neg = b.get(i) == Some(&b'-');
        let start = i + usize::from(neg);
        let mut j = start;
        let mut v: i64 = 0;
        while let Some(&c) = b.get(j)
            && c.is_ascii_digit()
        {
            if j - start == 15 {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            j += 1;
        }
        let digits = j - start;
        if digits == 0 || (b[start] == b'0' && (digits > 1 || neg)) || b.get(j) == Some(&b'.') {
            return None;
        }
        Some((if neg { -v } else { v }, j))
    }

    /// One parameter starting at the `;` at `i`: name, value, end.
    pub(crate) fn param(s: &str, i: usize) -> Option<(&str, ParamValue<'_>, usize)> {
        let b = s.as_bytes();
        if b.get(i) != Some(&b';') {
            return None;
        }
        let k_end = key(b, i + 1)?;
        let name = s.get(i + 1..k_end)?;
        if b.get(k_end) != Some(&b'=') {
            return Some((name, ParamValue::True, k_end));
        }
        if b.get(k_end + 1) == Some(&b'"') {
            let end = plain_string(b, k_end + 1)?;
            return Some((name, ParamValue::Str(s.get(k_end + 2..end - 1)?), end));
        }
        let (v, end) = integer(b, k_end + 1)?;
        Some((name, ParamValue::Int(v), end))
    }

    /// End of the parameters starting at `i` (none, or `;`-introduced), at most [`MAX_PARAMS`],
    /// names not repeated.
    pub(crate) fn params(s: &str, i: usize) -> Option<usize> {
        let (mut j, mut n, mut seen) = (i, 0, 0_u64);
        while s.as_bytes().get(j) == Some(&b';') {
            let (name, _, end) = param(s, j)?;
            if n == MAX_PARAMS {
                return None;
            }
            // A 64-bit filter of the names so far; only a hit rescans them.
            let b = name.as_bytes();
            let bit = 1_u64 << ((b.len() + usize::from(b[0]) + 3 * usize::from(b[b.len() - 1])) & 63);
            if seen & bit != 0 && names_before(s, i, j).any(|k| k == name) {
                return None;
            }
            seen |= bit;
            n += 1;
            j = end;
        }
        Some(j)
    }

    /// Names of the (already validated) parameters in `s[from..to]`.
    fn names_before(s: &str, from: usize, to: usize) -> impl Iterator<Item = &str> {
        let mut j = from;
        std::iter::from_fn(move || {
            if j >= to {
                return None;
            }
            let (name, _, end) = param(s, j)?;
            j = end;
            Some(name)
        })
    }

    /// End of parameters already validated by [`params`].
    pub(crate) fn skip_params(s: &str, mut i: usize) -> usize {
        while let Some((_, _, end)) = param(s, i) {
            i = end;
        }
        i
    }

    /// An inner list of sf-strings with parameters starting at `i`: the end of its items (the
    /// index of `)`), the end of its parameters, and the item count.
    pub(crate) fn inner_list(s: &str, i: usize) -> Option<(usize, usize, usize)> {
        let b = s.as_bytes();
        if b.get(i) != Some(&b'(') {
            return None;
        }
        let mut j = i + 1;
        let mut count = 0;
        if b.get(j) != Some(&b')') {
            loop {
                if count == MAX_ITEMS {
                    return None;
                }
                j = params(s, plain_string(b, j)?)?;
                count += 1;
                match *b.get(j)? {
                    b')' => break,
                    b' ' => j += 1,
                    _ => return None,
                }
            }
        }
        Some((j, params(s, j + 1)?, count))
    }

    /// End of a byte sequence starting at `i` (its base64 is checked by the caller).
    pub(crate) fn byte_sequence(b: &[u8], i: usize) -> Option<usize> {
        if b.get(i) != Some(&b':') {
            return None;
        }
        let close = b.get(i + 1..)?.iter().position(|&c| c == b':')?;
        Some(i + 1 + close + 1)
    }

    /// Value of each base64 character (standard alphabet), `0xff` for every other byte.
    const B64_VALUE: [u8; 256] = {
        let mut table = [0xff_u8; 256];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut i = 0;
        while i < 64 {
            table[alphabet[i] as usize] = i as u8;
            i += 1;
        }
        table
    };

    /// Decodes base64 in canonical form (standard alphabet, padded, zero trailing bits: what
    /// `base64`'s `STANDARD` engine accepts, and `sfv`, which is laxer, decodes to the same bytes)
    /// into `out`, returning the length; `None` for anything else or when `out` is too small.
    pub(crate) fn decode_into(b64: &[u8], out: &mut [u8]) -> Option<usize> {
        if !b64.len().is_multiple_of(4) {
            return None;
        }
        let pad = if b64.ends_with(b"==") { 2 } else { usize::from(b64.ends_with(b"=")) };
        let len = (b64.len() / 4 * 3).checked_sub(pad)?;
        let out = out.get_mut(..len)?;
        let body = b64.get(..b64.len() - pad)?;
        let (full, tail) = body.split_at(body.len() / 4 * 4);
        let mut invalid = 0_u8;
        let value = |c: u8, invalid: &mut u8| {
            let v = B64_VALUE[usize::from(c)];
            *invalid |= v;
            u32::from(v & 0x3f)
        };
        for (chunk, dst) in full.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
            let acc = (value(chunk[0], &mut invalid) << 18)
                | (value(chunk[1], &mut invalid) << 12)
                | (value(chunk[2], &mut invalid) << 6)
                | value(chunk[3], &mut invalid);
            dst.copy_from_slice(&acc.to_be_bytes()[1..]);
        }
        let acc = tail.iter().fold(0_u32, |acc, &c| (acc << 6) | value(c, &mut invalid));
        let o = full.len() / 4 * 3;
        match tail.len() {
            0 => {}
            // 18 bits for two bytes, 12 bits for one: the bits left over must be zero.
            3 if acc & 0x3 == 0 => out.get_mut(o..o + 2)?.copy_from_slice(&(acc >> 2).to_be_bytes()[2..]),
            2 if acc & 0xf == 0 => *out.get_mut(o)? = u8::try_from(acc >> 4).ok()?,
            _ => return None,
        }
        (invalid & 0xc0 == 0).then_some(len)
    }

    /// The keys of a dictionary, in order.
    #[derive(Debug)]
    pub(crate) struct Keys<'a> {
        keys: [&'a str; MAX_FAST_MEMBERS],
        len: usize,
    }

    impl<'a> Keys<'a> {
        pub(crate) fn as_slice(&self) -> &[&'a str] {
            &self.keys[..self.len]
        }
    }

    /// Walks a dictionary whose members are `key=value`; `member(key, start)` scans the value at
    /// `start` and returns its end. Separators are OWS "," OWS, as in RFC 8941 §4.2.2.
    pub(crate) fn dictionary<'a>(s: &'a str, mut member: impl FnMut(&'a str, usize) -> Option<usize>) -> Option<Keys<'a>> {
        let b = s.as_bytes();
        let mut keys = Keys { keys: [""; MAX_FAST_MEMBERS], len: 0 };
        let mut i = 0;
        loop {
            let k_end = key(b, i)?;
            let k = s.get(i..k_end)?;
            if keys.len == MAX_FAST_MEMBERS || keys.as_slice().contains(&k) || b.get(k_end) != Some(&b'=') {
                return None;
            }
            keys.keys[keys.len] = k;
            keys.len += 1;
            i = member(k, k_end + 1)?;
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            match b.get(i) {
                None => return Some(keys),
                Some(b',') => i += 1,
                Some(_) => return None,
            }
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        }
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
    fn canonical_base64_decodes_like_the_standard_engine() {
        let mut inputs: Vec<String> =
            ["", "=", "==", "A===", "AA==", "AB==", "AAA=", "AAB=", "A=A=", "AAAA", "////", "+/+/", "AA-_"]
                .map(String::from)
                .to_vec();
        for len in 0..=70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let enc = B64.encode(&bytes);
            inputs.push(enc.trim_end_matches('=').to_string());
            inputs.push(format!("{enc}="));
            inputs.push(enc.replacen('A', "*", 1));
            inputs.push(enc);
        }
        for input in &inputs {
            let mut out = [0u8; 72];
            let got = canonical::decode_into(input.as_bytes(), &mut out).map(|n| out[..n].to_vec());
            let want = B64.decode(input.as_bytes()).ok().filter(|v| v.len() <= 72);
            assert_eq!(got, want, "{input:?}");
        }
        let mut small = [0u8; 2];
        assert_eq!(canonical::decode_into(b"AAAA", &mut small), None);
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
