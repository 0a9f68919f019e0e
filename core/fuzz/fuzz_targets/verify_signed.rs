//! Full verification of validly signed requests after a few fuzz-chosen edits (headers, method,
//! target, body). Unedited, a template must verify; edited, every oracle must hold.
#![no_main]

use fuzz_support::{Mutation, check_request, policy, templates};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, u8, Vec<Mutation>, Vec<u16>)| {
    let (which, selector, mutations, cuts) = input;
    let t = &templates()[usize::from(which) % templates().len()];
    let (mut head, mut body) = (t.head.clone(), t.body.clone());
    for m in mutations.iter().take(4) {
        m.apply(&mut head, &mut body);
    }
    let policy = policy(selector);
    let verdict = check_request(t.scheme, policy, &head, &body, &cuts);
    if mutations.is_empty() && policy == hmac_guard::Policy::default() {
        assert_eq!(verdict, None, "an unedited signed request must verify");
    }
});
