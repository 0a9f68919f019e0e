use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, Rfc9421};
use hmac_guard_actix::{Hmac, HmacGuard};

async fn create_order(Hmac(verified): Hmac, body: web::Bytes) -> HttpResponse {
    // The identity is the subject of the key that signed, never a field the client sent.
    let who = verified.subject.as_deref().unwrap_or_default();
    HttpResponse::Created().body(format!("order from {who}: {} verified bytes\n", body.len()))
}

pub fn guard(secret: &str) -> Guard {
    let keys = Arc::new(KeyRing::new());
    let key = KeySpec::new("partner-a", secret, Algorithm::HmacSha256).with_subject("partner:a");
    keys.upsert(key).expect("a secret of at least 32 bytes");
    Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).build().expect("guard")
}

pub fn routes(guard: Guard) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        let signed = HmacGuard::new(guard.clone());
        cfg.service(web::resource("/orders").wrap(signed).route(web::post().to(create_order)));
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let guard = guard(&std::env::var("PARTNER_A_SECRET").expect("PARTNER_A_SECRET"));
    HttpServer::new(move || App::new().configure(routes(guard.clone()))).bind(("127.0.0.1", 3000))?.run().await
}
