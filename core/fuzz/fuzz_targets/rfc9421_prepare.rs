//! RFC 9421 `prepare` (Signature-Input / Signature parsing, components, signature base) on heads
//! built from fuzz input, with the default and a relaxed policy and several header limits.
#![no_main]

use fuzz_support::{FuzzHead, policy, relaxed_rfc9421};
use hmac_guard::{Rfc9421, Scheme};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzHead, u8)| {
    let (head, selector) = input;
    let head = head.head();
    let limits = policy(selector).header_limits;
    for scheme in [Rfc9421::default(), relaxed_rfc9421()] {
        if let Ok(p) = scheme.prepare(&head, &limits) {
            assert!(p.covered.len() <= limits.max_components);
            for (id, value) in p.covered.iter() {
                assert!(value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)), "{id}: {value:?}");
            }
            let _ = format!("{p:?}");
        }
    }
});
