//! The simple header scheme (`HG1`), for hand-written clients. Byte-exact definition: SPEC.md.
//!
//! ```text
//! HG1\n<METHOD>\n<path?query>\n<timestamp>\n<nonce>\n<key id>\n<hex sha-256 of body>
//! ```
//! The MAC covers the body through its digest header (as AWS SigV4 does), so the MAC is checked
//! before the body is read and the streamed body is then compared with the signed digest.

use crate::digest::{DigestAlgorithm, ExpectedDigest, from_hex};
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::is_key_id_byte;
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};

/// Header carrying the key id.
pub const KEY_ID_HEADER: &str = "x-hmac-key-id";
/// Header carrying the Unix timestamp in seconds.
pub const TIMESTAMP_HEADER: &str = "x-hmac-timestamp";
/// Header carrying the nonce.
pub const NONCE_HEADER: &str = "x-hmac-nonce";
/// Header carrying the lowercase hex SHA-256 of the body.
pub const CONTENT_SHA256_HEADER: &str = "x-hmac-content-sha256";
/// Header carrying the lowercase hex MAC.
pub const SIGNATURE_HEADER: &str = "x-hmac-signature";

/// The version tag that opens the canonical string. The algorithm is not part of it: each key
/// has exactly one algorithm, so a MAC can only ever be checked with the key's own.
pub const VERSION_TAG: &str = "HG1";

/// The canonical string. Every field is checked to be free of line breaks before it gets here.
#[must_use]
pub fn canonical_string(
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    nonce: &str,
    key_id: &str,
    content_sha256: &str,
) -> String {
    [VERSION_TAG, method, path_and_query, timestamp, nonce, key_id, content_sha256].join("\n")
}

/// The simple scheme. The algorithm is the key's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Simple;

/// Nonces: URL-safe base64 alphabet plus `.` and `~`, so they need no escaping anywhere.
pub(crate) fn is_nonce_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b)
}

impl Simple {
    /// The canonical string for a head, with the algorithm left for the verifier to fill in
    /// (it depends on the key). Returns the pieces after validation.
    fn read<'a>(head: &'a RequestHead, limits: &HeaderLimits) -> Result<SimpleFields<'a>> {
        let found = FoundHeaders::collect(head);
        let get = |slot: usize| found.single(slot, limits.max_header_len);
        let key_id = get(0)?;
        let signature = get(4)?;
        let (key_id, signature) = match (key_id, signature) {
            (None, None) => return fail(ErrorCode::MissingSignature, "no X-HMAC-Key-Id or X-HMAC-Signature header"),
            (None, Some(_)) => return fail(ErrorCode::MissingHeader, "X-HMAC-Key-Id is missing"),
            (Some(_), None) => return fail(ErrorCode::MissingHeader, "X-HMAC-Signature is missing"),
            (Some(k), Some(s)) => (k, s),
        };
        let Some(timestamp) = get(1)? else {
            return fail(ErrorCode::MissingHeader, "X-HMAC-Timestamp is missing");
        };
        let Some(nonce) = get(2)? else { return fail(ErrorCode::MissingHeader, "X-HMAC-Nonce is missing") };
        let Some(content_sha256) = get(3)? else {
            return fail(ErrorCode::MissingHeader, "X-HMAC-Content-SHA256 is missing");
        };
        if key_id.is_empty() || key_id.len() > crate::keyring::MAX_KEY_ID_LEN || !key_id.bytes().all(is_key_id_byte) {
            return fail(ErrorCode::MalformedSignature, "X-HMAC-Key-Id is not a valid key id");
        }
        if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return fail(ErrorCode::MalformedSignature, "X-HMAC-Timestamp must be Unix seconds (decimal digits)");
        }
        if !nonce.bytes().all(is_nonce_byte) {
            return fail(ErrorCode::MalformedSignature, "X-HMAC-Nonce has characters outside [A-Za-z0-9-_.~+/=]");
        }
        if content_sha256.len() != 64 || !content_sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return fail(ErrorCode::MalformedSignature, "X-HMAC-Content-SHA256 must be 64 lowercase hex digits");
        }
        let Some(signature) = from_hex(signature) else {
            return fail(ErrorCode::MalformedSignature, "X-HMAC-Signature is not hex");
        };
        if head.method.is_empty() || !head.method.bytes().all(|b| b.is_ascii_graphic()) {
            return fail(ErrorCode::MalformedHeader, "method is not a token");
        }
        let target = head.path_and_query();
        if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
            return fail(ErrorCode::MalformedHeader, "request target has non-ASCII or control characters");
        }
        Ok(SimpleFields { key_id, timestamp, nonce, content_sha256, signature, target })
    }
}

/// The scheme's five headers, in [`FoundHeaders`] slot order.
const HEADERS: [&str; 5] = [KEY_ID_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, CONTENT_SHA256_HEADER, SIGNATURE_HEADER];

/// The scheme's headers found in one pass over the head (they share the `x-hmac-` prefix), where
/// five lookups would compare every header name five times. Checks still run per header, in the
/// order `read` asks, so the first error reported is the same as with separate lookups.
struct FoundHeaders<'a> {
    first: [Option<&'a str>; 5],
    repeated: [bool; 5],
}

impl<'a> FoundHeaders<'a> {
    fn collect(head: &'a RequestHead) -> Self {
        const PREFIX: &str = "x-hmac-";
        let mut found = FoundHeaders { first: [None; 5], repeated: [false; 5] };
        for (name, value) in &head.headers {
            let (Some(prefix), Some(rest)) = (name.get(..PREFIX.len()), name.get(PREFIX.len()..)) else { continue };
            if !prefix.eq_ignore_ascii_case(PREFIX) {
                continue;
            }
            let Some(slot) = HEADERS.iter().position(|h| h[PREFIX.len()..].eq_ignore_ascii_case(rest)) else { continue };
            if found.first[slot].is_some() {
                found.repeated[slot] = true;
            } else {
                found.first[slot] = Some(value);
            }
        }
        found
    }

    /// As [`RequestHead::single`] for the header in `slot`.
    fn single(&self, slot: usize, max_len: usize) -> Result<Option<&'a str>> {
        let name = HEADERS[slot];
        let Some(first) = self.first[slot] else { return Ok(None) };
        if self.repeated[slot] {
            return fail(ErrorCode::MalformedSignature, format!("header {name} appears more than once"));
        }
        if first.len() > max_len {
            return fail(ErrorCode::HeaderTooLarge, format!("header {name} is longer than {max_len} bytes"));
        }
        Ok(Some(crate::request::trim_ows(first)))
    }
}

struct SimpleFields<'a> {
    key_id: &'a str,
    timestamp: &'a str,
    nonce: &'a str,
    content_sha256: &'a str,
    signature: Vec<u8>,
    target: &'a str,
}

impl Scheme for Simple {
    fn name(&self) -> &'static str {
        "simple"
    }

    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared> {
        let f = Simple::read(head, limits)?;
        let created: i64 = f
            .timestamp
            .parse()
            .map_err(|_| crate::Error::new(ErrorCode::MalformedSignature, "X-HMAC-Timestamp is out of range"))?;
        let digest = from_hex(f.content_sha256).unwrap_or_default();
        // The canonical string, written once; the covered values are ranges of it.
        let parts: [(&'static str, &str); 6] = [
            ("method", &head.method),
            ("path", f.target),
            ("timestamp", f.timestamp),
            ("nonce", f.nonce),
            ("key-id", f.key_id),
            ("content-sha256", f.content_sha256),
        ];
        let mut covered = Covered::with_capacity(VERSION_TAG.len() + parts.iter().map(|(_, v)| v.len() + 1).sum::<usize>());
        covered.text_mut().push_str(VERSION_TAG);
        for (id, value) in parts {
            let text = covered.text_mut();
            text.push('\n');
            let start = text.len();
            text.push_str(value);
            let end = text.len();
            covered.push_static(id, start..end);
        }
        Ok(Prepared {
            scheme: "simple",
            label: None,
            key_id: f.key_id.to_string(),
            created: Some(created),
            expires: None,
            nonce: Some(f.nonce.to_string()),
            algorithm: None,
            tag: None,
            covered,
            mac_input: MacInput::Base,
            signature: f.signature,
            body: BodyBinding::Digest(ExpectedDigest::one(DigestAlgorithm::Sha256, digest)),
            webhook: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        RequestHead::new("POST", "/p", "https", headers.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect())
    }

    #[test]
    fn finds_its_headers_in_any_case_and_ignores_look_alikes() {
        let h = head(&[
            ("X-HMAC-KEY-ID", "k1"),
            ("x-hmac-timestamp", " 1700000000 "),
            ("X-Hmac-Nonce", "nonce-1234"),
            ("x-hmac-content-sha256x", "ignored"),
            ("x-hmac-", "ignored"),
            ("é-hmac-signature", "ignored"),
            ("x-hmac-signature", "00"),
        ]);
        let found = FoundHeaders::collect(&h);
        assert_eq!(found.single(0, 64).unwrap(), Some("k1"));
        assert_eq!(found.single(1, 64).unwrap(), Some("1700000000"));
        assert_eq!(found.single(2, 64).unwrap(), Some("nonce-1234"));
        assert_eq!(found.single(3, 64).unwrap(), None);
        assert_eq!(found.single(4, 64).unwrap(), Some("00"));
    }

    #[test]
    fn a_repeat_in_another_case_is_still_a_repeat() {
        let h = head(&[("x-hmac-nonce", "nonce-1234"), ("X-HMAC-NONCE", "nonce-5678")]);
        assert_eq!(FoundHeaders::collect(&h).single(2, 64).unwrap_err().code(), ErrorCode::MalformedSignature);
        let h = head(&[("x-hmac-nonce", "n".repeat(65).as_str())]);
        assert_eq!(FoundHeaders::collect(&h).single(2, 64).unwrap_err().code(), ErrorCode::HeaderTooLarge);
    }
}
