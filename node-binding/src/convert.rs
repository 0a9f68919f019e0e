//! JS values <-> core types. Plain translation: no check lives here.

use hmac_guard::{Algorithm, ErrorCode, KeySpec, RequestHead, Verified};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::core_error;
use crate::guard::NativeReplayTicket;

/// A key as JS passes it.
#[napi(object)]
pub struct KeyOptions {
    /// Key id as clients send it.
    pub id: String,
    /// Secret bytes (a string is taken as UTF-8). At least 32 bytes.
    pub secret: Either<Buffer, String>,
    /// `hmac-sha256` (default) or `hmac-sha512`.
    pub algorithm: Option<String>,
    /// The principal the key belongs to: the only source of identity after verification.
    pub subject: Option<String>,
    /// Unix seconds before which the key is not accepted.
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is no longer accepted.
    pub not_after: Option<i64>,
}

impl std::fmt::Debug for KeyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyOptions").field("id", &self.id).field("secret", &"[redacted]").finish_non_exhaustive()
    }
}

impl KeyOptions {
    /// Builds the core key spec; the secret is copied once into a zeroizing buffer.
    pub(crate) fn to_spec(&self) -> hmac_guard::Result<KeySpec> {
        let algorithm = match self.algorithm.as_deref() {
            None => Algorithm::HmacSha256,
            Some(name) => Algorithm::from_name(name)
                .map_err(|e| core_error(ErrorCode::InvalidConfig, format!("key {:?}: {}", self.id, e.reason())))?,
        };
        let secret: Vec<u8> = match &self.secret {
            Either::A(b) => b.to_vec(),
            Either::B(s) => s.as_bytes().to_vec(),
        };
        let mut spec = KeySpec::new(self.id.clone(), secret, algorithm).with_validity(self.not_before, self.not_after);
        spec.subject.clone_from(&self.subject);
        Ok(spec)
    }
}

/// Builds a request head from the flat `[name, value, name, value, …]` header list.
pub(crate) fn head(
    method: String,
    target: String,
    scheme: Option<String>,
    headers: Vec<String>,
) -> hmac_guard::Result<RequestHead> {
    if !headers.len().is_multiple_of(2) {
        return Err(core_error(ErrorCode::InvalidState, "headers must be a flat list of name/value pairs"));
    }
    let mut pairs = Vec::with_capacity(headers.len() / 2);
    let mut it = headers.into_iter();
    while let (Some(n), Some(v)) = (it.next(), it.next()) {
        pairs.push((n, v));
    }
    Ok(RequestHead { method, target, scheme: scheme.unwrap_or_else(|| "http".to_string()), headers: pairs })
}

/// Builds a request head from one string holding method, target, scheme and every header name
/// and value back to back, and `lens`, their lengths in UTF-16 code units (JS `string.length`).
/// One string crosses the boundary instead of one per header, which is most of the call's cost.
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

/// One covered component and the value that was signed.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct CoveredComponent {
    /// Component identifier as serialized in the signature (`@method`, `"content-type"`, …).
    pub id: String,
    /// The value that was signed.
    pub value: String,
}

/// A verified request: act only on these values.
#[napi(object, object_from_js = false)]
pub struct VerifiedResult {
    /// Scheme that verified it (`rfc9421` or `simple`).
    pub scheme: String,
    /// Signature label (RFC 9421).
    pub label: Option<String>,
    /// Key id that verified it.
    pub key_id: String,
    /// The key's subject: the only source of identity.
    pub subject: Option<String>,
    /// The key's algorithm.
    pub algorithm: String,
    /// Signature creation time (Unix seconds).
    pub created: Option<i64>,
    /// Signature expiry (Unix seconds).
    pub expires: Option<i64>,
    /// The nonce that was claimed.
    pub nonce: Option<String>,
    /// Application tag (RFC 9421 `tag`).
    pub tag: Option<String>,
    /// Covered components with their signed values, in signature order.
    pub covered: Vec<CoveredComponent>,
    /// Body bytes verified.
    pub body_length: i64,
    /// In `reserve` replay mode: the reservation to commit or release.
    pub replay_ticket: Option<NativeReplayTicket>,
}

impl std::fmt::Debug for VerifiedResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedResult").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl VerifiedResult {
    /// The full object; `networked` says whether the ticket's store is Redis (whose commit and
    /// release then only run on the libuv pool).
    pub(crate) fn new(v: Verified, networked: bool) -> Self {
        VerifiedResult {
            scheme: v.scheme.to_string(),
            label: v.label,
            key_id: v.key_id,
            subject: v.subject,
            algorithm: v.algorithm.name().to_string(),
            created: v.created,
            expires: v.expires,
            nonce: v.nonce,
            tag: v.tag,
            covered: v
                .covered
                .iter()
                .map(|(id, value)| CoveredComponent { id: id.to_string(), value: value.to_string() })
                .collect(),
            body_length: i64::try_from(v.body_len).unwrap_or(i64::MAX),
            replay_ticket: v.replay_ticket.map(|t| NativeReplayTicket::new(t, networked)),
        }
    }
}

/// A verification result as it crosses into JS: field texts back to back in one string, their
/// lengths in the caller's `io` array (see [`pack_into`]), or the full object when it carries a
/// replay ticket or has more fields than `io` holds.
pub type Packed = Either<String, VerifiedResult>;

/// `io` entry of a field that is absent.
const ABSENT: u32 = u32::MAX;

/// Packs a result for the JS thread: the texts of scheme, label, key id, subject, algorithm,
/// created, expires, nonce, tag, body length, then the id and value of each covered component,
/// back to back in one string; `io[0]` = the number of fields, `io[1..]` = each field's length
/// in UTF-16 units ([`ABSENT`] when missing). One JS string and no number parsing cost a
/// fraction of building an object property by property; `lib/core.js` reads it back.
pub(crate) fn pack_into(v: Verified, io: &mut [u32], networked: bool) -> Packed {
    let fields = 10 + 2 * v.covered.iter().count();
    if v.replay_ticket.is_some() || io.len() <= fields {
        return Either::B(VerifiedResult::new(v, networked));
    }
    let mut p = Packer { out: String::with_capacity(256), io, k: 1 };
    p.text(Some(v.scheme));
    p.text(v.label.as_deref());
    p.text(Some(&v.key_id));
    p.text(v.subject.as_deref());
    p.text(Some(v.algorithm.name()));
    p.number(v.created);
    p.number(v.expires);
    p.text(v.nonce.as_deref());
    p.text(v.tag.as_deref());
    p.number(Some(i64::try_from(v.body_len).unwrap_or(i64::MAX)));
    for (id, value) in v.covered.iter() {
        p.text(Some(id));
        p.text(Some(value));
    }
    p.io[0] = u32::try_from(fields).unwrap_or(0);
    Either::A(p.out)
}

/// Appends fields to a packed result (see [`pack_into`]).
struct Packer<'a> {
    out: String,
    io: &'a mut [u32],
    k: usize,
}

impl Packer<'_> {
    fn text(&mut self, s: Option<&str>) {
        self.io[self.k] = match s {
            None => ABSENT,
            Some(s) => {
                self.out.push_str(s);
                // ASCII (nearly every field): the UTF-16 length is the byte length.
                let units = if s.is_ascii() { s.len() } else { s.encode_utf16().count() };
                u32::try_from(units).unwrap_or(ABSENT)
            }
        };
        self.k += 1;
    }

    /// A number in decimal (without `fmt`: this runs for several fields of every verification).
    fn number(&mut self, n: Option<i64>) {
        self.io[self.k] = match n {
            None => ABSENT,
            Some(n) => {
                let mut digits = [0u8; 20];
                let mut m = n.unsigned_abs();
                let mut at = digits.len();
                loop {
                    at -= 1;
                    digits[at] = b'0' + (m % 10) as u8;
                    m /= 10;
                    if m == 0 {
                        break;
                    }
                }
                if n < 0 {
                    self.out.push('-');
                }
                self.out.extend(digits[at..].iter().map(|&d| char::from(d)));
                u32::from(n < 0) + (digits.len() - at) as u32
            }
        };
        self.k += 1;
    }
}

/// An error as a value (used where a promise resolves instead of rejecting).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorValue {
    /// Stable `ERR_*` code.
    pub code: String,
    /// Internal reason (no secrets).
    pub reason: String,
}

impl From<&hmac_guard::Error> for ErrorValue {
    fn from(e: &hmac_guard::Error) -> Self {
        ErrorValue { code: e.code().as_str().to_string(), reason: e.reason().to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::{ABSENT, Packer, head_from_parts, head_into};

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

    #[test]
    fn numbers_pack_as_display_writes_them() {
        for n in [0, 7, 10, 99, 100, 1_795_364_607, -1, -10, -999, i64::MAX, i64::MIN] {
            let mut io = [0u32; 4];
            let mut p = Packer { out: String::new(), io: &mut io, k: 1 };
            p.number(Some(n));
            p.number(None);
            assert_eq!(p.out, n.to_string());
            assert_eq!(io[1..3], [u32::try_from(n.to_string().len()).expect("short"), ABSENT]);
        }
    }
}
