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

/// The digests the signer committed to, each to be compared with the streamed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedDigest {
    /// Algorithm of `value` (`sha-256` whenever the binding has one).
    pub algorithm: DigestAlgorithm,
    /// Raw digest bytes.
    pub value: Vec<u8>,
    /// The second supported digest of a wholly covered `Content-Digest` that carries both
    /// (`sha-512` next to `sha-256`). The body must match it too: the signature vouches for every
    /// member, so a wrong one means the signer and the body disagree.
    pub also: Option<(DigestAlgorithm, Vec<u8>)>,
}

impl ExpectedDigest {
    /// One digest.
    #[must_use]
    pub fn one(algorithm: DigestAlgorithm, value: Vec<u8>) -> Self {
        ExpectedDigest { algorithm, value, also: None }
    }
}

impl Default for ExpectedDigest {
    /// An empty `sha-256` digest, which no body matches (it only stands in for a moved-out value).
    fn default() -> Self {
        ExpectedDigest::one(DigestAlgorithm::Sha256, Vec::new())
    }
}

/// Parses a `Content-Digest` value and picks the digests to check. With `only = Some(member)` (the
/// signature covers just that member, `;key="…"`), that member and nothing else: it must be
/// `sha-256` or `sha-512`. Otherwise (the whole field is covered) every `sha-256` and `sha-512`
/// member present, at least one of them; other algorithms are ignored.
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

/// The supported algorithm a `Content-Digest` key names.
fn algorithm_of(key: &str) -> Option<DigestAlgorithm> {
    match key {
        "sha-256" => Some(DigestAlgorithm::Sha256),
        "sha-512" => Some(DigestAlgorithm::Sha512),
        _ => None,
    }
}

/// The supported members found, in one slot per algorithm (a repeated key is refused by both
/// parsers, so each slot is written at most once).
#[derive(Default)]
struct Found {
    sha256: Option<Vec<u8>>,
    sha512: Option<Vec<u8>>,
}

impl Found {
    fn add(&mut self, algorithm: DigestAlgorithm, digest: &[u8]) -> Result<()> {
        if digest.len() != algorithm.len() {
            return fail(ErrorCode::MalformedHeader, format!("Content-Digest {} has the wrong length", algorithm.key()));
        }
        let slot = match algorithm {
            DigestAlgorithm::Sha256 => &mut self.sha256,
            DigestAlgorithm::Sha512 => &mut self.sha512,
        };
        *slot = Some(digest.to_vec());
        Ok(())
    }

    fn into_expected(self) -> Result<ExpectedDigest> {
        match (self.sha256, self.sha512) {
            (Some(a), b) => {
                Ok(ExpectedDigest { algorithm: DigestAlgorithm::Sha256, value: a, also: b.map(|b| (DigestAlgorithm::Sha512, b)) })
            }
            (None, Some(b)) => Ok(ExpectedDigest::one(DigestAlgorithm::Sha512, b)),
            (None, None) => fail(ErrorCode::UnsupportedDigest, "Content-Digest has neither sha-256 nor sha-512"),
        }
    }
}

/// The fast path of [`parse_content_digest`]: every member `key=:base64:` in the canonical subset
/// (see [`sf::canonical`]), decoded without building a dictionary. `None` when the field is
/// outside that subset; the general parser then decides.
fn parse_canonical(value: &str, only: Option<&str>) -> Option<Result<ExpectedDigest>> {
    let b = value.as_bytes();
    let mut first_error: Option<crate::Error> = None;
    let mut found = Found::default();
    sf::canonical::dictionary(value, |key, start| {
        let end = sf::canonical::byte_sequence(b, start)?;
        let mut buf = [0u8; 72];
        let n = sf::canonical::decode_into(b.get(start + 1..end - 1)?, &mut buf)?;
        if first_error.is_some() || only.is_some_and(|k| k != key) {
            return Some(end);
        }
        if let Some(algorithm) = algorithm_of(key)
            && let Err(e) = found.add(algorithm, &buf[..n])
        {
            first_error = Some(e);
        }
        Some(end)
    })?;
    Some(match first_error {
        Some(e) => Err(e),
        None => found.into_expected(),
    })
}

fn parse_general(value: &str, only: Option<&str>) -> Result<ExpectedDigest> {
    let dict =
        sf::parse_dictionary(value).map_err(|e| crate::Error::new(ErrorCode::MalformedHeader, format!("Content-Digest: {e}")))?;
    let mut found = Found::default();
    for (key, member) in dict {
        if only.is_some_and(|k| k != key) {
            continue;
        }
        let Some(algorithm) = algorithm_of(key) else { continue };
        let Member::Item(item) = member else {
            return fail(ErrorCode::MalformedHeader, "Content-Digest member is not a byte sequence");
        };
        let Bare::ByteSequence(bytes) = item.bare else {
            return fail(ErrorCode::MalformedHeader, "Content-Digest member is not a byte sequence");
        };
        found.add(algorithm, &bytes)?;
    }
    found.into_expected()
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
    /// Both at once, for a binding that carries both digests. Boxed: the rare case should not
    /// make every verification (which holds a hasher) larger.
    Both(Box<(Sha256, Sha512)>),
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

    /// A fresh hasher for every algorithm `expected` names (see [`BodyHasher::matches_digest`]).
    #[must_use]
    pub fn for_digest(expected: &ExpectedDigest) -> Self {
        match expected.also {
            Some((other, _)) if other != expected.algorithm => BodyHasher::Both(Box::new((Sha256::new(), Sha512::new()))),
            _ => BodyHasher::new(expected.algorithm),
        }
    }

    /// Feeds a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            BodyHasher::Sha256(h) => h.update(chunk),
            BodyHasher::Sha512(h) => h.update(chunk),
            BodyHasher::Both(both) => {
                both.0.update(chunk);
                both.1.update(chunk);
            }
        }
    }

    /// The digest (for [`BodyHasher::Both`], the SHA-256 digest followed by the SHA-512 one).
    #[must_use]
    pub fn finalize(self) -> Vec<u8> {
        match self {
            BodyHasher::Sha256(h) => h.finalize().to_vec(),
            BodyHasher::Sha512(h) => h.finalize().to_vec(),
            BodyHasher::Both(both) => {
                let (a, b) = *both;
                [a.finalize().as_slice(), b.finalize().as_slice()].concat()
            }
        }
    }

    /// Constant-time comparison with the expected digest.
    #[must_use]
    pub fn matches(self, expected: &[u8]) -> bool {
        match self {
            BodyHasher::Sha256(h) => ct_eq(&h.finalize(), expected),
            BodyHasher::Sha512(h) => ct_eq(&h.finalize(), expected),
            BodyHasher::Both(..) => false,
        }
    }

    /// Whether the body matches every digest in `expected`, each compared in constant time. A
    /// hasher that lacks one of `expected`'s algorithms never matches.
    #[must_use]
    pub fn matches_digest(self, expected: &ExpectedDigest) -> bool {
        let (sha256, sha512) = match self {
            BodyHasher::Sha256(h) => (Some(h.finalize()), None),
            BodyHasher::Sha512(h) => (None, Some(h.finalize())),
            BodyHasher::Both(both) => {
                let (a, b) = *both;
                (Some(a.finalize()), Some(b.finalize()))
            }
        };
        let check = |algorithm: DigestAlgorithm, value: &[u8]| match algorithm {
            DigestAlgorithm::Sha256 => sha256.as_ref().is_some_and(|d| ct_eq(d, value)),
            DigestAlgorithm::Sha512 => sha512.as_ref().is_some_and(|d| ct_eq(d, value)),
        };
        // Both checks run: `&` does not short-circuit.
        check(expected.algorithm, &expected.value) & expected.also.as_ref().is_none_or(|(a, v)| check(*a, v))
    }
}

/// Constant-time equality; the lengths are public. Compared straight from the digest arrays: no
/// `Vec` per request.
fn ct_eq(got: &[u8], expected: &[u8]) -> bool {
    got.len() == expected.len() && bool::from(got.ct_eq(expected))
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

    const SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    const SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    const BODY: &[u8] = br#"{"hello": "world"}"#;

    #[test]
    fn keeps_every_supported_member_and_rejects_bad_values() {
        for both in [format!("{SHA512}, {SHA256}"), format!("{SHA256}, {SHA512}"), format!("md5=:AAAA:, {SHA512}, {SHA256}")] {
            let d = parse_content_digest(&both, None).unwrap();
            assert_eq!(d.algorithm, DigestAlgorithm::Sha256, "{both}");
            assert_eq!(d.also.as_ref().map(|(a, v)| (*a, v.len())), Some((DigestAlgorithm::Sha512, 64)), "{both}");
            let only = parse_content_digest(&both, Some("sha-512")).unwrap();
            assert_eq!((only.algorithm, only.also), (DigestAlgorithm::Sha512, None));
            assert_eq!(parse_content_digest(&both, Some("md5")).unwrap_err().code(), ErrorCode::UnsupportedDigest);
        }
        assert_eq!(
            parse_content_digest(SHA512, None).unwrap(),
            ExpectedDigest::one(DigestAlgorithm::Sha512, B64.decode(&SHA512[9..97]).unwrap())
        );
        assert_eq!(parse_content_digest(SHA256, Some("sha-512")).unwrap_err().code(), ErrorCode::UnsupportedDigest);
        assert_eq!(parse_content_digest("md5=:AAAA:", None).unwrap_err().code(), ErrorCode::UnsupportedDigest);
        assert_eq!(parse_content_digest("sha-256=:AAAA:", None).unwrap_err().code(), ErrorCode::MalformedHeader);
        // A malformed second member is refused even though the first one is fine.
        assert_eq!(
            parse_content_digest(&format!("{SHA256}, sha-512=:AAAA:"), None).unwrap_err().code(),
            ErrorCode::MalformedHeader
        );
        assert_eq!(parse_content_digest("sha-256=1", None).unwrap_err().code(), ErrorCode::MalformedHeader);
        assert_eq!(parse_content_digest("sha-256", None).unwrap_err().code(), ErrorCode::MalformedHeader);
    }

    #[test]
    fn every_digest_of_a_binding_must_match() {
        let wrong256 = content_digest_value(DigestAlgorithm::Sha256, b"other");
        let wrong512 = content_digest_value(DigestAlgorithm::Sha512, b"other");
        for (field, want) in [
            (format!("{SHA256}, {SHA512}"), true),
            (format!("{SHA512}, {SHA256}"), true),
            (format!("{SHA256}, {wrong512}"), false),
            (format!("{wrong512}, {SHA256}"), false),
            (format!("{wrong256}, {SHA512}"), false),
            (format!("{SHA512}, {wrong256}"), false),
            (SHA256.to_string(), true),
            (SHA512.to_string(), true),
        ] {
            let expected = parse_content_digest(&field, None).unwrap();
            let mut h = BodyHasher::for_digest(&expected);
            assert_eq!(matches!(h, BodyHasher::Both(..)), expected.also.is_some(), "{field}");
            for chunk in BODY.chunks(5) {
                h.update(chunk);
            }
            assert_eq!(h.matches_digest(&expected), want, "{field}");
        }
        // A hasher without one of the expected algorithms never matches.
        let both = parse_content_digest(&format!("{SHA256}, {SHA512}"), None).unwrap();
        let mut h = BodyHasher::new(DigestAlgorithm::Sha256);
        h.update(BODY);
        assert!(!h.matches_digest(&both));
        assert!(!BodyHasher::for_digest(&ExpectedDigest::default()).matches_digest(&ExpectedDigest::default()));
    }

    #[test]
    fn canonical_fields_take_the_fast_path() {
        let both = format!("{SHA512}, {SHA256}");
        for only in [None, Some("sha-256"), Some("sha-512")] {
            let fast = parse_canonical(&both, only).expect("canonical field");
            assert_eq!(format!("{fast:?}"), format!("{:?}", parse_general(&both, only)));
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
