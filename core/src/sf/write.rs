//! Canonical RFC 8941 serialization (the `@signature-params` value, RFC 9421 §2.3).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Bare, Item, Params};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_serialize_like_fmt() {
        for v in [0i64, 7, -7, 10, 1_618_884_473, -999_999_999_999_999, 999_999_999_999_999] {
            let mut s = String::new();
            write_int(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }
}
