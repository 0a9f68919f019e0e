//! Shared by the Rust demo servers (actix/examples/actix_demo.rs, axum/examples/axum_demo.rs):
//! the demo keys, the guard from the one configuration contract (so `HMAC_GUARD_REDIS_URL`
//! switches the store, as in every binding), the key-control endpoint, the webhook answer,
//! `--port`. DEMO ONLY.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use hmac_guard::config::{Spelling, Value};
use hmac_guard::{GuardConfig, Verified};
use serde_json::{Value as Json, json};

fn keys() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/keys.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn key_value(k: &Json) -> Value {
    let mut entries = vec![("id", Value::str(k["id"].as_str().unwrap())), ("secret", Value::str(k["secret"].as_str().unwrap()))];
    if let Some(s) = k["subject"].as_str() {
        entries.push(("subject", Value::str(s)));
    }
    Value::map(entries)
}

/// A guard with the client keys loaded at start (`admin`: the key-control endpoint's own key
/// only), built by the core from plain options; the environment picks the replay store.
pub fn new_guard(admin: bool) -> hmac_guard::BuiltGuard {
    let k = keys();
    let list = if admin {
        vec![key_value(&k["admin"])]
    } else {
        k["clients"].as_array().unwrap().iter().filter(|c| c["loaded_at_start"] == true).map(key_value).collect()
    };
    let options = Value::map([("keys", Value::List(list))]);
    GuardConfig::from_options(&options, Spelling::Python).and_then(GuardConfig::build).unwrap_or_else(|e| {
        eprintln!("demo guard: {e}");
        std::process::exit(2)
    })
}

pub fn health(server: &str, built: &hmac_guard::BuiltGuard) -> Json {
    json!({"ok": true, "server": server, "pid": std::process::id(), "store": built.store_kind,
           "keys": built.guard.keys().ids(), "instance": std::env::var("HMAC_GUARD_DEMO_INSTANCE").ok()})
}

/// What a protected endpoint answers: the verified identity and the verified, parsed body.
pub fn accepted(server: &str, endpoint: &str, v: &Verified, body: &[u8]) -> Json {
    let body: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    json!({"server": server, "endpoint": endpoint, "key_id": v.key_id, "subject": v.subject, "body": body})
}

/// The webhook presets: every server receives `POST /hooks/<preset>` with the preset's secret.
pub const PRESETS: [&str; 6] = ["standard-webhooks", "svix", "stripe", "github", "slack", "shopify"];

/// The demo secret of a webhook preset, as the provider's dashboard would show it.
pub fn webhook_secret(preset: &str) -> String {
    keys()["webhook_secrets"][preset].as_str().unwrap().to_owned()
}

static HANDLED: [AtomicU64; PRESETS.len()] = [const { AtomicU64::new(0) }; PRESETS.len()];

/// What a webhook handler answers (200): the verified delivery and how often this handler ran
/// in this process (for its preset).
pub fn delivered(server: &str, provider: &str, id: Option<&str>, event_type: Option<&str>, secret_id: &str) -> Json {
    let i = PRESETS.iter().position(|p| *p == provider).unwrap();
    let handled = HANDLED[i].fetch_add(1, Ordering::SeqCst) + 1;
    json!({"server": server, "provider": provider, "id": id, "type": event_type, "secret_id": secret_id, "handled": handled})
}

/// `PUT /admin/keys/<id>` loads client key `id` from demo/keys.json, `DELETE` removes it; only
/// for requests the admin guard verified. Returns `(status, body)`.
pub fn control_keys(guard: &hmac_guard::Guard, verified: Option<&Verified>, method: &str, id: &str) -> (u16, Json) {
    let k = keys();
    if verified.is_none_or(|v| Some(v.key_id.as_str()) != k["admin"]["id"].as_str()) {
        return (403, json!({"error": {"code": "DEMO_FORBIDDEN", "message": "admin key required"}}));
    }
    let Some(spec) = k["clients"].as_array().unwrap().iter().find(|c| c["id"] == id) else {
        return (404, json!({"error": {"code": "DEMO_NO_SUCH_KEY", "message": "not a demo client key"}}));
    };
    match method {
        "PUT" => guard.keys().upsert(hmac_guard::config::key_spec(&key_value(spec), Spelling::Python).unwrap()).unwrap(),
        "DELETE" if !guard.keys().remove(id) => {
            return (404, json!({"error": {"code": "DEMO_NO_SUCH_KEY", "message": "key not loaded"}}));
        }
        "DELETE" => {}
        _ => return (405, json!({"error": {"code": "DEMO_METHOD", "message": "PUT or DELETE"}})),
    }
    println!("demo key control: {method} {id} -> keys now {}", guard.keys().ids().join(", "));
    (200, json!({"keys": guard.keys().ids()}))
}

/// `--port N` (default `default`).
pub fn port_arg(default: u16) -> u16 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--port") {
        None => default,
        Some(i) => args.get(i + 1).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            eprintln!("--port: not a port number");
            std::process::exit(2)
        }),
    }
}
