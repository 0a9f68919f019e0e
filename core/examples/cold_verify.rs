//! One verification with cold caches, as in a busy server, against the same call in a hot loop.
//!
//! ```text
//! cargo run --release -p hmac-guard --example cold_verify                   # 16 MiB, 3000 calls
//! cargo run --release -p hmac-guard --example cold_verify -- 8 2000         # MiB swept, calls
//! ```
//!
//! Between two requests a server runs hundreds of µs of other code that evicts the verifier's
//! code and data from the L1/L2 caches; the criterion benches time calls in a tight loop, where
//! everything stays hot. Here a sweep over a large buffer (one written byte per cache line) runs
//! before every timed call. Each request is signed beforehand with its own nonce; the contenders
//! (`Guard::verify` for both schemes, and SHA-256 of the 1 KiB body alone for scale) are
//! interleaved call by call. Reported: medians of wall-clock time per call, cold and hot. The
//! Node and Python figures for the same effect are in docs/benchmarks.md ("End to end, resolved").
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use hmac_guard::{
    Algorithm, Guard, KeyRing, KeySpec, ManualClock, MemoryStore, MemoryStoreConfig, RequestHead, Rfc9421, Rfc9421SignOptions,
    Scheme, Signer, Simple, SimpleSignOptions,
};
use sha2::{Digest, Sha256};

// The criterion benches' request, so cold and hot numbers describe the same work.
#[path = "../benches/common/request.rs"]
mod bench_request;
use bench_request::{base_head, body};

const T0: i64 = 1_700_000_000;
const SECRET: [u8; 32] = [0x5a; 32];

fn guard(scheme: Arc<dyn Scheme>) -> Guard {
    let ring = KeyRing::new();
    ring.upsert(KeySpec::new("k", SECRET.to_vec(), Algorithm::HmacSha256)).unwrap();
    Guard::builder()
        .scheme(scheme)
        .keys(Arc::new(ring))
        .clock(Arc::new(ManualClock::at_secs(T0)))
        .store(Arc::new(MemoryStore::new(MemoryStoreConfig::default()).unwrap()))
        .build()
        .unwrap()
}

fn signed(scheme: &str, body: &[u8], count: usize, round: usize) -> Vec<RequestHead> {
    let signer = Signer::new(KeySpec::new("k", SECRET.to_vec(), Algorithm::HmacSha256)).unwrap();
    let base = base_head(body.len());
    (0..count)
        .map(|i| {
            let nonce = Some(format!("cold-{round}-{i:010}"));
            let extra = if scheme == "simple" {
                let opts = SimpleSignOptions { timestamp: Some(T0), nonce };
                signer.sign_simple(&base.method, &base.target, body, &opts).unwrap()
            } else {
                let opts = Rfc9421SignOptions { created: Some(T0), nonce, ..Rfc9421SignOptions::default() };
                signer.sign_rfc9421(&base, body, &opts).unwrap()
            };
            let mut head = base.clone();
            head.headers.extend(extra);
            head
        })
        .collect()
}

/// Writes one byte per cache line of `buf`: evicts rather than shares the lines.
fn sweep(buf: &mut [u8]) {
    for i in (0..buf.len()).step_by(64) {
        buf[i] = buf[i].wrapping_add(1);
    }
    black_box(&buf);
}

/// Median µs per call of each contender, `calls` calls each, interleaved; `buf` swept first if given.
fn run(calls: usize, body: &[u8], round: usize, mut buf: Option<&mut [u8]>) -> [f64; 3] {
    let guards = [guard(Arc::new(Simple)), guard(Arc::new(Rfc9421::default()))];
    let heads = [signed("simple", body, calls, round), signed("rfc9421", body, calls, round)];
    let mut times: [Vec<f64>; 3] = Default::default();
    for (i, (simple, rfc9421)) in heads[0].iter().zip(&heads[1]).enumerate() {
        for k in 0..3 {
            let which = (i + k) % 3;
            if let Some(b) = buf.as_deref_mut() {
                sweep(b);
            }
            let start = Instant::now();
            if which < 2 {
                black_box(guards[which].verify([simple, rfc9421][which], body).unwrap());
            } else {
                black_box(Sha256::digest(black_box(body)));
            }
            times[which].push(start.elapsed().as_nanos() as f64 / 1000.0);
        }
    }
    times.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).map_or(16, |s| s.parse().unwrap());
    let calls: usize = args.get(2).map_or(3000, |s| s.parse().unwrap());
    let body = body(1024);
    let mut buf = vec![0u8; mib << 20];
    run(calls.min(500), &body, 0, None); // warm-up
    let hot = run(calls, &body, 1, None);
    let cold = run(calls, &body, 2, Some(&mut buf));
    println!("{mib} MiB swept before every cold call, {calls} calls each, 1 KiB body; median µs per call");
    for (k, name) in ["Guard::verify, simple", "Guard::verify, rfc9421", "SHA-256 of the body alone"].iter().enumerate() {
        println!("  {name:<28} cold {:6.2} µs   hot {:5.2} µs", cold[k], hot[k]);
    }
}
