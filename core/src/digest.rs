//! Body digests: RFC 9530 `Content-Digest` parsing and streaming hashing of the body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::{ErrorCode, Result, fail};
use crate::sf::{self, Bare, Member};

/// Hash algorithms accepted for body digests (the RFC 9530 "Active" ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `sha-256`
    Sha256,
    /// `sha-512`
    Sha512,
}

impl DigestAlgorithm {
    /// The RFC 9530 registry key.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    const fn len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }
}

/// A digest the signer committed to, to be compared with the streamed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedDigest {
    /// Algorithm.
    pub algorithm: DigestAlgorithm,
    /// Raw digest bytes.
    pub value: Vec<u8>,
}

/// Parses a `Content-Digest` value and picks the digest to check. With `only = Some(member)` (the
/// signature covers just that member, `;key="…"`), that member and nothing else: it must be
/// `sha-256` or `sha-512`. Otherwise (the whole field is covered) `sha-256` if present (the faster
/// one on SHA-NI hardware), else `sha-512`; checking one is enough because the signature covers
/// every member, so an attacker would need a preimage of the chosen hash.
///
/// # Errors
/// `ERR_MALFORMED_HEADER` for a bad field or a digest of the wrong length, `ERR_UNSUPPORTED_DIGEST`
/// when no acceptable member is present.
pub fn parse_content_digest(value: &str, only: Option<&str>) -> Result<ExpectedDigest> {
    if let Some(k) = only
        && k != "sha-256"
        && k != "sha-512"
    {
        return fail(ErrorCode::UnsupportedDigest, "the covered Content-Digest member must be sha-256 or sha-512");
    }
    let fast = parse_canonical(value, only);
    // Debug builds (tests, fuzzing) check that the fast path decides exactly as the general one.
    #[cfg(debug_assertions)]
    if let Some(fast) = &fast {
        assert_eq!(
            format!("{fast:?}"),
            format!("{:?}", parse_general(value, only)),
            "fast and general Content-Digest paths disagree"
        );
    }
    match fast {
        Some(result) => result,
        None => parse_general(value, only),
    }
}

/// The fast path of [`parse_content_digest`]: every member `key=:base64:` in the canonical subset
/// (see [`sf::canonical`]), decoded without building a dictionary. `None` when the field is
/// outside that subset; the general parser then decides.
fn parse_canonical(value: &str, only: Option<&str>) -> Option<Result<ExpectedDigest>> {
    let b = value.as_bytes();
    let mut first_error: Option<crate::Error> = None;
    let mut chosen: Option<(DigestAlgorithm, [u8; 72])> = None;
    sf::canonical::dictionary(value, |key, start| {
        let end = sf::canonical::byte_sequence(b, start)?;
        let mut buf = [0u8; 72];
        let n = sf::canonical::decode_into(b.get(start + 1..end - 1)?, &mut buf)?;
        if first_error.is_some() || only.is_some_and(|k| k != key) {
            return Some(end);
        }
        let algorithm = match key {
            "sha-256" => DigestAlgorithm::Sha256,
            "sha-512" => DigestAlgorithm::Sha512,
            _ => return Some(end),
        };
        if n != algorithm.len() {
            first_error = Some(crate::Error::new(
                ErrorCode::MalformedHeader,
                format!("Content-Digest {} has the wrong length", algorithm.key()),
            ));
            return Some(end);
        }
        let better = match &chosen {
            None => true,
            Some((c, _)) => *c == DigestAlgorithm::Sha512 && algorithm == DigestAlgorithm::Sha256,
        };
        if better {
            chosen = Some((algorithm, buf));
        }
        Some(end)
    })?;
    if let Some(e) = first_error {
        return Some(Err(e));
    }
    Some(match chosen {
        Some((algorithm, buf)) => Ok(ExpectedDigest { algorithm, value: buf[..algorithm.len()].to_vec() }),
        None => fail(ErrorCode::UnsupportedDigest, "Content-Digest has neither sha-256 nor sha-512"),
    })
}

fn parse_general(value: &str, only: Option<&str>) -> Result<ExpectedDigest> {
    let dict =
        sf::parse_dictionary(value).map_err(|e| crate::Error::new(ErrorCode::MalformedHeader, format!("Content-Digest: {e}")))?;
    let mut chosen: Option<ExpectedDigest> = None;
    for (key, member) in dict {
        if only.is_some_and(|k| k != key) {
            continue;
        }
        let algorithm = match key {
            "sha-256" => DigestAlgorithm::Sha256,
            "sha-512" => DigestAlgorithm::Sha512,
            _ => continue,
        };
        let Member::Item(item) = member else {
            return fail(ErrorCode::MalformedHeader, "Content-Digest member is not a byte sequence");
        };
        let Bare::ByteSequence(bytes) = item.bare else {
            return fail(ErrorCode::MalformedHeader, "Content-Digest member is not a byte sequence");
        };
        if bytes.len() != algorithm.len() {
            return fail(ErrorCode::MalformedHeader, format!("Content-Digest {} has the wrong length", algorithm.key()));
        }
        let better = match &chosen {
            None => true,
            Some(c) => c.algorithm == DigestAlgorithm::Sha512 && algorithm == DigestAlgorithm::Sha256,
        };
        if better {
            chosen = Some(ExpectedDigest { algorithm, value: bytes });
        }
    }
    chosen.ok_or_else(|| crate::Error::new(ErrorCode::UnsupportedDigest, "Content-Digest has neither sha-256 nor sha-512"))
}

/// `Content-Digest` field value for a body.
#[must_use]
pub fn content_digest_value(algorithm: DigestAlgorithm, body: &[u8]) -> String {
    let mut h = BodyHasher::new(algorithm);
    h.update(body);
    format!("{}=:{}:", algorithm.key(), B64.encode(h.finalize()))
}

/// Streaming hash of a body.
#[derive(Debug, Clone)]
pub enum BodyHasher {
    /// SHA-256 in progress.
    Sha256(Sha256),
    /// SHA-512 in progress.
    Sha512(Sha512),
}

impl BodyHasher {
    /// A fresh hasher.
    #[must_use]
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Sha256 => BodyHasher::Sha256(Sha256::new()),
            DigestAlgorithm::Sha512 => BodyHasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            BodyHasher::Sha256(h) => h.update(chunk),
            BodyHasher::Sha512(h) => h.update(chunk),
        }
    }

    /// The digest.
    #[must_use]
    pub fn finalize(self) -> Vec<u8> {
        match self {
            BodyHasher::Sha256(h) => h.finalize().to_vec(),
            BodyHasher::Sha512(h) => h.finalize().to_vec(),
        }
    }

    /// Constant-time comparison with the expected digest.
    #[must_use]
    pub fn matches(self, expected: &[u8]) -> bool {
        // Compared straight from the digest arrays: no `Vec` per request.
        let eq = |got: &[u8]| got.len() == expected.len() && bool::from(got.ct_eq(expected));
        match self {
            BodyHasher::Sha256(h) => eq(&h.finalize()),
            BodyHasher::Sha512(h) => eq(&h.finalize()),
        }
    }
}

/// Lowercase hex SHA-256 of a body (the simple scheme's body digest).
#[must_use]
pub fn sha256_hex(body: &[u8]) -> String {
    to_hex(&Sha256::digest(body))
}

/// Lowercase hex.
#[must_use]
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// Nibble value of each byte, `0xff` for bytes that are not hex digits.
const NIBBLE: [u8; 256] = {
    let mut table = [0xff_u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes hex (either case); `None` on odd length or other characters.
///
/// One table lookup per digit and a single validity test at the end: this runs on every
/// simple-scheme request (signature and body digest), where a branch per digit showed up in profiles.
#[must_use]
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut invalid = 0_u8;
    let out: Vec<u8> = bytes
        .chunks_exact(2)
        .map(|p| {
            let (hi, lo) = (NIBBLE[usize::from(p[0])], NIBBLE[usize::from(p[1])]);
            invalid |= hi | lo;
            (hi << 4) | (lo & 0x0f)
        })
        .collect();
    (invalid & 0xf0 == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9530_appendix_d_examples() {
        let body = br#"{"hello": "world"}"#;
        assert_eq!(content_digest_value(DigestAlgorithm::Sha256, body), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
        assert_eq!(
            content_digest_value(DigestAlgorithm::Sha512, body),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
    }

    #[test]
    fn picks_sha256_and_rejects_bad_values() {
        let both = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        assert_eq!(parse_content_digest(both, None).unwrap().algorithm, DigestAlgorithm::Sha256);
        assert_eq!(parse_content_digest(both, Some("sha-512")).unwrap().algorithm, DigestAlgorithm::Sha512);
        assert_eq!(parse_content_digest(both, Some("md5")).unwrap_err().code(), ErrorCode::UnsupportedDigest);
        assert_eq!(
            parse_content_digest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", Some("sha-512")).unwrap_err().code(),
            ErrorCode::UnsupportedDigest
        );
        assert_eq!(parse_content_digest("md5=:AAAA:", None).unwrap_err().code(), ErrorCode::UnsupportedDigest);
        assert_eq!(parse_content_digest("sha-256=:AAAA:", None).unwrap_err().code(), ErrorCode::MalformedHeader);
        assert_eq!(parse_content_digest("sha-256=1", None).unwrap_err().code(), ErrorCode::MalformedHeader);
        assert_eq!(parse_content_digest("sha-256", None).unwrap_err().code(), ErrorCode::MalformedHeader);
    }

    #[test]
    fn canonical_fields_take_the_fast_path() {
        let both = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
        for only in [None, Some("sha-256"), Some("sha-512")] {
            let fast = parse_canonical(both, only).expect("canonical field");
            assert_eq!(format!("{fast:?}"), format!("{:?}", parse_general(both, only)));
        }
        for (value, fast) in [
            ("sha-256=:AAAA:", true),
            ("md5=:AAAA:", true),
            ("sha-256=:AAAA:;p", false),
            ("sha-256=:AAA:", false),
            ("sha-256=1", false),
            ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,", false),
            ("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-256=:AAAA:", false),
        ] {
            assert_eq!(parse_canonical(value, None).is_some(), fast, "{value}");
            // Whichever path runs, the verdict is the general parser's.
            let _ = parse_content_digest(value, None);
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(from_hex(&to_hex(&[0, 1, 0xab, 0xff])).unwrap(), vec![0, 1, 0xab, 0xff]);
        assert_eq!(from_hex("ABcd").unwrap(), vec![0xab, 0xcd]);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
