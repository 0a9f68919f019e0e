//! The axum demo server (`make demo`): the routes every demo server has (demo/README.md).
//! DEMO ONLY: its keys are the public ones in demo/keys.json.
//!
//! ```sh
//! cargo run --release -p hmac-guard-axum --example axum_demo -- --port 9090
//! ```
#![allow(clippy::unwrap_used)]

#[path = "../../demo/servers/demo_common.rs"]
mod demo_common;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post, put};
use hmac_guard::BuiltGuard;
use hmac_guard_axum::{Hmac, HmacGuardLayer, Webhook};

async fn accept(Hmac(v): Hmac, uri: Uri, body: Bytes) -> impl IntoResponse {
    (StatusCode::CREATED, Json(demo_common::accepted("axum", uri.path(), &v, &body)))
}

async fn admin(State(g): State<Arc<BuiltGuard>>, Hmac(v): Hmac, method: Method, Path(id): Path<String>) -> impl IntoResponse {
    let (status, body) = demo_common::control_keys(&g.guard, Some(&v), method.as_str(), &id);
    (StatusCode::from_u16(status).unwrap(), Json(body))
}

async fn hook(w: Webhook) -> impl IntoResponse {
    // Verified over the raw bytes; a copy of a handled delivery is answered 200
    // ERR_DUPLICATE_DELIVERY by the layer without calling this again.
    Json(demo_common::delivered("axum", w.provider, w.id.as_deref(), w.event_type.as_deref(), &w.secret_id))
}

async fn health(State(g): State<Arc<BuiltGuard>>) -> impl IntoResponse {
    Json(demo_common::health("axum", &g))
}

#[tokio::main]
async fn main() {
    let port = demo_common::port_arg(9090);
    let built = Arc::new(demo_common::new_guard(false));
    let admin_guard = demo_common::new_guard(true);
    let client = HmacGuardLayer::from_built(&built).url_scheme("http");
    let admin_layer = HmacGuardLayer::from_built(&admin_guard).url_scheme("http");
    let app = Router::new()
        .route("/health", get(health))
        .route("/orders", post(accept).layer(client.clone()))
        .route("/refunds", post(accept).layer(client))
        .route("/admin/keys/{id}", put(admin).delete(admin).layer(admin_layer));
    // One webhook receiver per provider preset.
    let app = demo_common::PRESETS
        .iter()
        .fold(app, |app, &p| {
            let receiver = HmacGuardLayer::webhook(p, &[&demo_common::webhook_secret(p)]).unwrap();
            app.route(&format!("/hooks/{p}"), post(hook).layer(receiver))
        })
        .with_state(built);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
