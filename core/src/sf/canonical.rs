//! Allocation-free scanning of the canonical subset of RFC 8941 that signers emit.
//!
//! Every function here accepts only text that [`parse_dictionary`](super::parse_dictionary) accepts *and* that is already in
//! the canonical form the `write_*` functions produce (one SP between inner-list items, no SP after
//! `;`, sf-strings without escapes, integers without leading zeros, byte sequences in padded
//! standard base64). Anything else returns `None`, and the caller falls back to the general parser,
//! which then decides (and words any error) exactly as before. So a verbatim slice of accepted
//! text equals its canonical serialization.

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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;

    use super::*;

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
            let got = decode_into(input.as_bytes(), &mut out).map(|n| out[..n].to_vec());
            let want = B64.decode(input.as_bytes()).ok().filter(|v| v.len() <= 72);
            assert_eq!(got, want, "{input:?}");
        }
        let mut small = [0u8; 2];
        assert_eq!(decode_into(b"AAAA", &mut small), None);
    }
}
