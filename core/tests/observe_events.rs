//! Runs `tests/observe/events.json`: the events and stats every language must report.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use hmac_guard::config::{Spelling, Value};
use hmac_guard::{Algorithm, Event, GuardConfig, KeySpec, ManualClock, Reporter, RequestHead, Rfc9421SignOptions, Signer};
use serde_json::Value as Json;

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<Json>>);

impl Reporter for Collect {
    fn report(&self, event: &Event<'_>) {
        self.0.lock().unwrap().push(serde_json::from_str(&event.to_json(Spelling::Python)).unwrap());
    }
}

fn cases() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/observe/events.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn option(v: &Json, secret: &str) -> Value {
    match v {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Int(n.as_i64().unwrap()),
        Json::String(s) => Value::str(s.replace("$secret", secret)),
        Json::Array(items) => Value::List(items.iter().map(|i| option(i, secret)).collect()),
        Json::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), option(v, secret))).collect()),
        Json::Null => Value::Null,
    }
}

fn sign(secret: &str, key_id: &str, nonce: &str, created: i64, body: &[u8]) -> RequestHead {
    let signer = Signer::new(KeySpec::new(key_id, secret.as_bytes(), Algorithm::HmacSha256)).unwrap();
    let mut head = RequestHead::new(
        "POST",
        "/orders",
        "https",
        vec![("Host".into(), "example.com".into()), ("Content-Type".into(), "application/json".into())],
    );
    let opts = Rfc9421SignOptions { created: Some(created), nonce: Some(nonce.into()), ..Rfc9421SignOptions::default() };
    head.headers.extend(signer.sign_rfc9421(&head, body, &opts).unwrap());
    head
}

#[test]
fn every_step_reports_its_event_and_the_stats_add_up() {
    let c = cases();
    let secret = c["secret"].as_str().unwrap();
    let now = c["now"].as_i64().unwrap();
    let Value::Map(canonical) = option(&c["options"], secret) else { panic!("options") };
    // Canonical ids spelled as Python keywords (`observe.log_rate` -> `log_rate`).
    let mut options: Vec<(String, Value)> =
        canonical.into_iter().map(|(id, v)| (hmac_guard::config::field(&id).name(Spelling::Python).to_string(), v)).collect();
    options.push(("clock".into(), Value::Clock(Arc::new(ManualClock::at_secs(now)))));
    let built = GuardConfig::from_options(&Value::Map(options), Spelling::Python).unwrap().build().unwrap();
    assert!(built.observe.reports());
    let guard = built.guard;
    let events = Arc::new(Collect::default());
    guard.monitor().set_reporter(Arc::clone(&events) as Arc<dyn Reporter>);

    for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
        let nonce = step["nonce"].as_str().unwrap_or("nonce-unsigned");
        let body = b"{}".to_vec();
        let (head, sent) = match step["send"].as_str().unwrap() {
            "valid" => (sign(secret, "k1", nonce, now, &body), body),
            "tampered" => (sign(secret, "k1", nonce, now, &body), b"{!".to_vec()),
            "unknown_key" => (sign(secret, "stranger", nonce, now, &body), body),
            "unsigned" => {
                let mut h = sign(secret, "k1", nonce, now, &body);
                h.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("signature") && !n.eq_ignore_ascii_case("signature-input"));
                (h, body)
            }
            "expired" => (sign(secret, "k1", nonce, now - 1000, &body), body),
            "too_large" => {
                let big = vec![b'a'; 1_048_577];
                (sign(secret, "k1", nonce, now, &big), big)
            }
            other => panic!("unknown send {other}"),
        };
        let _ = guard.verify(&head, &sent);
        let got = std::mem::take(&mut *events.0.lock().unwrap());
        assert_eq!(got.len(), 1, "step {i}: {got:?}");
        let event = &got[0];
        for (k, want) in step["event"].as_object().unwrap() {
            assert_eq!(&event[k], want, "step {i} ({}): {k} in {event}", step["send"]);
        }
        assert!(event["message"].as_str().unwrap().starts_with("hmac-guard: "));
        assert!(event["duration_ms"].is_f64() || event["duration_ms"].is_u64());
        assert!(!event.to_string().contains(secret), "step {i}: the secret in {event}");
    }
    let stats: Json = serde_json::from_str(&guard.monitor().stats_json(Spelling::Python, guard.keys())).unwrap();
    for (k, want) in c["stats"].as_object().unwrap() {
        assert_eq!(&stats[k], want, "stats {k} in {stats}");
    }
}
