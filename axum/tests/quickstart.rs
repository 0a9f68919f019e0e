//! The README's quick start is `examples/axum_quickstart.rs`, byte for byte, and it works: served
//! on 127.0.0.1, a request signed by hmac-guard's signer is accepted once, then refused. The same
//! for the "Webhooks" section's block (`examples/webhook_quickstart.rs`): a Stripe delivery is
//! handled once, its copy answered 200 without the handler.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/axum_quickstart.rs"]
mod quickstart;

#[allow(dead_code)]
#[path = "../examples/webhook_quickstart.rs"]
mod webhook_quickstart;

use hmac_guard::{Algorithm, KeySpec, RequestHead, Rfc9421SignOptions, Signer};
use std::io::{Read, Write};

/// Sends `raw` on two fresh connections, one after the other; the two replies, whole.
fn send_twice(addr: std::net::SocketAddr, raw: &[u8]) -> Vec<String> {
    (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(raw).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .collect()
}

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
        send_twice(addr, raw.as_bytes())
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

const STRIPE_SECRET: &str = "whsec_quickstart_0123456789abcdef";

/// The first ```rust,no_run block after `heading` in the README.
fn block_after(heading: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split(heading).nth(1).unwrap_or_else(|| panic!("README.md has no {heading:?}"));
    section.split("```rust,no_run\n").nth(1).and_then(|b| b.split("```").next()).unwrap().to_string()
}

#[test]
fn the_readme_webhook_quick_start_is_the_example() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhook_quickstart.rs")).unwrap();
    assert_eq!(block_after("\n## Webhooks\n"), example, "README.md's Webhooks block differs from examples/webhook_quickstart.rs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_quick_start_handles_a_stripe_delivery_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, webhook_quickstart::app(&[STRIPE_SECRET])).await.unwrap() });
    let replies = tokio::task::spawn_blocking(move || {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}"#;
        let preset = hmac_guard::webhook::Preset::Stripe;
        let signed = hmac_guard::webhook::sign(preset, &[STRIPE_SECRET], body, None, None).unwrap();
        let mut raw =
            format!("POST /webhooks/stripe HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (n, v) in &signed.headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        let mut raw = raw.into_bytes();
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(body);
        send_twice(addr, &raw)
    })
    .await
    .unwrap();
    assert!(
        replies[0].starts_with("HTTP/1.1 200") && replies[0].ends_with("payment_intent.succeeded evt_1 amount 2000\n"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("HTTP/1.1 200") && replies[1].contains("ERR_DUPLICATE_DELIVERY"), "{}", replies[1]);
}
