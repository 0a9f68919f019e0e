use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, Rfc9421};
use hmac_guard_axum::{Hmac, HmacGuardLayer};

async fn create_order(Hmac(verified): Hmac, body: Bytes) -> (StatusCode, String) {
    // The identity is the subject of the key that signed, never a field the client sent.
    let who = verified.subject.as_deref().unwrap_or_default();
    (StatusCode::CREATED, format!("order from {who}: {} verified bytes\n", body.len()))
}

pub fn app(secret: &str) -> Router {
    let keys = Arc::new(KeyRing::new());
    let key = KeySpec::new("partner-a", secret, Algorithm::HmacSha256).with_subject("partner:a");
    keys.upsert(key).expect("a secret of at least 32 bytes");
    let guard = Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).build().expect("guard");
    // The layer goes outside any request decompression: the MAC covers the bytes on the wire.
    Router::new().route("/orders", post(create_order).layer(HmacGuardLayer::new(guard).url_scheme("http")))
}

#[tokio::main]
async fn main() {
    let secret = std::env::var("PARTNER_A_SECRET").expect("PARTNER_A_SECRET");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.expect("port 3000");
    axum::serve(listener, app(&secret)).await.expect("server");
}
