//! The adapter suite (`tests/adapters/suite.rs`) against a real actix-web server on 127.0.0.1.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/adapters/suite.rs"]
mod suite;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac_guard::webhook::Preset;
use hmac_guard::{Guard, KeyRing, Policy, ReplayMode, ReplayStore, Rfc9421, Value, Verified};
use hmac_guard_actix::{Hmac, HmacGuard, VerifiedBody, Webhook};

fn guard(policy: Policy, store: Option<Arc<dyn ReplayStore>>) -> Guard {
    let keys = Arc::new(KeyRing::new());
    for spec in suite::key_specs() {
        keys.upsert(spec).unwrap();
    }
    let mut b = Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).policy(policy);
    if let Some(store) = store {
        b = b.store(store);
    }
    b.build().unwrap()
}

fn echo(v: &Verified, body: &[u8]) -> serde_json::Value {
    serde_json::json!({"key_id": v.key_id, "subject": v.subject, "len": body.len(), "sum": suite::checksum(body)})
}

async fn orders(Hmac(v): Hmac, body: web::Bytes) -> HttpResponse {
    HttpResponse::Created().json(echo(&v, &body))
}

async fn hooks(req: HttpRequest, VerifiedBody { verified, body }: VerifiedBody) -> HttpResponse {
    if req.headers().contains_key("x-fail") {
        return HttpResponse::InternalServerError().json(serde_json::json!({"failed": true}));
    }
    HttpResponse::Created().json(echo(&verified, &body))
}

/// The one-line receiver; on a Redis store through the same options when `redis_url` is given.
fn receiver(preset: Preset, redis_url: Option<&str>) -> HmacGuard {
    let secrets = suite::webhook_secrets(preset);
    let Some(url) = redis_url else { return HmacGuard::webhook(preset.name(), &secrets).unwrap() };
    let secrets = Value::List(secrets.iter().map(|s| Value::str(*s)).collect());
    HmacGuard::from_options(&Value::map([
        ("scheme", Value::str(preset.name())),
        ("secrets", secrets),
        ("redis_url", Value::str(url)),
    ]))
    .unwrap()
}

async fn webhook(req: HttpRequest, w: Webhook) -> HttpResponse {
    suite::WEBHOOK_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if req.headers().contains_key("x-fail") {
        return HttpResponse::InternalServerError().json(serde_json::json!({"failed": true}));
    }
    assert!(!req.headers().contains_key("x-panic"), "the handler panics (X-Panic)");
    if req.headers().contains_key("x-hold") {
        let _ = tokio::task::spawn_blocking(|| suite::GATE.hold()).await;
    }
    let parsed = w.payload::<serde_json::Value>().and_then(Result::ok);
    let (id, event_type) = (w.id.as_deref(), w.event_type.as_deref());
    HttpResponse::Ok().json(suite::webhook_echo(w.provider, id, event_type, w.json, &w.secret_id, &w.body, parsed))
}

/// Serves the suite's routes on a free port, on its own thread (actix runs its own runtime).
fn serve(store: Option<Arc<dyn ReplayStore>>, redis_url: Option<&str>) -> SocketAddr {
    let consume = guard(Policy::default(), store.clone());
    let reserve = guard(Policy { replay: ReplayMode::Reserve { hold_secs: 30 }, ..Policy::default() }, store);
    let receivers: Vec<(Preset, HmacGuard)> = Preset::ALL.into_iter().map(|p| (p, receiver(p, redis_url))).collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let mut app = App::new();
                for (preset, receiver) in &receivers {
                    let path = format!("/webhooks/{}", preset.name());
                    app = app.service(web::resource(path).wrap(receiver.clone()).route(web::post().to(webhook)));
                }
                app.service(web::resource("/orders").wrap(HmacGuard::new(consume.clone())).route(web::post().to(orders)))
                    .service(web::resource("/hooks").wrap(HmacGuard::new(reserve.clone())).route(web::post().to(hooks)))
                    .service(web::resource("/open").route(web::post().to(orders)))
                    .service(web::resource("/open/webhook").route(web::post().to(webhook)))
            })
            .workers(2)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    addr
}

#[test]
fn the_adapter_suite() {
    suite::run_all(serve(None, None), suite::TeCl::ServerRefuses, suite::ClientGone::HandlerFinishes);
}

#[test]
fn two_servers_on_one_redis_accept_exactly_one_of_100_copies() {
    let redis = suite::Redis::start();
    let store = || -> Option<Arc<dyn ReplayStore>> {
        Some(Arc::new(hmac_guard::RedisStore::new(hmac_guard::RedisStoreConfig::new(redis.url())).unwrap()))
    };
    let (a, b) = (serve(store(), Some(&redis.url())), serve(store(), Some(&redis.url())));
    assert_eq!(suite::concurrent_copies(&[a, b], 100), 1);
    suite::webhooks_across_servers(a, b);
}
