//! `RequestHead::content_length` on arbitrary (repeated, comma-joined) values: never panics, and an
//! accepted length is what every listed value says.
#![no_main]

use hmac_guard::{ErrorCode, RequestHead};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|values: Vec<String>| {
    let head = values.iter().fold(RequestHead::default(), |h, v| h.with_header("Content-Length", v.clone()));
    match head.content_length() {
        Ok(None) => assert!(values.is_empty()),
        Ok(Some(n)) => {
            for v in &values {
                for part in v.split(',') {
                    assert_eq!(part.trim_matches([' ', '\t']).parse::<u64>().ok(), Some(n), "{values:?}");
                }
            }
        }
        Err(e) => assert_eq!(e.code(), ErrorCode::MalformedHeader),
    }
    let _ = head.announces_body();
});
