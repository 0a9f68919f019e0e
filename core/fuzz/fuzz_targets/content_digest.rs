//! RFC 9530 `Content-Digest` parser: never panics; an accepted digest has its algorithm's length
//! and, when one member is asked for (`only`), is that member. The first input byte picks `only`.
#![no_main]

use hmac_guard::DigestAlgorithm;
use hmac_guard::digest::parse_content_digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let only = [None, None, Some("sha-256"), Some("sha-512"), Some("md5")][usize::from(selector) % 5];
    let input = String::from_utf8_lossy(rest);
    if let Ok(d) = parse_content_digest(&input, only) {
        let (len, key) = match d.algorithm {
            DigestAlgorithm::Sha256 => (32, "sha-256"),
            DigestAlgorithm::Sha512 => (64, "sha-512"),
        };
        assert_eq!(d.value.len(), len, "{input:?}");
        if let Some(only) = only {
            assert_eq!(only, key, "{input:?}");
        }
    }
});
