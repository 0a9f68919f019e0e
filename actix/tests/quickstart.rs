//! The README's quick start is `examples/actix_quickstart.rs`, byte for byte, and it works: served
//! on 127.0.0.1, a request signed by hmac-guard's signer is accepted once, then refused.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/actix_quickstart.rs"]
mod quickstart;

use std::io::{Read, Write};

use actix_web::{App, HttpServer};
use hmac_guard::{Algorithm, KeySpec, RequestHead, Rfc9421SignOptions, Signer};

const SECRET: &str = "quickstart-secret-0123456789abcdef0123456789";

#[test]
fn the_readme_quick_start_is_the_example() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/actix_quickstart.rs")).unwrap();
    let block = readme.split("```rust,no_run\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
    assert_eq!(block, example, "README.md's quick start differs from examples/actix_quickstart.rs");
}

#[test]
fn the_quick_start_accepts_a_signed_request_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let guard = quickstart::guard(SECRET);
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || App::new().configure(quickstart::routes(guard.clone())));
            server.workers(1).listen(listener).unwrap().run().await.unwrap();
        });
    });
    let body = br#"{"sku":"A-1"}"#;
    let mut head = RequestHead::new("POST", "/orders", "http", vec![("Host".into(), addr.to_string())]);
    let signer = Signer::new(KeySpec::new("partner-a", SECRET, Algorithm::HmacSha256)).unwrap();
    head.headers.extend(signer.sign_rfc9421(&head, body, &Rfc9421SignOptions::default()).unwrap());
    let mut raw = format!("POST /orders HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in &head.headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\n{\"sku\":\"A-1\"}");
    let replies: Vec<String> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(raw.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .collect();
    assert!(
        replies[0].starts_with("HTTP/1.1 201") && replies[0].ends_with("order from partner:a: 13 verified bytes\n"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("HTTP/1.1 401") && replies[1].contains("ERR_REPLAY"), "{}", replies[1]);
}
