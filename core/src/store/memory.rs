//! In-process replay store: sharded open-addressing tables of 16-byte slots.
//!
//! - A slot holds a 64-bit keyed hash of (scheme, key id, nonce), the expiry in Unix seconds and
//!   a tag (keyed hash of the key id for quotas, plus a reservation bit). Its size never depends
//!   on the nonce's length.
//! - The hash (foldhash, quality variant) is seeded at random per store, so clients cannot
//!   choose nonces that pile into one shard or one probe chain; only requests with a valid MAC
//!   reach the store at all, and a collision can only cause a false replay rejection. High bits
//!   pick the shard, low bits the home slot.
//! - Expired slots are reclaimed on the caller's thread: each insert sweeps two slots
//!   (backward-shift deletion, no tombstones), and a full table is swept once before the store
//!   admits it is full. No timer per entry, no background thread.
//! - Full of live entries, the store fails closed (`ERR_REPLAY_STORE_FULL`): evicting a live
//!   nonce would reopen its replay window.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{ReplayKey, ReplayStore};
use crate::error::{ErrorCode, Result, fail};

const RESERVED: u32 = 1 << 31;
const KID_MASK: u32 = RESERVED - 1;
const MIN_SLOTS: usize = 16;
/// Largest load before a table grows: 13/16.
const LOAD_NUM: usize = 13;
const LOAD_DEN: usize = 16;
const SWEEP_PER_INSERT: usize = 2;

/// Settings for [`MemoryStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStoreConfig {
    /// Most entries held at once (live plus not yet reclaimed).
    pub capacity: usize,
    /// Most entries one key id may hold; `None` for no quota.
    pub per_key_quota: Option<usize>,
    /// Shard count (rounded up to a power of two); `None` picks from the core count and capacity.
    pub shards: Option<usize>,
}

impl Default for MemoryStoreConfig {
    fn default() -> Self {
        MemoryStoreConfig { capacity: 1_000_000, per_key_quota: None, shards: None }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    /// Keyed hash; 0 marks an empty slot.
    fp: u64,
    /// Unix seconds at which the entry stops counting.
    expires: u32,
    /// Key-id hash (31 bits) and the reservation bit.
    tag: u32,
}

struct Shard {
    slots: Vec<Slot>,
    len: usize,
    cursor: usize,
    max_slots: usize,
    capacity: usize,
    quota: Option<Arc<QuotaBook>>,
}

/// Live entries per key id, across all shards, for the per-key quota.
#[derive(Debug)]
struct QuotaBook {
    limit: usize,
    counts: Mutex<HashMap<u32, usize>>,
}

impl QuotaBook {
    fn get(&self, kid: u32) -> usize {
        self.counts.lock().get(&kid).copied().unwrap_or(0)
    }

    fn add(&self, kid: u32, delta: isize) {
        let mut counts = self.counts.lock();
        let n = counts.entry(kid).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            counts.remove(&kid);
        }
    }
}

#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

/// The in-process replay store.
pub struct MemoryStore {
    shards: Box<[PaddedShard]>,
    shard_shift: u32,
    hasher: foldhash::quality::RandomState,
    config: MemoryStoreConfig,
    rejected_full: AtomicU64,
    quota: Option<Arc<QuotaBook>>,
    last_quota_sweep: AtomicI64,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("config", &self.config).field("shards", &self.shards.len()).finish_non_exhaustive()
    }
}

enum Probe {
    Live(usize),
    Expired(usize),
    Empty(usize),
}

impl Shard {
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn home(&self, fp: u64) -> usize {
        // Truncation keeps the low bits, which is what the mask wants.
        #[allow(clippy::cast_possible_truncation)]
        let low = fp as usize;
        low & self.mask()
    }

    fn probe(&self, fp: u64, now: u32) -> Probe {
        let mask = self.mask();
        let mut i = self.home(fp);
        loop {
            let s = self.slots[i];
            if s.fp == 0 {
                return Probe::Empty(i);
            }
            if s.fp == fp {
                return if s.expires > now { Probe::Live(i) } else { Probe::Expired(i) };
            }
            i = (i + 1) & mask;
        }
    }

    fn load_limit(slots: usize) -> usize {
        slots / LOAD_DEN * LOAD_NUM
    }

    fn count(&self, tag: u32, delta: isize) {
        if let Some(book) = &self.quota {
            book.add(tag & KID_MASK, delta);
        }
    }

    /// Removes slot `i` and shifts later members of its cluster back (no tombstones).
    fn delete(&mut self, i: usize) {
        let tag = self.slots[i].tag;
        self.count(tag, -1);
        let mask = self.mask();
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let s = self.slots[j];
            if s.fp == 0 {
                break;
            }
            let home = self.home(s.fp);
            let home_in_gap = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !home_in_gap {
                self.slots[hole] = s;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.slots[hole] = Slot::default();
        self.len = self.len.saturating_sub(1);
    }

    fn sweep(&mut self, now: u32, steps: usize) {
        for _ in 0..steps {
            let i = self.cursor & self.mask();
            let s = self.slots[i];
            if s.fp != 0 && s.expires <= now {
                // The slot may now hold a shifted entry: look at it again next step.
                self.delete(i);
            } else {
                self.cursor = (i + 1) & self.mask();
            }
        }
    }

    fn sweep_all(&mut self, now: u32) {
        let mut i = 0;
        while i < self.slots.len() {
            let s = self.slots[i];
            if s.fp != 0 && s.expires <= now {
                self.delete(i);
            } else {
                i += 1;
            }
        }
    }

    fn grow(&mut self, now: u32) {
        let new_len = (self.slots.len() * 2).min(self.max_slots);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); new_len]);
        self.len = 0;
        self.cursor = 0;
        for s in old.into_iter().filter(|s| s.fp != 0) {
            if s.expires <= now {
                // Dropped while rehashing: it no longer counts against its key's quota.
                self.count(s.tag, -1);
                continue;
            }
            if let Probe::Empty(i) = self.probe(s.fp, now) {
                self.slots[i] = s;
                self.len += 1;
            }
        }
    }

    /// Makes room for one more entry, or reports why there is none.
    fn make_room(&mut self, now: u32) -> Result<()> {
        if self.len < self.capacity && self.len < Shard::load_limit(self.slots.len()) {
            return Ok(());
        }
        if self.len < self.capacity && self.slots.len() < self.max_slots {
            self.grow(now);
            return Ok(());
        }
        self.sweep_all(now);
        if self.len < self.capacity && self.len < Shard::load_limit(self.slots.len()).max(1) {
            return Ok(());
        }
        fail(ErrorCode::ReplayStoreFull, "replay store is full of live entries")
    }

    fn insert(&mut self, fp: u64, expires: u32, tag: u32, now: u32) -> Result<()> {
        self.sweep(now, SWEEP_PER_INSERT);
        match self.probe(fp, now) {
            Probe::Live(i) => self.taken(i),
            Probe::Expired(i) => {
                let old = self.slots[i].tag;
                self.count(old, -1);
                self.slots[i] = Slot { fp, expires, tag };
                self.count(tag, 1);
                Ok(())
            }
            Probe::Empty(_) => {
                self.make_room(now)?;
                // The table may have grown or been swept: find the slot again.
                match self.probe(fp, now) {
                    Probe::Empty(i) | Probe::Expired(i) => {
                        if self.slots[i].fp == 0 {
                            self.len += 1;
                        } else {
                            let old = self.slots[i].tag;
                            self.count(old, -1);
                        }
                        self.slots[i] = Slot { fp, expires, tag };
                        self.count(tag, 1);
                        Ok(())
                    }
                    Probe::Live(i) => self.taken(i),
                }
            }
        }
    }

    /// Why a live entry refuses a claim: a reservation still held, or a used nonce.
    fn taken(&self, i: usize) -> Result<()> {
        if self.slots[i].tag & RESERVED != 0 {
            fail(ErrorCode::DeliveryInProgress, "a reservation for this delivery is held")
        } else {
            fail(ErrorCode::Replay, "nonce was already used")
        }
    }
}

fn expiry(now_ms: i64, ttl_ms: u64) -> u32 {
    let ttl = i64::try_from(ttl_ms).unwrap_or(i64::MAX);
    let end_ms = now_ms.saturating_add(ttl);
    // Round up: an entry may live up to a second longer, never shorter.
    let secs = end_ms.saturating_add(999).div_euclid(1000);
    u32::try_from(secs.clamp(0, i64::from(u32::MAX))).unwrap_or(u32::MAX)
}

fn now_secs(now_ms: i64) -> u32 {
    u32::try_from(now_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX))).unwrap_or(u32::MAX)
}

impl MemoryStore {
    /// A store with the given settings.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a zero capacity or quota.
    pub fn new(config: MemoryStoreConfig) -> Result<Self> {
        if config.capacity == 0 || config.per_key_quota == Some(0) {
            return fail(ErrorCode::InvalidConfig, "replay store capacity and quota must be positive");
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        // Enough shards to spread contention, few enough that each holds thousands of entries
        // (so per-shard capacity is a fair share of the total).
        let wanted = config.shards.unwrap_or_else(|| (cores * 8).max(16).min((config.capacity / 4096).max(1)));
        let shard_count = wanted.clamp(1, 1 << 16).next_power_of_two();
        let per_shard_capacity = config.capacity.div_ceil(shard_count);
        let max_slots = (per_shard_capacity * LOAD_DEN).div_ceil(LOAD_NUM).next_power_of_two().max(MIN_SLOTS);
        let quota = config.per_key_quota.map(|limit| Arc::new(QuotaBook { limit, counts: Mutex::new(HashMap::new()) }));
        let shards = (0..shard_count)
            .map(|_| {
                PaddedShard(Mutex::new(Shard {
                    slots: vec![Slot::default(); MIN_SLOTS.min(max_slots)],
                    len: 0,
                    cursor: 0,
                    max_slots,
                    capacity: per_shard_capacity,
                    quota: quota.clone(),
                }))
            })
            .collect();
        Ok(MemoryStore {
            shards,
            shard_shift: 64 - shard_count.trailing_zeros(),
            hasher: foldhash::quality::RandomState::default(),
            config,
            rejected_full: AtomicU64::new(0),
            quota,
            last_quota_sweep: AtomicI64::new(i64::MIN),
        })
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> MemoryStoreConfig {
        self.config
    }

    /// Entries held (live, plus expired ones not reclaimed yet).
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().len).sum()
    }

    /// Whether the store holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the slot tables (the store's memory apart from small fixed overhead).
    #[must_use]
    pub fn table_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().slots.capacity() * size_of::<Slot>()).sum()
    }

    /// How many inserts were refused because the store (or a quota) was full.
    #[must_use]
    pub fn rejected_full(&self) -> u64 {
        self.rejected_full.load(Ordering::Relaxed)
    }

    /// Reclaims every expired entry now (normally done incrementally).
    pub fn purge_expired(&self, now_ms: i64) {
        let now = now_secs(now_ms);
        for s in &*self.shards {
            s.0.lock().sweep_all(now);
        }
    }

    fn locate(&self, key: &ReplayKey<'_>) -> (u64, u32, &Mutex<Shard>) {
        let fp = self.hasher.hash_one((key.scheme, key.key_id, key.nonce)).max(1);
        // Quota bookkeeping needs the key-id hash; skip the second hash when there is no quota.
        #[allow(clippy::cast_possible_truncation)]
        let kid = if self.config.per_key_quota.is_some() { (self.hasher.hash_one(key.key_id) as u32) & KID_MASK } else { 0 };
        let shard = if self.shard_shift >= 64 { 0 } else { usize::try_from(fp >> self.shard_shift).unwrap_or(0) };
        (fp, kid, &self.shards[shard].0)
    }

    /// The per-key quota, checked before the shard lock is taken (so a full sweep can visit every
    /// shard without holding one). Concurrent inserts of one key id may overshoot the quota by at
    /// most their number.
    fn check_quota(&self, kid: u32, now_ms: i64) -> Result<()> {
        let Some(book) = &self.quota else { return Ok(()) };
        if book.get(kid) < book.limit {
            return Ok(());
        }
        // Expired entries still count until a sweep reaches them; sweep everything, at most once
        // a second, so a key at its quota cannot make every request a full sweep.
        let last = self.last_quota_sweep.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= 1000
            && self.last_quota_sweep.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.purge_expired(now_ms);
        }
        if book.get(kid) < book.limit {
            return Ok(());
        }
        fail(ErrorCode::ReplayStoreFull, "this key id has used its replay-store quota")
    }

    fn note(&self, r: Result<()>) -> Result<()> {
        if r.as_ref().is_err_and(|e| e.code() == ErrorCode::ReplayStoreFull) {
            self.rejected_full.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

impl ReplayStore for MemoryStore {
    fn insert_if_absent(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()> {
        let (fp, kid, shard) = self.locate(key);
        let r =
            self.check_quota(kid, now_ms).and_then(|()| shard.lock().insert(fp, expiry(now_ms, ttl_ms), kid, now_secs(now_ms)));
        self.note(r)
    }

    fn reserve(&self, key: &ReplayKey<'_>, hold_ms: u64, now_ms: i64) -> Result<u64> {
        let (fp, kid, shard) = self.locate(key);
        // The hold's expiry second identifies the reservation: a later one for the same nonce
        // can only start after this one lapsed, so it always ends later.
        let until = expiry(now_ms, hold_ms);
        let r = self.check_quota(kid, now_ms).and_then(|()| shard.lock().insert(fp, until, kid | RESERVED, now_secs(now_ms)));
        self.note(r).map(|()| u64::from(until))
    }

    fn commit(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()> {
        let (fp, kid, shard) = self.locate(key);
        let now = now_secs(now_ms);
        let mut shard = shard.lock();
        match shard.probe(fp, now) {
            Probe::Live(i) | Probe::Expired(i) => {
                let slot = &mut shard.slots[i];
                slot.expires = slot.expires.max(expiry(now_ms, ttl_ms));
                slot.tag &= KID_MASK;
                Ok(())
            }
            // The hold ran out and the slot was reclaimed: record the nonce now.
            Probe::Empty(_) => {
                let r = shard.insert(fp, expiry(now_ms, ttl_ms), kid, now);
                drop(shard);
                self.note(r)
            }
        }
    }

    fn release(&self, key: &ReplayKey<'_>, token: u64, now_ms: i64) -> Result<()> {
        let (fp, _, shard) = self.locate(key);
        let mut shard = shard.lock();
        if let Probe::Live(i) | Probe::Expired(i) = shard.probe(fp, now_secs(now_ms))
            && shard.slots[i].tag & RESERVED != 0
            && u64::from(shard.slots[i].expires) == token
        {
            shard.delete(i);
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn may_block(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nonce: &str) -> ReplayKey<'_> {
        ReplayKey { scheme: "s", key_id: "k", nonce }
    }

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn second_insert_is_a_replay_until_expiry() {
        let store = MemoryStore::new(MemoryStoreConfig::default()).unwrap();
        store.insert_if_absent(&key("n1"), 10_000, T0).unwrap();
        assert_eq!(store.insert_if_absent(&key("n1"), 10_000, T0 + 5_000).unwrap_err().code(), ErrorCode::Replay);
        store.insert_if_absent(&key("n1"), 10_000, T0 + 11_000).unwrap();
        let other = ReplayKey { scheme: "s", key_id: "k2", nonce: "n1" };
        store.insert_if_absent(&other, 10_000, T0).unwrap();
    }

    #[test]
    fn full_store_fails_closed_then_recovers_after_expiry() {
        let store = MemoryStore::new(MemoryStoreConfig { capacity: 1000, per_key_quota: None, shards: Some(1) }).unwrap();
        let mut inserted = 0;
        let mut full = 0;
        for i in 0..2000 {
            match store.insert_if_absent(&key(&format!("n{i}")), 60_000, T0) {
                Ok(()) => inserted += 1,
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::ReplayStoreFull);
                    full += 1;
                }
            }
        }
        assert!((700..=1000).contains(&inserted), "{inserted}");
        assert_eq!(inserted + full, 2000);
        // Every accepted nonce is still remembered: nothing live was evicted.
        for i in 0..2000 {
            let r = store.insert_if_absent(&key(&format!("n{i}")), 60_000, T0 + 1000);
            assert!(r.is_err());
        }
        // After expiry the same capacity is available again.
        let later = T0 + 61_000;
        for i in 0..inserted {
            store.insert_if_absent(&key(&format!("m{i}")), 60_000, later).unwrap();
        }
    }

    #[test]
    fn incremental_sweep_keeps_size_bounded() {
        let store = MemoryStore::new(MemoryStoreConfig { capacity: 100_000, per_key_quota: None, shards: Some(4) }).unwrap();
        // 200k inserts with a 1 s TTL spread over 200 s: at most ~1k live at any time.
        for i in 0..200_000i64 {
            store.insert_if_absent(&key(&i.to_string()), 1000, T0 + i).unwrap();
        }
        assert!(store.len() < 20_000, "len {}", store.len());
        store.purge_expired(T0 + 300_000);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn quota_limits_one_key_id_only() {
        let store = MemoryStore::new(MemoryStoreConfig { capacity: 10_000, per_key_quota: Some(10), shards: Some(1) }).unwrap();
        for i in 0..10 {
            store.insert_if_absent(&key(&format!("n{i}")), 60_000, T0).unwrap();
        }
        assert_eq!(store.insert_if_absent(&key("n10"), 60_000, T0).unwrap_err().code(), ErrorCode::ReplayStoreFull);
        let other = ReplayKey { scheme: "s", key_id: "other", nonce: "n10" };
        store.insert_if_absent(&other, 60_000, T0).unwrap();
        assert_eq!(store.rejected_full(), 1);
        // Quota frees up as entries expire.
        store.insert_if_absent(&key("n11"), 60_000, T0 + 61_000).unwrap();
    }

    #[test]
    fn quota_is_exact_across_shards() {
        let store =
            MemoryStore::new(MemoryStoreConfig { capacity: 100_000, per_key_quota: Some(100), shards: Some(16) }).unwrap();
        let accepted = (0..200).filter(|i| store.insert_if_absent(&key(&format!("q{i}")), 60_000, T0).is_ok()).count();
        assert_eq!(accepted, 100);
        // Once they expire, a full sweep frees the quota even though no shard swept on its own.
        store.insert_if_absent(&key("later"), 60_000, T0 + 61_000).unwrap();
    }

    #[test]
    fn reserve_commit_release() {
        let store = MemoryStore::new(MemoryStoreConfig::default()).unwrap();
        let t = store.reserve(&key("d1"), 30_000, T0).unwrap();
        // Held by a reservation: in progress (the guard reports a replay for signed requests).
        assert_eq!(store.reserve(&key("d1"), 30_000, T0).unwrap_err().code(), ErrorCode::DeliveryInProgress);
        store.release(&key("d1"), t, T0).unwrap();
        let t = store.reserve(&key("d1"), 30_000, T0).unwrap();
        store.commit(&key("d1"), 300_000, T0).unwrap();
        // Committed entries are not released and outlive the hold.
        store.release(&key("d1"), t, T0).unwrap();
        assert_eq!(store.insert_if_absent(&key("d1"), 1, T0 + 60_000).unwrap_err().code(), ErrorCode::Replay);
        // An unreleased reservation lapses after its hold.
        store.reserve(&key("d2"), 30_000, T0).unwrap();
        store.reserve(&key("d2"), 30_000, T0 + 31_000).unwrap();
    }

    #[test]
    fn deletion_keeps_probe_chains_intact() {
        // One shard, tiny table: many collisions in a 16-slot table exercise backward shifts.
        let store = MemoryStore::new(MemoryStoreConfig { capacity: 12, per_key_quota: None, shards: Some(1) }).unwrap();
        for round in 0..50i64 {
            let now = T0 + round * 2000;
            for i in 0..10 {
                store.insert_if_absent(&key(&format!("{round}-{i}")), 1000, now).unwrap();
            }
            for i in 0..10 {
                let r = store.insert_if_absent(&key(&format!("{round}-{i}")), 1000, now);
                assert_eq!(r.unwrap_err().code(), ErrorCode::Replay, "round {round} nonce {i}");
            }
        }
    }
}
