use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hmac_guard_axum::{HmacGuardLayer, Webhook};

async fn stripe_event(event: Webhook) -> (StatusCode, String) {
    // Verified over the raw bytes with one of the endpoint's secrets. Answer 2xx once handled: a
    // copy of this event is then answered 200 without running this again; an error lets Stripe retry.
    let kind = event.event_type.as_deref().unwrap_or("unknown");
    let payload: Option<serde_json::Value> = event.payload().and_then(Result::ok);
    let amount = payload.as_ref().and_then(|p| p["data"]["object"]["amount"].as_i64()).unwrap_or(0);
    (StatusCode::OK, format!("{kind} {} amount {amount}\n", event.id.as_deref().unwrap_or("-")))
}

pub fn app(secrets: &[&str]) -> Router {
    // Several secrets while you roll one in Stripe's dashboard; 1 MiB body cap, 5 min tolerance.
    let receiver = HmacGuardLayer::webhook("stripe", secrets).expect("Stripe signing secrets (whsec_...)");
    Router::new().route("/webhooks/stripe", post(stripe_event).layer(receiver))
}

#[tokio::main]
async fn main() {
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET").expect("STRIPE_WEBHOOK_SECRET");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.expect("port 3000");
    axum::serve(listener, app(&[&secret])).await.expect("server");
}
