//! Data-loss detection against a real redis-server: after Redis forgets claims (killed and
//! restarted empty, `FLUSHALL`, its claim sequence set back as after a failover to a lagging
//! replica), requests signed before the loss was noticed are refused (503) until their window has
//! passed, in every process sharing the Redis; requests signed after it are accepted at once.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use hmac_guard::config::Spelling;
use hmac_guard::{ErrorCode, Event, Guard, ManualClock, RedisStore, RedisStoreConfig, Reporter, RequestHead, Rfc9421};

#[path = "support/redis.rs"]
mod support;
use support::Redis;

const T0: i64 = 1_900_000_000;

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<String>>);

impl Reporter for Collect {
    fn report(&self, event: &Event<'_>) {
        self.0.lock().unwrap().push(event.to_json(Spelling::Python));
    }
}

/// One application process: a guard on the shared Redis with its own clock.
struct Process {
    guard: Guard,
    clock: Arc<ManualClock>,
    events: Arc<Collect>,
}

fn process(redis: &Redis) -> Process {
    let keys = support::keys();
    let clock = Arc::new(ManualClock::at_secs(T0));
    let store = RedisStore::new(RedisStoreConfig::new(redis.url())).unwrap();
    let guard = Guard::builder()
        .scheme(Arc::new(Rfc9421::default()))
        .keys(keys)
        .store(Arc::new(store))
        .clock(Arc::clone(&clock) as Arc<dyn hmac_guard::Clock>)
        .build()
        .unwrap();
    let events = Arc::new(Collect::default());
    guard.monitor().set_reporter(Arc::clone(&events) as Arc<dyn Reporter>);
    Process { guard, clock, events }
}

fn signed(created: i64) -> RequestHead {
    support::signed_at(Some(created))
}

/// The verdict with its reason; a connection that died with the old server fails one call (503
/// `redis connection dropped`, the store then reconnects): that call is repeated.
fn verdict(p: &Process, head: &RequestHead) -> Result<(), (ErrorCode, String)> {
    let once = || p.guard.verify(head, b"{}").map(|_| ()).map_err(|e| (e.code(), e.reason().to_string()));
    match once() {
        Err((ErrorCode::ReplayStoreUnavailable, reason)) if reason.starts_with("redis ") => once(),
        other => other,
    }
}

fn lost(r: Result<(), (ErrorCode, String)>) -> bool {
    matches!(r, Err((ErrorCode::ReplayStoreUnavailable, reason)) if reason.contains("lost its claims"))
}

#[test]
fn a_restart_without_persistence_refuses_old_requests_in_every_process_and_accepts_fresh_ones() {
    let mut redis = Redis::start();
    let (a, b) = (process(&redis), process(&redis));
    let on_a = signed(T0);
    let on_b = signed(T0);
    assert_eq!(verdict(&a, &on_a), Ok(()));
    assert_eq!(verdict(&b, &on_b), Ok(()));
    assert_eq!(verdict(&a, &on_a).unwrap_err().0, ErrorCode::Replay);

    redis.kill();
    redis.spawn();
    for p in [&a, &b] {
        p.clock.set_secs(T0 + 2);
    }
    // The replay of a request accepted before the crash: the empty Redis would take it.
    assert!(lost(verdict(&a, &on_a)), "a replay after the restart");
    // Process b learns it from the marker a wrote, not from its own claims.
    assert!(lost(verdict(&b, &on_b)), "a replay in the other process");
    assert!(lost(verdict(&b, &signed(T0 + 1))), "any request signed before the loss was noticed");
    // Fresh requests pass at once, in both processes.
    assert_eq!(verdict(&a, &signed(T0 + 3)), Ok(()));
    assert_eq!(verdict(&b, &signed(T0 + 3)), Ok(()));
    // Once the window has passed, an old request is refused by the window itself.
    for p in [&a, &b] {
        p.clock.set_secs(T0 + 2 + 300 + 30 + 2);
    }
    assert_eq!(verdict(&a, &on_a).unwrap_err().0, ErrorCode::TimestampExpired);

    let stats = a.guard.monitor().stats_json(Spelling::Python, a.guard.keys());
    assert!(stats.contains(r#""data_losses":1"#) && stats.contains(&format!(r#""lost_at_ms":{}"#, (T0 + 2) * 1000)), "{stats}");
    let lost_events: Vec<String> =
        a.events.0.lock().unwrap().iter().filter(|e| e.contains(r#""outcome":"lost""#)).cloned().collect();
    assert_eq!(lost_events.len(), 1, "one warn event per loss: {lost_events:?}");
    assert!(lost_events[0].contains(r#""level":"warn""#) && lost_events[0].contains(r#""log":true"#));
}

#[test]
fn flushall_and_a_sequence_set_back_are_losses_too() {
    let redis = Redis::start();
    let a = process(&redis);
    let old = signed(T0);
    assert_eq!(verdict(&a, &old), Ok(()));
    redis.cmd::<()>(&["FLUSHALL"]).unwrap();
    a.clock.set_secs(T0 + 5);
    assert!(lost(verdict(&a, &old)), "a replay after FLUSHALL");
    assert_eq!(verdict(&a, &signed(T0 + 5)), Ok(()));

    // A failover to a replica that missed the last claims: the marker is there, the sequence is
    // behind what this process saw.
    let before = signed(T0 + 6);
    a.clock.set_secs(T0 + 6);
    assert_eq!(verdict(&a, &before), Ok(()));
    assert_eq!(verdict(&a, &signed(T0 + 6)), Ok(()));
    redis.cmd::<()>(&["SET", "hmac-guard:seq", "1"]).unwrap();
    redis.cmd::<i64>(&["DEL", &keys_of(&redis, &before)]).unwrap();
    a.clock.set_secs(T0 + 8);
    assert!(lost(verdict(&a, &before)), "a replay after the sequence went back");
    assert_eq!(verdict(&a, &signed(T0 + 8)), Ok(()));
}

#[test]
fn a_new_process_on_an_empty_redis_accepts_at_once() {
    let redis = Redis::start();
    let a = process(&redis);
    // Signed in the same second the first claim is made: nothing was lost, nothing is refused.
    assert_eq!(verdict(&a, &signed(T0)), Ok(()));
    let b = process(&redis);
    assert_eq!(verdict(&b, &signed(T0)), Ok(()));
    assert!(a.guard.monitor().stats_json(Spelling::Python, a.guard.keys()).contains(r#""data_losses":0"#));
}

/// The claim key of a request (the nonce's key, as the store names it).
fn keys_of(redis: &Redis, head: &RequestHead) -> String {
    let input = head.headers.iter().find(|(n, _)| n == "Signature-Input").map(|(_, v)| v.clone()).unwrap();
    let nonce = input.split("nonce=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    let store = RedisStore::new(RedisStoreConfig::new(redis.url())).unwrap();
    store.redis_key(&hmac_guard::ReplayKey { scheme: "rfc9421", key_id: "k1", nonce: &nonce })
}

#[test]
fn concurrent_first_claims_of_several_processes_are_not_a_loss() {
    // Four processes start on an empty Redis at once, eight threads each: their first claims race
    // to write the marker and complete in any order.
    let redis = Redis::start();
    let procs: Vec<Arc<Process>> = (0..4).map(|_| Arc::new(process(&redis))).collect();
    let start = Arc::new(std::sync::Barrier::new(32));
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let (p, start) = (Arc::clone(&procs[i % 4]), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..60 {
                    assert_eq!(verdict(&p, &signed(T0)), Ok(()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for p in &procs {
        let stats = p.guard.monitor().stats_json(Spelling::Python, p.guard.keys());
        assert!(stats.contains(r#""data_losses":0"#), "{stats}");
    }
}
