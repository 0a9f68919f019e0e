//! Full verification (`verify`, streaming `begin`/`update`/`finish`, `explain`) of arbitrary heads
//! and bodies, with every oracle in `fuzz_support::check_request`.
#![no_main]

use fuzz_support::{FuzzHead, SchemeChoice, check_request, policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (SchemeChoice, u8, FuzzHead, Vec<u8>, Vec<u16>)| {
    let (scheme, selector, head, body, cuts) = input;
    check_request(scheme, policy(selector), &head.head(), &body, &cuts);
});
