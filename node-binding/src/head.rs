//! The request head as it crosses the boundary: one string holding method, target, scheme and
//! every header name and value back to back, split by their UTF-16 lengths (JS `string.length`).
//! One string crosses instead of one per header, which is most of a call's cost.

use hmac_guard::{ErrorCode, RequestHead};

use crate::errors::core_error;

/// Builds a request head from `parts` and `lens`, the UTF-16 lengths of its pieces.
pub(crate) fn head_from_parts(parts: &str, lens: &[u32]) -> hmac_guard::Result<RequestHead> {
    let mut head = RequestHead { method: String::new(), target: String::new(), scheme: String::new(), headers: Vec::new() };
    head_into(parts, lens, &mut head)?;
    Ok(head)
}

/// As [`head_from_parts`], into an existing head whose strings are refilled in place: a head kept
/// from call to call allocates nothing once it has seen a request of the same shape.
pub(crate) fn head_into(parts: &str, lens: &[u32], head: &mut RequestHead) -> hmac_guard::Result<()> {
    let bad = || core_error(ErrorCode::InvalidState, "request parts do not match their lengths");
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

#[cfg(test)]
mod tests {
    use super::{head_from_parts, head_into};

    fn lens(pieces: &[&str]) -> Vec<u32> {
        pieces.iter().map(|p| u32::try_from(p.encode_utf16().count()).expect("short")).collect()
    }

    #[test]
    fn splits_ascii_and_non_ascii_parts_by_utf16_length() {
        for pieces in [
            vec!["POST", "/p?q=1", "https", "Host", "example.com", "X-A", "1"],
            vec!["GET", "/é", "http", "X-Note", "naïve 😀 café", "Host", "h"],
        ] {
            let joined: String = pieces.concat();
            let h = head_from_parts(&joined, &lens(&pieces)).expect("valid");
            assert_eq!(h.method, pieces[0]);
            assert_eq!(h.target, pieces[1]);
            assert_eq!(h.scheme, pieces[2]);
            assert_eq!(h.headers.len(), 2);
            assert_eq!(h.headers[0].1, pieces[4]);
            assert_eq!(h.headers[1].0, pieces[5]);
        }
    }

    #[test]
    fn rejects_lengths_that_do_not_match() {
        let pieces = ["GET", "/", "http", "Host", "h😀"];
        let joined: String = pieces.concat();
        let mut l = lens(&pieces);
        assert!(head_from_parts(&joined, &l[..4]).is_err(), "even count");
        l[4] += 1;
        assert!(head_from_parts(&joined, &l).is_err(), "too long");
        l[4] -= 2;
        assert!(head_from_parts(&joined, &l).is_err(), "too short / splits a surrogate pair");
        assert!(head_from_parts("GETx", &[3, 0, 0]).is_err(), "trailing bytes");
        assert!(head_from_parts("", &[]).is_err(), "no pieces");
    }

    #[test]
    fn a_reused_head_takes_each_request_shape() {
        let mut head = head_from_parts("GET/http", &lens(&["GET", "/", "http"])).expect("valid");
        for pieces in [
            vec!["POST", "/a", "https", "Host", "h", "X-A", "1", "X-B", "2"],
            vec!["GET", "/é", "http", "X-Note", "naïve"],
            vec!["PUT", "/b", "http"],
            vec!["POST", "/c", "http", "Host", "other", "X-A", "3"],
        ] {
            head_into(&pieces.concat(), &lens(&pieces), &mut head).expect("valid");
            let fresh = head_from_parts(&pieces.concat(), &lens(&pieces)).expect("valid");
            assert_eq!(
                (&head.method, &head.target, &head.scheme, &head.headers),
                (&fresh.method, &fresh.target, &fresh.scheme, &fresh.headers)
            );
        }
        assert!(head_into("GETx", &[3, 0, 0], &mut head).is_err());
        assert!(head.headers.is_empty(), "a failed split leaves no stale headers");
    }
}
