//! The request head as it crosses the boundary: one string holding method, target, scheme and
//! every header name and value back to back, split by their UTF-16 lengths (JS `string.length`).
//! One string crosses instead of one per header, which is most of a call's cost.

use hmac_guard::{ErrorCode, RequestHead};
use napi_derive::napi;

/// Whether a request announces a body, from its raw `Content-Length` and `Transfer-Encoding`
/// values (the core's `intake::announces_body`): what adapters ask before closing after a refusal
/// and for `Accept-Signature`.
#[napi]
pub fn announces_body(content_length: Option<String>, transfer_encoding: Option<String>) -> bool {
    hmac_guard::intake::announces_body(content_length.as_deref(), transfer_encoding.as_deref())
}

/// Builds a request head from `parts` and `lens`, the UTF-16 lengths of its pieces.
pub(crate) fn head_from_parts(parts: &str, lens: &[u32]) -> hmac_guard::Result<RequestHead> {
    let mut head = RequestHead::default();
    head_into(parts, lens, &mut head).map(|()| head)
}

/// As [`head_from_parts`], into an existing head whose strings are refilled in place: a head kept
/// from call to call allocates nothing once it has seen a request of the same shape.
pub(crate) fn head_into(parts: &str, lens: &[u32], head: &mut RequestHead) -> hmac_guard::Result<()> {
    let bad = || hmac_guard::Error::new(ErrorCode::InvalidState, "request parts do not match their lengths");
    if lens.len() < 3 || lens.len().is_multiple_of(2) {
        return Err(bad());
    }
    let refill = |to: &mut String, from: &str| {
        to.clear();
        to.push_str(from);
    };
    let RequestHead { method, target, scheme, headers } = head;
    let count = (lens.len() - 3) / 2;
    headers.truncate(count);
    headers.reserve(count - headers.len());
    let mut name: &str = "";
    let split = split_parts(parts, lens, |i, piece| match i {
        0 => refill(method, piece),
        1 => refill(target, piece),
        2 => refill(scheme, piece),
        _ if i % 2 == 1 => name = piece,
        _ => {
            let k = (i - 3) / 2;
            if let Some((n, v)) = headers.get_mut(k) {
                refill(n, name);
                refill(v, piece);
            } else {
                headers.push((name.to_owned(), piece.to_owned()));
            }
        }
    });
    if split.is_none() {
        headers.clear();
        return Err(bad());
    }
    Ok(())
}

/// Splits `parts` into pieces of `lens` UTF-16 units each, handing each to `f` with its index;
/// `None` when the lengths do not match the string exactly.
fn split_parts<'a>(parts: &'a str, lens: &[u32], mut f: impl FnMut(usize, &'a str)) -> Option<()> {
    let mut start = 0usize;
    if parts.is_ascii() {
        // Every character is one UTF-16 unit and one byte: split by byte offsets.
        for (i, &want) in lens.iter().enumerate() {
            let end = start.checked_add(usize::try_from(want).ok()?)?;
            f(i, parts.get(start..end)?);
            start = end;
        }
        return (start == parts.len()).then_some(());
    }
    let mut chars = parts.char_indices();
    for (i, &want) in lens.iter().enumerate() {
        let mut units = 0usize;
        let want = usize::try_from(want).ok()?;
        let mut end = start;
        while units < want {
            let (at, c) = chars.next()?;
            units += c.len_utf16();
            end = at + c.len_utf8();
        }
        if units != want {
            return None;
        }
        f(i, parts.get(start..end)?);
        start = end;
    }
    chars.next().is_none().then_some(())
}
