use actix_web::{App, HttpResponse, HttpServer, web};
use hmac_guard_actix::{HmacGuard, Webhook};

async fn stripe_event(event: Webhook) -> HttpResponse {
    // Verified over the raw bytes with one of the endpoint's secrets. Answer 2xx once handled: a
    // copy of this event is then answered 200 without running this again; an error lets Stripe retry.
    let kind = event.event_type.as_deref().unwrap_or("unknown");
    let payload: Option<serde_json::Value> = event.payload().and_then(Result::ok);
    let amount = payload.as_ref().and_then(|p| p["data"]["object"]["amount"].as_i64()).unwrap_or(0);
    HttpResponse::Ok().body(format!("{kind} {} amount {amount}\n", event.id.as_deref().unwrap_or("-")))
}

pub fn routes(secrets: &[&str]) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    // Several secrets while you roll one in Stripe's dashboard; 1 MiB body cap, 5 min tolerance.
    let receiver = HmacGuard::webhook("stripe", secrets).expect("Stripe signing secrets (whsec_...)");
    move |cfg| {
        cfg.service(web::resource("/webhooks/stripe").wrap(receiver.clone()).route(web::post().to(stripe_event)));
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let routes = routes(&[&std::env::var("STRIPE_WEBHOOK_SECRET").expect("STRIPE_WEBHOOK_SECRET")]);
    HttpServer::new(move || App::new().configure(routes.clone())).bind(("127.0.0.1", 3000))?.run().await
}
