//! The request the benchmarks and `examples/cold_verify.rs` verify: a JSON POST with four
//! ordinary headers, so hot (criterion) and cold numbers describe the same work.

use hmac_guard::RequestHead;

/// A JSON-looking body of `len` bytes.
pub fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"{\"order\":[1,2,3],\"note\":\"abcdefghijklmnopqrstuvwxyz\"}"[i % 52]).collect()
}

/// The unsigned head for a body of `len` bytes.
pub fn base_head(len: usize) -> RequestHead {
    RequestHead::new(
        "POST",
        "/v1/orders?customer=42",
        "https",
        vec![
            ("Host".into(), "api.example.com".into()),
            ("Content-Type".into(), "application/json".into()),
            ("Content-Length".into(), len.to_string()),
            ("User-Agent".into(), "bench/1.0".into()),
        ],
    )
}
