//! The adapter suite (`tests/adapters/suite.rs`) against a real axum server on 127.0.0.1.
#![allow(clippy::unwrap_used)]

#[path = "../../tests/adapters/suite.rs"]
mod suite;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::post;
use hmac_guard::webhook::Preset;
use hmac_guard::{Guard, KeyRing, Policy, ReplayMode, Rfc9421, Value, Verified};
use hmac_guard_axum::{Hmac, HmacGuardLayer, VerifiedBody, Webhook};

fn guard(policy: Policy, store: Option<Arc<dyn hmac_guard::ReplayStore>>) -> Guard {
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

fn echo(v: &Verified, body: &[u8]) -> Json<serde_json::Value> {
    Json(serde_json::json!({"key_id": v.key_id, "subject": v.subject, "len": body.len(), "sum": suite::checksum(body)}))
}

async fn orders(Hmac(v): Hmac, body: Bytes) -> impl IntoResponse {
    (StatusCode::CREATED, echo(&v, &body))
}

async fn hooks(headers: HeaderMap, VerifiedBody { verified, body }: VerifiedBody) -> impl IntoResponse {
    if headers.contains_key("x-fail") {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"failed": true})));
    }
    (StatusCode::CREATED, echo(&verified, &body))
}

async fn webhook(headers: HeaderMap, w: Webhook) -> impl IntoResponse {
    suite::WEBHOOK_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if headers.contains_key("x-fail") {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"failed": true})));
    }
    assert!(!headers.contains_key("x-panic"), "the handler panics (X-Panic)");
    if headers.contains_key("x-hold") {
        let _ = tokio::task::spawn_blocking(|| suite::GATE.hold()).await;
    }
    let parsed = w.payload::<serde_json::Value>().and_then(Result::ok);
    let (id, event_type) = (w.id.as_deref(), w.event_type.as_deref());
    (StatusCode::OK, Json(suite::webhook_echo(w.provider, id, event_type, w.json, &w.secret_id, &w.body, parsed)))
}

/// The one-line receiver; on a Redis store through the same options when `redis_url` is given.
fn receiver(preset: Preset, redis_url: Option<&str>) -> HmacGuardLayer {
    let secrets = suite::webhook_secrets(preset);
    let Some(url) = redis_url else { return HmacGuardLayer::webhook(preset.name(), &secrets).unwrap() };
    let secrets = Value::List(secrets.iter().map(|s| Value::str(*s)).collect());
    let options = Value::map([("scheme", Value::str(preset.name())), ("secrets", secrets), ("redis_url", Value::str(url))]);
    HmacGuardLayer::from_options(&options).unwrap()
}

fn app(store: Option<Arc<dyn hmac_guard::ReplayStore>>, redis_url: Option<&str>) -> Router {
    let consume = HmacGuardLayer::new(guard(Policy::default(), store.clone())).url_scheme("http");
    let reserve = Policy { replay: ReplayMode::Reserve { hold_secs: 30 }, ..Policy::default() };
    let reserve = HmacGuardLayer::new(guard(reserve, store)).url_scheme("http");
    let mut router = Router::new();
    for preset in Preset::ALL {
        router = router.route(&format!("/webhooks/{}", preset.name()), post(webhook).layer(receiver(preset, redis_url)));
    }
    router
        .route("/orders", post(orders).layer(consume))
        .route("/hooks", post(hooks).layer(reserve))
        .route("/open", post(orders))
        .route("/open/webhook", post(webhook))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_suite() {
    let addr = serve(app(None, None)).await;
    tokio::task::spawn_blocking(move || suite::run_all(addr, suite::TeCl::TransferEncodingWins, suite::ClientGone::Released))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_redis_accept_exactly_one_of_100_copies() {
    let redis = suite::Redis::start();
    let store = || -> Option<Arc<dyn hmac_guard::ReplayStore>> {
        Some(Arc::new(hmac_guard::RedisStore::new(hmac_guard::RedisStoreConfig::new(redis.url())).unwrap()))
    };
    let a = serve(app(store(), Some(&redis.url()))).await;
    let b = serve(app(store(), Some(&redis.url()))).await;
    let accepted = tokio::task::spawn_blocking(move || suite::concurrent_copies(&[a, b], 100)).await.unwrap();
    assert_eq!(accepted, 1);
    tokio::task::spawn_blocking(move || suite::webhooks_across_servers(a, b)).await.unwrap();
    drop(redis);
}
