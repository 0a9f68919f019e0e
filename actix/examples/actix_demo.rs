//! The actix-web demo server (`make demo`): the routes every demo server has (demo/README.md).
//! DEMO ONLY: its keys are the public ones in demo/keys.json.
//!
//! ```sh
//! cargo run --release -p hmac-guard-actix --example actix_demo -- --port 8080
//! ```
#![allow(clippy::unwrap_used)]

#[path = "../../demo/servers/demo_common.rs"]
mod demo_common;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac_guard::BuiltGuard;
use hmac_guard_actix::{Hmac, HmacGuard, Webhook};

async fn accept(Hmac(v): Hmac, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    HttpResponse::Created().json(demo_common::accepted("actix", req.path(), &v, &body))
}

async fn admin(Hmac(v): Hmac, req: HttpRequest, id: web::Path<String>, guard: web::Data<Arc<BuiltGuard>>) -> HttpResponse {
    let (status, body) = demo_common::control_keys(&guard.guard, Some(&v), req.method().as_str(), &id);
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(body)
}

async fn hook(w: Webhook) -> HttpResponse {
    // Verified over the raw bytes; a copy of a handled delivery is answered 200
    // ERR_DUPLICATE_DELIVERY by the middleware without calling this again.
    HttpResponse::Ok().json(demo_common::delivered("actix", w.provider, w.id.as_deref(), w.event_type.as_deref(), &w.secret_id))
}

async fn health(guard: web::Data<Arc<BuiltGuard>>) -> HttpResponse {
    HttpResponse::Ok().json(demo_common::health("actix", &guard))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = demo_common::port_arg(8080);
    let built = Arc::new(demo_common::new_guard(false));
    let admin_guard = demo_common::new_guard(true);
    let admin_mw = HmacGuard::from_built(&admin_guard);
    // One webhook receiver per provider preset, built once: both workers share its replay store.
    let hooks: Vec<(&str, HmacGuard)> =
        demo_common::PRESETS.iter().map(|&p| (p, HmacGuard::webhook(p, &[&demo_common::webhook_secret(p)]).unwrap())).collect();
    HttpServer::new(move || {
        let client = HmacGuard::from_built(&built);
        let hooks = hooks.clone();
        App::new()
            .app_data(web::Data::new(Arc::clone(&built)))
            .service(web::resource("/health").route(web::get().to(health)))
            .service(web::resource("/orders").wrap(client.clone()).route(web::post().to(accept)))
            .service(web::resource("/refunds").wrap(client).route(web::post().to(accept)))
            .service(
                web::resource("/admin/keys/{id}")
                    .wrap(admin_mw.clone())
                    .route(web::put().to(admin))
                    .route(web::delete().to(admin)),
            )
            .configure(move |cfg| {
                for (preset, receiver) in hooks {
                    cfg.service(web::resource(format!("/hooks/{preset}")).wrap(receiver).route(web::post().to(hook)));
                }
            })
    })
    .workers(2)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
