//! Bytes per entry of the in-process replay store at 1 M and 10 M live entries.
//!
//! ```text
//! cargo run --release -p hmac-guard --example store_memory            # 1 M and 10 M
//! cargo run --release -p hmac-guard --example store_memory -- 5000000 # one size
//! ```
//!
//! Each size runs in a fresh child process (this executable re-run with the size as its
//! argument), so one measurement's freed memory cannot hide in the next one's RSS. For N live
//! entries it reports `MemoryStore::table_bytes() / N` and the growth of the process's resident
//! set (`VmRSS` in /proc/self/status, read before the store is built and after the N-th insert)
//! divided by N. Nonces are formatted into one reused buffer, so the only memory that grows is
//! the store's.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use hmac_guard::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};

const NOW_MS: i64 = 1_700_000_000_000;
/// Far longer than the run: every entry stays live.
const TTL_MS: u64 = 3_600_000;

fn vm_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[allow(clippy::cast_precision_loss)]
fn measure(entries: usize) {
    // Headroom for uneven shards: the store fails closed when one shard is full, and a
    // capacity exactly equal to N would refuse a few inserts just before N.
    let config = MemoryStoreConfig { capacity: entries + entries / 16, ..MemoryStoreConfig::default() };
    let rss_before = vm_rss_bytes();
    let store = MemoryStore::new(config).unwrap();
    let mut nonce = String::with_capacity(32);
    let start = Instant::now();
    for i in 0..entries {
        nonce.clear();
        write!(nonce, "{i:022}").unwrap();
        let key = ReplayKey { scheme: "rfc9421", key_id: "client-key-1", nonce: &nonce };
        store.insert_if_absent(&key, TTL_MS, NOW_MS).unwrap();
    }
    let fill = start.elapsed();
    let rss_after = vm_rss_bytes();
    assert_eq!(store.len(), entries);
    let table = store.table_bytes();
    let rss_growth = rss_after.saturating_sub(rss_before);
    println!(
        "{entries:>11} | {:>6.1} MiB | {:>13.1} | {:>6.1} MiB | {:>11.1} | {:>14.0}",
        table as f64 / 1048576.0,
        table as f64 / entries as f64,
        rss_growth as f64 / 1048576.0,
        rss_growth as f64 / entries as f64,
        fill.as_nanos() as f64 / entries as f64,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [n] = args.as_slice() {
        measure(n.parse().unwrap());
        return;
    }
    println!("    entries |      table | table B/entry | RSS growth | RSS B/entry | fill ns/insert");
    println!("------------|------------|---------------|------------|-------------|---------------");
    let exe = std::env::current_exe().unwrap();
    for n in [1_000_000usize, 10_000_000] {
        let status = Command::new(&exe).arg(n.to_string()).status().unwrap();
        assert!(status.success(), "measurement for {n} entries failed");
    }
}
