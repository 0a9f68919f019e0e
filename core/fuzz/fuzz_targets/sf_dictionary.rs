//! RFC 8941 dictionary parser: never panics, and what it accepts re-serializes (with the crate's
//! canonical writers, as used for `@signature-params`) into a form that parses to the same thing.
#![no_main]

use hmac_guard::sf::{self, Member};
use libfuzzer_sys::fuzz_target;

fn serialize(dict: &[(&str, Member<'_>)]) -> String {
    let mut out = String::new();
    for (i, (k, m)) in dict.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        match m {
            Member::Item(item) => {
                sf::write_bare(&mut out, &item.bare);
                sf::write_params(&mut out, &item.params);
            }
            Member::InnerList(items, params) => sf::write_inner_list(&mut out, items, params),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    if let Ok(dict) = sf::parse_dictionary(&input) {
        let canonical = serialize(&dict);
        let again = sf::parse_dictionary(&canonical)
            .unwrap_or_else(|e| panic!("canonical form {canonical:?} of {input:?} does not parse: {e}"));
        assert_eq!(serialize(&again), canonical, "canonical form is not stable for {input:?}");
        for (_, member) in &dict {
            if let Member::Item(item) = member {
                let _ = (sf::as_str(&item.bare), sf::as_int(&item.bare));
            }
        }
    }
});
