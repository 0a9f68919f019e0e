//! The simple scheme's `prepare` on heads built from fuzz input.
#![no_main]

use fuzz_support::{FuzzHead, policy};
use hmac_guard::{Scheme, Simple};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (FuzzHead, u8)| {
    let (head, selector) = input;
    let head = head.head();
    let limits = policy(selector).header_limits;
    if let Ok(p) = Simple.prepare(&head, &limits) {
        assert_eq!(p.scheme, "simple");
        assert!(p.nonce.is_some() && p.created.is_some());
        let _ = format!("{p:?}");
    }
});
