//! What a webhook delivery costs the core, per preset, against the simple scheme's verification of
//! the same body measured in the same run, and what each extra secret (rotation) adds.
//!
//! ```text
//! cargo run --release -p hmac-guard --example webhook_cost               # 1 KiB and 64 KiB, 20000 calls
//! cargo run --release -p hmac-guard --example webhook_cost -- 5000       # calls per contender
//! ```
//!
//! Every delivery is signed beforehand with its own event id (so each claim is new) and the
//! contenders run interleaved, call by call (in a new random order each time), so drift and
//! the memory one contender leaves warm for the next affect them alike. Reported: the median
//! wall-clock time per verification (head, body, MAC, delivery id and type, claim), and its ratio
//! to `simple` (a signed request of the same body). The 8-secret row signs with the last secret,
//! so every candidate's MAC runs over the body.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use hmac_guard::config::{Env, Spelling, Value};
use hmac_guard::webhook::{Preset, sign};
use hmac_guard::{Algorithm, Guard, GuardConfig, KeyRing, KeySpec, ManualClock, RequestHead, Signer, Simple, SimpleSignOptions};

const NOW: i64 = 1_800_000_000;

fn secret_for(preset: Preset, i: usize) -> String {
    match preset {
        Preset::StandardWebhooks | Preset::Svix => {
            use base64::Engine as _;
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([u8::try_from(i).unwrap() + 1; 32]))
        }
        _ => format!("whsec_secret-number-{i}-of-this-endpoint-0123456789"),
    }
}

fn webhook_guard(preset: Preset, secrets: &[String]) -> Guard {
    let o = Value::map([
        ("scheme", Value::str(preset.name())),
        ("secrets", Value::List(secrets.iter().map(|s| Value::str(s.as_str())).collect())),
        ("clock", Value::Clock(Arc::new(ManualClock::at_secs(NOW)))),
        ("body_limit", Value::Int(1 << 20)),
    ]);
    GuardConfig::from_options_in(&o, Spelling::Python, &Env::fixed(&[])).unwrap().build().unwrap().guard
}

/// A JSON body of about `size` bytes carrying `id` and a type.
fn body(size: usize, id: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":"evt_{id:012}","event_id":"Ev{id:010}","type":"invoice.paid","data":""#);
    let mut b = head.into_bytes();
    b.resize(size.saturating_sub(2).max(b.len()), b'x');
    b.extend_from_slice(b"\"}");
    b
}

struct Contender {
    name: String,
    guard: Guard,
    requests: Vec<(RequestHead, Vec<u8>)>,
    times: Vec<f64>,
}

fn webhook(preset: Preset, secrets: usize, size: usize, calls: usize) -> Contender {
    let all: Vec<String> = (0..secrets).map(|i| secret_for(preset, i)).collect();
    let signer = all.last().unwrap().as_str();
    let requests = (0..calls)
        .map(|i| {
            let b = body(size, i);
            let id = format!("msg_{i}");
            let mut headers = sign(preset, &[signer], &b, Some(NOW), Some(&id)).unwrap().headers;
            headers.push(("content-length".into(), b.len().to_string()));
            (RequestHead::new("POST", "/hooks", "https", headers), b)
        })
        .collect();
    let name = if secrets == 1 { preset.name().to_string() } else { format!("{} ({secrets} secrets)", preset.name()) };
    Contender { name, guard: webhook_guard(preset, &all), requests, times: Vec::with_capacity(calls) }
}

fn simple(size: usize, calls: usize) -> Contender {
    let secret = vec![0x5a; 32];
    let ring = KeyRing::new();
    ring.upsert(KeySpec::new("k", secret.clone(), Algorithm::HmacSha256)).unwrap();
    let guard = Guard::builder()
        .scheme(Arc::new(Simple))
        .keys(Arc::new(ring))
        .clock(Arc::new(ManualClock::at_secs(NOW)))
        .build()
        .unwrap();
    let signer = Signer::new(KeySpec::new("k", secret, Algorithm::HmacSha256)).unwrap();
    let requests = (0..calls)
        .map(|i| {
            let b = body(size, i);
            let o = SimpleSignOptions { timestamp: Some(NOW), nonce: Some(format!("nonce-{i:012}")) };
            let mut headers = signer.sign_simple("POST", "/hooks", &b, &o).unwrap();
            headers.push(("content-length".into(), b.len().to_string()));
            (RequestHead::new("POST", "/hooks", "https", headers), b)
        })
        .collect();
    Contender { name: "simple (signed request)".into(), guard, requests, times: Vec::with_capacity(calls) }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let calls: usize = std::env::args().nth(1).map_or(20_000, |a| a.parse().unwrap());
    for size in [1024, 64 * 1024] {
        let calls = if size > 4096 { calls / 8 } else { calls };
        let mut contenders = vec![simple(size, calls)];
        for preset in Preset::ALL {
            contenders.push(webhook(preset, 1, size, calls));
        }
        contenders.push(webhook(Preset::Stripe, 2, size, calls));
        contenders.push(webhook(Preset::Stripe, 8, size, calls));
        let n = contenders.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..calls {
            // A new order for every call (Fisher-Yates on a xorshift): who runs after whom decides
            // which memory is still warm, and no contender should always follow the same one.
            for j in (1..n).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(j, usize::try_from(seed % (j as u64 + 1)).unwrap());
            }
            for &k in &order {
                let c = &mut contenders[k];
                let (head, b) = &c.requests[i];
                let t = Instant::now();
                black_box(c.guard.verify(head, b).unwrap());
                c.times.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        println!("body {} KiB, {calls} calls each, median µs per verification (ratio to simple):", size / 1024);
        let base = median(&mut contenders[0].times.clone());
        for c in &mut contenders {
            let m = median(&mut c.times);
            println!("  {:<28} {m:>9.2} µs  {:>5.2}x", c.name, m / base);
        }
    }
}
