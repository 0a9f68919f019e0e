//! One route, `POST /r`, for the end-to-end harness (`axum/examples/bench_http.rs`): guarded by
//! hmac-guard (simple scheme, in-memory store) with `--guard`, else plain; one worker.
//!
//! ```sh
//! target/release/examples/actix_bench_server --port 8080 [--guard]
//! ```
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, Simple};
use hmac_guard_actix::{Hmac, HmacGuard};

async fn plain(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(format!("{}", body.len()))
}

async fn guarded(Hmac(v): Hmac, body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {}", body.len(), v.key_id.len()))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.iter().position(|a| a == "--port").map_or(8080, |i| args[i + 1].parse().unwrap());
    let guard = args.iter().any(|a| a == "--guard").then(|| {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("k1", vec![0x42u8; 32], Algorithm::HmacSha256)).unwrap();
        Guard::builder().scheme(Arc::new(Simple)).keys(keys).build().unwrap()
    });
    HttpServer::new(move || {
        let app = App::new();
        match &guard {
            Some(g) => app.service(web::resource("/r").wrap(HmacGuard::new(g.clone())).route(web::post().to(guarded))),
            None => app.service(web::resource("/r").route(web::post().to(plain))),
        }
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
