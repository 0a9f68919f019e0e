//! The worked examples in SPEC.md, verified as written there.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, ManualClock, RequestHead, Signer, Simple, SimpleSignOptions};

const SECRET: &[u8] = b"hmac-guard-spec-example-secret-0123456789";
const BODY: &[u8] = br#"{"amount": 10}"#;
const DIGEST: &str = "7f8b279ef4be0909382db4442750f8eb84f2874cf43c826a86acffb6dc28c84d";
const SIGNATURE: &str = "6a436e80a6ece88955a49db374c8c821a85e5ce96ec8683cbf0edd34358b4c96";

fn headers() -> Vec<(String, String)> {
    [
        ("Host", "api.example.com"),
        ("Content-Type", "application/json"),
        ("Content-Length", "14"),
        ("X-HMAC-Key-Id", "demo-key"),
        ("X-HMAC-Timestamp", "1700000000"),
        ("X-HMAC-Nonce", "n0nce-8f3a2c1d"),
        ("X-HMAC-Content-SHA256", DIGEST),
        ("X-HMAC-Signature", SIGNATURE),
    ]
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .to_vec()
}

#[test]
fn simple_scheme_worked_example_verifies() {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("demo-key", SECRET, Algorithm::HmacSha256)).unwrap();
    let clock = Arc::new(ManualClock::at_secs(1_700_000_010));
    let guard = Guard::builder().scheme(Arc::new(Simple)).keys(keys).clock(clock).build().unwrap();
    let head = RequestHead::new("POST", "/orders?id=7", "https", headers());
    let v = guard.verify(&head, BODY).unwrap();
    assert_eq!(v.key_id, "demo-key");
    let ex = guard.explain(&head, Some(BODY));
    assert_eq!(
        ex.signature_base.as_deref(),
        Some(format!("HG1\nPOST\n/orders?id=7\n1700000000\nn0nce-8f3a2c1d\ndemo-key\n{DIGEST}").as_str())
    );
}

#[test]
fn simple_signer_reproduces_the_worked_example() {
    let signer = Signer::new(KeySpec::new("demo-key", SECRET, Algorithm::HmacSha256)).unwrap();
    let opts = SimpleSignOptions { timestamp: Some(1_700_000_000), nonce: Some("n0nce-8f3a2c1d".into()) };
    let out = signer.sign_simple("POST", "/orders?id=7", BODY, &opts).unwrap();
    let get = |n: &str| out.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    assert_eq!(get("x-hmac-content-sha256"), Some(DIGEST));
    assert_eq!(get("x-hmac-signature"), Some(SIGNATURE));
}
