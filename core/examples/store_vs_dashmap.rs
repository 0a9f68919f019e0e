//! The in-process replay store against `DashMap` (foldhash), side by side: insert-if-absent of
//! distinct nonces with a 300 s TTL until N live entries, each (store, N) in a fresh child process;
//! ns per insert over the fill and bytes per entry (RSS growth). The DashMap variant keeps only
//! what a replay check needs (a 64-bit fingerprint of scheme, key id and nonce, and an expiry) and
//! none of the store's guarantees (hard capacity, fail closed when full, per-key quota,
//! reclamation of expired entries on the caller's thread).
//!
//! ```text
//! cargo run --release -p hmac-guard --example store_vs_dashmap            # 1 M and 10 M, 3 runs
//! ```
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::hash::BuildHasher as _;
use std::process::Command;
use std::time::Instant;

use hmac_guard::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};

const NOW_MS: i64 = 1_700_000_000_000;
const TTL_MS: u64 = 300_000;

fn vm_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn run(which: &str, n: usize) {
    let rss = vm_rss_bytes();
    let mut nonce = String::with_capacity(32);
    let started;
    match which {
        "store" => {
            let store = MemoryStore::new(MemoryStoreConfig { capacity: n + n / 16, ..MemoryStoreConfig::default() }).unwrap();
            started = Instant::now();
            for i in 0..n {
                nonce.clear();
                write!(nonce, "nonce-{i:016x}").unwrap();
                store.insert_if_absent(&ReplayKey { scheme: "rfc9421", key_id: "k1", nonce: &nonce }, TTL_MS, NOW_MS).unwrap();
            }
            report(which, n, started, rss);
            drop(store);
        }
        _ => {
            let hasher = foldhash::fast::RandomState::default();
            let map: dashmap::DashMap<u64, i64, foldhash::fast::RandomState> =
                dashmap::DashMap::with_hasher(foldhash::fast::RandomState::default());
            started = Instant::now();
            let expiry = NOW_MS + i64::try_from(TTL_MS).unwrap();
            for i in 0..n {
                nonce.clear();
                write!(nonce, "nonce-{i:016x}").unwrap();
                let fp = hasher.hash_one(("rfc9421", "k1", nonce.as_str()));
                match map.entry(fp) {
                    dashmap::Entry::Occupied(mut e) if *e.get() <= NOW_MS => {
                        e.insert(expiry);
                    }
                    dashmap::Entry::Occupied(_) => panic!("replay"),
                    dashmap::Entry::Vacant(v) => {
                        v.insert(expiry);
                    }
                }
            }
            report(which, n, started, rss);
            drop(map);
        }
    }
}

fn report(which: &str, n: usize, started: Instant, rss_before: u64) {
    let ns = started.elapsed().as_nanos() as f64 / n as f64;
    let bytes = (vm_rss_bytes().saturating_sub(rss_before)) as f64 / n as f64;
    println!("{which:<8} {n:>9} live entries   {ns:6.1} ns/insert   {bytes:5.1} B/entry");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let (Some(which), Some(n)) = (args.get(1), args.get(2)) {
        run(which, n.parse().unwrap());
        return;
    }
    let me = std::env::current_exe().unwrap();
    for round in 0..3 {
        println!("round {round}");
        for n in ["1000000", "10000000"] {
            for which in ["store", "dashmap"] {
                let out = Command::new(&me).args([which, n]).output().unwrap();
                print!("  {}", String::from_utf8_lossy(&out.stdout));
            }
        }
    }
}
