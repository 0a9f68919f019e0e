//! Redis claims per second with 64 in flight, and their latency: the async client driven by
//! futures (`PendingReplay::claim_async`, as Node and the ASGI path use it) against 64 threads
//! each making blocking claims (`PendingReplay::claim`, as WSGI workers do), both on the store's
//! one multiplexed connection. Starts its own redis-server (`REDIS_SERVER`, default `redis-server`).
//!
//! ```text
//! cargo run --release -p hmac-guard --features redis --example redis_claims [-- 20000]
//! ```
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac_guard::{
    Algorithm, Guard, KeyRing, KeySpec, RedisStore, RedisStoreConfig, RequestHead, Rfc9421, Rfc9421SignOptions, Signer,
};

const IN_FLIGHT: usize = 64;

fn main() {
    let n: usize = std::env::args().nth(1).map_or(20_000, |a| a.parse().unwrap());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let mut redis = Command::new(&bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let secret = b"redis-claims-bench-secret-0123456789abcdef".to_vec();
    let guard = {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("k1", secret.clone(), Algorithm::HmacSha256)).unwrap();
        let store = RedisStore::new(RedisStoreConfig::new(format!("redis://127.0.0.1:{port}/0"))).unwrap();
        Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).store(Arc::new(store)).build().unwrap()
    };
    let signer = Signer::new(KeySpec::new("k1", secret, Algorithm::HmacSha256)).unwrap();
    let sign = || {
        let mut head = RequestHead::new("POST", "/pay", "https", vec![("Host".into(), "api.example".into())]);
        head.headers.extend(signer.sign_rfc9421(&head, b"{}", &Rfc9421SignOptions::default()).unwrap());
        head
    };
    let pending = |head: &RequestHead| {
        let mut v = guard.begin(head).unwrap();
        v.update(b"{}").unwrap();
        v.finish_body().unwrap()
    };
    // Warm the connection and the marker.
    pending(&sign()).claim().unwrap();

    for round in 0..3 {
        // Async: 64 futures in flight on one tokio thread.
        let heads: Vec<RequestHead> = (0..n).map(|_| sign()).collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let started = Instant::now();
        let mut latencies: Vec<Duration> = rt.block_on(async {
            let mut out = Vec::with_capacity(n);
            for chunk in heads.chunks(IN_FLIGHT) {
                let mut set = tokio::task::JoinSet::new();
                for h in chunk {
                    let p = pending(h);
                    set.spawn(async move {
                        let t = Instant::now();
                        p.claim_async().await.unwrap();
                        t.elapsed()
                    });
                }
                while let Some(t) = set.join_next().await {
                    out.push(t.unwrap());
                }
            }
            out
        });
        report(round, "async, 64 futures", n, started.elapsed(), &mut latencies);

        // Blocking: 64 threads, each claiming in turn.
        let heads: Vec<RequestHead> = (0..n).map(|_| sign()).collect();
        let started = Instant::now();
        let mut latencies: Vec<Duration> = std::thread::scope(|s| {
            let handles: Vec<_> = heads
                .chunks(n.div_ceil(IN_FLIGHT))
                .map(|chunk| {
                    s.spawn(|| {
                        chunk
                            .iter()
                            .map(|h| {
                                let p = pending(h);
                                let t = Instant::now();
                                p.claim().unwrap();
                                t.elapsed()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        report(round, "blocking, 64 threads", n, started.elapsed(), &mut latencies);
    }
    let _ = redis.kill();
    let _ = redis.wait();
}

fn report(round: usize, what: &str, n: usize, took: Duration, latencies: &mut [Duration]) {
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "round {round}  {what:<22} {:>8.0} claims/s   p50 {:>7.0} µs   p99 {:>7.0} µs",
        n as f64 / took.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
}
