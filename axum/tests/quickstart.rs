//! The README's quick start is `examples/axum_quickstart.rs`, byte for byte, and it works: served
//! on 127.0.0.1, a request signed by hmac-guard's signer is accepted once, then refused.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/axum_quickstart.rs"]
mod quickstart;

use hmac_guard::{Algorithm, KeySpec, RequestHead, Rfc9421SignOptions, Signer};
use std::io::{Read, Write};

const SECRET: &str = "quickstart-secret-0123456789abcdef0123456789";

#[test]
fn the_readme_quick_start_is_the_example() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/axum_quickstart.rs")).unwrap();
    let block = readme.split("```rust,no_run\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    assert_eq!(block, example, "README.md's quick start differs from examples/axum_quickstart.rs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_accepts_a_signed_request_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, quickstart::app(SECRET)).await.unwrap() });
    let replies = tokio::task::spawn_blocking(move || {
        let body = br#"{"sku":"A-1"}"#;
        let mut head = RequestHead::new("POST", "/orders", "http", vec![("Host".into(), addr.to_string())]);
        let signer = Signer::new(KeySpec::new("partner-a", SECRET, Algorithm::HmacSha256)).unwrap();
        head.headers.extend(signer.sign_rfc9421(&head, body, &Rfc9421SignOptions::default()).unwrap());
        let mut raw = format!("POST /orders HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (n, v) in &head.headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n{\"sku\":\"A-1\"}");
        (0..2)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.write_all(raw.as_bytes()).unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                out
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(
        replies[0].starts_with("HTTP/1.1 201") && replies[0].ends_with("order from partner:a: 13 verified bytes\n"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("HTTP/1.1 401") && replies[1].contains("ERR_REPLAY"), "{}", replies[1]);
}
