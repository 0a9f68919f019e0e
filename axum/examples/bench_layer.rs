//! The guard's cost inside one axum server process, without the network: the same 1 KiB signed
//! POST through a plain route and a guarded one (`Router::oneshot`, one runtime thread), and the
//! core's `Guard::verify` alone, interleaved in blocks. Reported: median µs per request.
//!
//! ```sh
//! cargo run --release -p hmac-guard-axum --example bench_layer [-- 200000]
//! ```
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use hmac_guard::{Algorithm, Guard, KeyRing, KeySpec, RequestHead, Signer, Simple, SimpleSignOptions};
use hmac_guard_axum::{Hmac, HmacGuardLayer};
use tower::ServiceExt as _;

async fn plain(body: Bytes) -> String {
    format!("{}", body.len())
}

async fn guarded(Hmac(v): Hmac, body: Bytes) -> String {
    format!("{} {}", body.len(), v.key_id.len())
}

fn guard() -> Guard {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("k1", vec![0x42u8; 32], Algorithm::HmacSha256)).unwrap();
    Guard::builder().scheme(Arc::new(Simple)).keys(keys).build().unwrap()
}

fn main() {
    let n: usize = std::env::args().nth(1).map_or(200_000, |a| a.parse().unwrap());
    let signer = Signer::new(KeySpec::new("k1", vec![0x42u8; 32], Algorithm::HmacSha256)).unwrap();
    let body = Bytes::from(format!("{{\"data\":\"{}\"}}", "x".repeat(1024 - 11)));
    let signed: Vec<Vec<(String, String)>> =
        (0..n).map(|_| signer.sign_simple("POST", "/r", &body, &SimpleSignOptions::default()).unwrap()).collect();
    let request = |headers: &[(String, String)]| {
        let mut b = http::Request::builder().method("POST").uri("/r").header("host", "127.0.0.1");
        b = b.header("content-type", "application/json").header("content-length", body.len());
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Body::from(body.clone())).unwrap()
    };
    let plain_app = Router::new().route("/r", post(plain));
    let guarded_app = Router::new().route("/r", post(guarded).layer(HmacGuardLayer::new(guard())));
    let core = guard();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let block = 2000;
    let (mut t_plain, mut t_guarded, mut t_core) = (Vec::new(), Vec::new(), Vec::new());
    let (mut a, mut b, mut c) = (0, 0, 0);
    while c + block <= n {
        let reqs: Vec<_> = signed[a..a + block].iter().map(|h| request(h)).collect();
        let t = Instant::now();
        rt.block_on(async {
            for r in reqs {
                assert!(plain_app.clone().oneshot(r).await.unwrap().status().is_success());
            }
        });
        t_plain.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
        a += block;
        let reqs: Vec<_> = signed[b..b + block].iter().map(|h| request(h)).collect();
        let t = Instant::now();
        rt.block_on(async {
            for r in reqs {
                assert!(guarded_app.clone().oneshot(r).await.unwrap().status().is_success());
            }
        });
        t_guarded.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
        b += block;
        let heads: Vec<RequestHead> = signed[c..c + block]
            .iter()
            .map(|h| {
                let mut head = RequestHead::new("POST", "/r", "http", h.clone());
                head.headers.push(("content-length".into(), body.len().to_string()));
                head
            })
            .collect();
        let t = Instant::now();
        for h in &heads {
            core.verify(h, &body).unwrap();
        }
        t_core.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
        c += block;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, g, k) = (median(t_plain), median(t_guarded), median(t_core));
    println!("{n} requests, 1 KiB body, simple scheme, blocks of {block} interleaved; medians per request:");
    println!("  plain route          {p:6.2} µs");
    println!("  guarded route        {g:6.2} µs   (+{:.2} µs)", g - p);
    println!("  Guard::verify alone  {k:6.2} µs");
    println!("  the layer around the core: {:.2} µs", g - p - k);
}
