//! Verification benchmarks (see docs/benchmarks.md for the commands and the numbers).
//!
//! - `verify_1k/*`: a POST with a 1 KiB body, full verification on the real path (`Guard::verify`:
//!   parse, key lookup, window, MAC, body digest, nonce claim). Every iteration uses a request with
//!   a fresh nonce, signed before the timed loop; the replay store is really inserted into. When
//!   the pre-signed batch is used up, its nonces are purged from the store *outside* the timed
//!   region and the batch is reused, so the store never fills and never sees a replay.
//! - `verify_1k/crypto_floor_*`: HMAC-SHA256 over a signature base of the size each scheme
//!   produces plus SHA-256 of the 1 KiB body, with the raw `hmac`/`sha2` crates: the part no
//!   implementation can avoid.
//! - `stream/*`: `Verification::update` over an 8 MiB body in 16 KiB and 64 KiB chunks, then the
//!   digest check (`finish_body`); reported in bytes/s. `stream/sha2_raw_*` is the `sha2` crate
//!   alone on the same chunks.
//!
//! Timing is wall-clock by default; `HG_BENCH_CLOCK=cpu` times the thread's CPU time instead
//! (for shared, loaded machines; see `bench_clock`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bench_clock::BenchClock;
use bench_request::{base_head, body};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use hmac_guard::{
    Algorithm, Guard, KeyRing, KeySpec, ManualClock, MemoryStore, MemoryStoreConfig, Policy, ReplayKey, ReplayStore, RequestHead,
    Rfc9421, Rfc9421SignOptions, Signer, Simple, SimpleSignOptions,
};
use sha2::{Digest, Sha256};

/// Fixed "now" (Unix seconds) for the guard and the signer.
const T0: i64 = 1_700_000_000;
const SECRET: [u8; 32] = [0x5a; 32];
const KEY_ID: &str = "bench-key";
/// Requests signed ahead of time per scheme (each with its own nonce).
const BATCH: usize = 50_000;
/// Entries kept live in the store the whole time, so inserts probe a half-full table.
const BACKGROUND: usize = 500_000;
/// Pool entries live about `max_age_secs` (300 s); background entries live far longer.
const PURGE_AT_MS: i64 = (T0 + 10_000) * 1000;
const BACKGROUND_TTL_MS: u64 = 1_000_000_000;

fn key_ring() -> Arc<KeyRing> {
    let ring = KeyRing::new();
    ring.upsert(KeySpec::new(KEY_ID, SECRET.to_vec(), Algorithm::HmacSha256)).unwrap();
    Arc::new(ring)
}

fn signer() -> Signer {
    Signer::new(KeySpec::new(KEY_ID, SECRET.to_vec(), Algorithm::HmacSha256)).unwrap()
}

/// The default-capacity store (1 M entries), holding `BACKGROUND` live entries of another key.
fn steady_store() -> Arc<MemoryStore> {
    let store = MemoryStore::new(MemoryStoreConfig::default()).unwrap();
    for i in 0..BACKGROUND {
        let nonce = format!("background-{i:012}");
        let key = ReplayKey { scheme: "rfc9421", key_id: "background", nonce: &nonce };
        store.insert_if_absent(&key, BACKGROUND_TTL_MS, T0 * 1000).unwrap();
    }
    Arc::new(store)
}

fn with_headers(mut head: RequestHead, extra: Vec<(String, String)>) -> RequestHead {
    head.headers.extend(extra);
    head
}

fn nonce(i: usize) -> String {
    format!("bench-nonce-{i:010}")
}

fn sign_rfc9421(signer: &Signer, head: &RequestHead, body: &[u8], nonce: String) -> RequestHead {
    let opts = Rfc9421SignOptions { created: Some(T0), nonce: Some(nonce), ..Rfc9421SignOptions::default() };
    with_headers(head.clone(), signer.sign_rfc9421(head, body, &opts).unwrap())
}

fn guard(scheme: Arc<dyn hmac_guard::Scheme>, store: Arc<MemoryStore>, policy: Policy) -> Guard {
    Guard::builder()
        .scheme(scheme)
        .keys(key_ring())
        .clock(Arc::new(ManualClock::at_secs(T0)))
        .policy(policy)
        .store(store)
        .build()
        .unwrap()
}

/// Times `iters` verifications, walking the pre-signed batch; purges the batch's nonces (untimed)
/// whenever it wraps around.
fn run_batch(
    clock: &BenchClock,
    guard: &Guard,
    store: &MemoryStore,
    batch: &[RequestHead],
    body: &[u8],
    next: &mut usize,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        if *next == batch.len() {
            store.purge_expired(PURGE_AT_MS);
            *next = 0;
        }
        let n = left.min(batch.len() - *next);
        let start = clock.now();
        for head in &batch[*next..*next + n] {
            black_box(guard.verify(black_box(head), black_box(body)).unwrap());
        }
        total += clock.now().saturating_sub(start);
        *next += n;
        left -= n;
    }
    total
}

fn verify_1k(c: &mut Criterion<BenchClock>) {
    let clock = BenchClock::from_env();
    let body = body(1024);
    let head = base_head(body.len());
    let signer = signer();
    let mut group = c.benchmark_group("verify_1k");
    group.throughput(Throughput::Elements(1));

    {
        let store = steady_store();
        let guard = guard(Arc::new(Rfc9421::default()), Arc::clone(&store), Policy::default());
        let batch: Vec<RequestHead> = (0..BATCH).map(|i| sign_rfc9421(&signer, &head, &body, nonce(i))).collect();
        // One untimed pass so the tables have reached their steady size.
        let mut next = 0;
        run_batch(&clock, &guard, &store, &batch, &body, &mut next, BATCH as u64);
        group.bench_function("rfc9421", |b| {
            b.iter_custom(|iters| run_batch(&clock, &guard, &store, &batch, &body, &mut next, iters))
        });
    }

    {
        let store = steady_store();
        let guard = guard(Arc::new(Simple), Arc::clone(&store), Policy::default());
        let batch: Vec<RequestHead> = (0..BATCH)
            .map(|i| {
                let opts = SimpleSignOptions { timestamp: Some(T0), nonce: Some(nonce(i)) };
                with_headers(head.clone(), signer.sign_simple(&head.method, &head.target, &body, &opts).unwrap())
            })
            .collect();
        let mut next = 0;
        run_batch(&clock, &guard, &store, &batch, &body, &mut next, BATCH as u64);
        group.bench_function("simple", |b| {
            b.iter_custom(|iters| run_batch(&clock, &guard, &store, &batch, &body, &mut next, iters))
        });
    }

    {
        // A signature base of the size the RFC 9421 request above produces.
        let signed = sign_rfc9421(&signer, &head, &body, nonce(0));
        let input = signed.values("signature-input").next().unwrap().split_once('=').unwrap().1.to_string();
        let base = format!(
            "\"@method\": POST\n\"@authority\": api.example.com\n\"@path\": /v1/orders\n\"@query\": ?customer=42\n\
             \"content-digest\": {}\n\"@signature-params\": {input}",
            signed.values("content-digest").next().unwrap()
        );
        // The simple scheme's canonical string for the same request.
        let simple_base = hmac_guard::simple::canonical_string(
            &head.method,
            &head.target,
            &T0.to_string(),
            &nonce(0),
            KEY_ID,
            &hmac_guard::digest::sha256_hex(&body),
        );
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&SECRET).unwrap();
        for (name, base) in [("crypto_floor_rfc9421", base.as_bytes()), ("crypto_floor_simple", simple_base.as_bytes())] {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let digest = Sha256::digest(black_box(&body));
                    let mut m = mac.clone();
                    m.update(black_box(base));
                    black_box((digest, m.finalize().into_bytes()))
                });
            });
        }
    }
    group.finish();
}

fn stream(c: &mut Criterion<BenchClock>) {
    const LEN: usize = 8 * 1024 * 1024;
    let body = body(LEN);
    let head = sign_rfc9421(&signer(), &base_head(LEN), &body, nonce(0));
    let policy = Policy { body_limit: 16 * 1024 * 1024, ..Policy::default() };
    let store = Arc::new(MemoryStore::new(MemoryStoreConfig::default()).unwrap());
    let guard = guard(Arc::new(Rfc9421::default()), store, policy);

    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(20);
    for chunk in [16 * 1024, 64 * 1024] {
        let kib = chunk / 1024;
        // `finish_body` checks the digest but leaves the nonce unclaimed, so one head serves
        // every iteration.
        group.bench_function(format!("update_{kib}k"), |b| {
            b.iter_batched(
                || guard.begin(&head).unwrap(),
                |mut v| {
                    for c in body.chunks(chunk) {
                        v.update(black_box(c)).unwrap();
                    }
                    v.finish_body().unwrap()
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(format!("sha2_raw_{kib}k"), |b| {
            b.iter(|| {
                let mut h = Sha256::new();
                for c in body.chunks(chunk) {
                    h.update(black_box(c));
                }
                black_box(h.finalize())
            });
        });
    }
    group.finish();
}

fn config() -> Criterion<BenchClock> {
    let clock = BenchClock::from_env();
    eprintln!("timing with the {} clock", if clock.is_cpu() { "thread CPU-time" } else { "wall" });
    Criterion::default().with_measurement(clock).warm_up_time(Duration::from_millis(700)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = verify_1k, stream }
criterion_main!(benches);

#[path = "common/clock.rs"]
mod bench_clock;
#[path = "common/request.rs"]
mod bench_request;
