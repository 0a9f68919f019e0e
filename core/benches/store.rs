//! Replay-store benchmarks (see docs/benchmarks.md for the commands and the numbers).
//!
//! `MemoryStore::insert_if_absent` of distinct nonces into the default store (capacity 1 M) that
//! already holds 500 k live entries of another key id, so inserts probe a half-full table:
//! - `single`: one thread;
//! - `contended_2t`: two threads inserting into the same store at once (the machine has 2 cores);
//!   reported as aggregate inserts/s.
//!
//! Nonces are pre-generated into one contiguous buffer. When the 400 k batch is used up, its
//! entries are purged outside the timed region (they expire long before the background ones), so
//! the store never fills and no insert is a replay.
//!
//! `single_cache_resident` is the same single-threaded insert into a store of capacity 64 k
//! (a 2 MiB table that stays in cache), to separate the cost of the code from the cost of the
//! cache misses of a large table.
//!
//! Timing is wall-clock by default; `HG_BENCH_CLOCK=cpu` times thread CPU time instead (for
//! `contended_2t`: the larger of the two threads' CPU times, i.e. the aggregate rate if both
//! ran in parallel; time spent parked on a lock is then not counted).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Duration;

use bench_clock::BenchClock;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac_guard::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};

const NOW_MS: i64 = 1_700_000_000_000;
const TTL_MS: u64 = 300_000;
const BACKGROUND: usize = 500_000;
const BACKGROUND_TTL_MS: u64 = 1_000_000_000;
const PURGE_AT_MS: i64 = NOW_MS + 10_000_000;
const BATCH: usize = 400_000;
/// 22 characters, like a base64url 128-bit nonce.
const NONCE_LEN: usize = 22;

/// `count` distinct fixed-length nonces in one buffer.
struct Nonces(String);

impl Nonces {
    fn new(count: usize) -> Self {
        let mut s = String::with_capacity(count * NONCE_LEN);
        for i in 0..count {
            s.push_str(&format!("n{i:0>21}"));
        }
        Nonces(s)
    }

    fn len(&self) -> usize {
        self.0.len() / NONCE_LEN
    }

    fn get(&self, i: usize) -> &str {
        &self.0[i * NONCE_LEN..(i + 1) * NONCE_LEN]
    }
}

/// A store of `capacity` holding `background` live entries of another key id.
fn store_with(capacity: usize, background: usize) -> MemoryStore {
    let store = MemoryStore::new(MemoryStoreConfig { capacity, ..MemoryStoreConfig::default() }).unwrap();
    for i in 0..background {
        let nonce = format!("background-{i:012}");
        store
            .insert_if_absent(&ReplayKey { scheme: "rfc9421", key_id: "background", nonce: &nonce }, BACKGROUND_TTL_MS, NOW_MS)
            .unwrap();
    }
    store
}

/// Inserts nonces `from..to`; returns the thread's clock reading for the inserts.
fn insert_range(clock: &BenchClock, store: &MemoryStore, nonces: &Nonces, from: usize, to: usize) -> Duration {
    let start = clock.now();
    for i in from..to {
        let key = ReplayKey { scheme: "rfc9421", key_id: "client-key-1", nonce: nonces.get(i) };
        store.insert_if_absent(black_box(&key), TTL_MS, NOW_MS).unwrap();
    }
    clock.now().saturating_sub(start)
}

/// Runs `iters` inserts spread over `threads` threads (1 or 2), timing only the inserts.
fn run(clock: &BenchClock, store: &MemoryStore, nonces: &Nonces, next: &mut usize, iters: u64, threads: usize) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        if *next == nonces.len() {
            store.purge_expired(PURGE_AT_MS);
            *next = 0;
        }
        let n = left.min(nonces.len() - *next);
        let (from, to) = (*next, *next + n);
        if threads == 1 {
            total += insert_range(clock, store, nonces, from, to);
        } else {
            let mid = from + n / 2;
            let barrier = Barrier::new(2);
            total += std::thread::scope(|s| {
                let helper = s.spawn(|| {
                    barrier.wait();
                    insert_range(clock, store, nonces, mid, to)
                });
                barrier.wait();
                let wall_start = clock.now();
                let mine = insert_range(clock, store, nonces, from, mid);
                let theirs = helper.join().unwrap();
                if clock.is_cpu() { mine.max(theirs) } else { clock.now().saturating_sub(wall_start) }
            });
        }
        *next += n;
        left -= n;
    }
    total
}

fn inserts(c: &mut Criterion<BenchClock>) {
    let clock = BenchClock::from_env();
    let nonces = Nonces::new(BATCH);
    let small = Nonces::new(40_000);
    let mut group = c.benchmark_group("store_insert");
    group.throughput(Throughput::Elements(1));
    let cases: [(&str, usize, usize, &Nonces, usize); 3] = [
        ("single", 1_000_000, BACKGROUND, &nonces, 1),
        ("contended_2t", 1_000_000, BACKGROUND, &nonces, 2),
        ("single_cache_resident", 65_536, 20_000, &small, 1),
    ];
    for (name, capacity, background, nonces, threads) in cases {
        let store = store_with(capacity, background);
        let mut next = 0;
        // One untimed pass so the tables have reached their steady size.
        run(&clock, &store, nonces, &mut next, nonces.len() as u64, 1);
        group.bench_function(name, |b| b.iter_custom(|iters| run(&clock, &store, nonces, &mut next, iters, threads)));
    }
    group.finish();
}

fn config() -> Criterion<BenchClock> {
    let clock = BenchClock::from_env();
    eprintln!("timing with the {} clock", if clock.is_cpu() { "thread CPU-time" } else { "wall" });
    Criterion::default().with_measurement(clock).warm_up_time(Duration::from_millis(700)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = inserts }
criterion_main!(benches);

#[path = "common/clock.rs"]
mod bench_clock;
