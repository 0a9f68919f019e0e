//! One route, `POST /r`, for the end-to-end harness (`bench_http.rs`): guarded by hmac-guard
//! (simple scheme, in-memory store) with `--guard`, else plain; one runtime thread.
//!
//! ```sh
//! target/release/examples/axum_bench_server --port 9090 [--guard]
//! ```
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, Simple};
use hmac_guard_axum::{Hmac, HmacGuardLayer};

async fn plain(body: Bytes) -> String {
    format!("{}", body.len())
}

async fn guarded(Hmac(v): Hmac, body: Bytes) -> String {
    format!("{} {}", body.len(), v.key_id.len())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.iter().position(|a| a == "--port").map_or(9090, |i| args[i + 1].parse().unwrap());
    let app = if args.iter().any(|a| a == "--guard") {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("k1", vec![0x42u8; 32], Algorithm::HmacSha256)).unwrap();
        let guard = Guard::builder().scheme(Arc::new(Simple)).keys(keys).build().unwrap();
        Router::new().route("/r", post(guarded).layer(HmacGuardLayer::new(guard)))
    } else {
        Router::new().route("/r", post(plain))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
