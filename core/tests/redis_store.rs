//! The Redis replay store against a real `redis-server` on 127.0.0.1, started and stopped here.
//! A missing server binary is a failure, not a skip: `make test` installs it.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hmac_guard::{
    Algorithm, ErrorCode, Guard, KeyRing, KeySpec, RedisStore, RedisStoreConfig, ReplayKey, ReplayStore, RequestHead, Rfc9421,
    Rfc9421SignOptions, Signer,
};

struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

fn server_binary() -> String {
    let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let found =
        Command::new(&bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(found, "{bin} not found: run `make test` (it installs redis-server) or set REDIS_SERVER");
    bin
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("hmac-guard-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = RedisServer { child: None, port, dir };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new(server_binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut con) = redis::Client::open(self.url().as_str()).unwrap().get_connection()
                && redis::cmd("PING").query::<String>(&mut con).is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not come up on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut con = redis::Client::open(self.url().as_str()).unwrap().get_connection().unwrap();
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(&mut con).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn key(nonce: &str) -> ReplayKey<'_> {
    ReplayKey { scheme: "rfc9421", key_id: "k1", nonce }
}

fn store(server: &RedisServer) -> RedisStore {
    RedisStore::new(RedisStoreConfig::new(server.url())).unwrap()
}

#[test]
fn claims_once_and_sets_a_ttl() {
    let server = RedisServer::start();
    let s = store(&server);
    s.insert_if_absent(&key("n-0001"), 300_000, 0).unwrap();
    assert_eq!(s.insert_if_absent(&key("n-0001"), 300_000, 0).unwrap_err().code(), ErrorCode::Replay);
    let k = s.redis_key(&key("n-0001"));
    assert!(k.starts_with("hmac-guard:rfc9421:") && k.len() < 80 && !k.contains("n-0001"), "{k}");
    let pttl: i64 = server.cmd(&["PTTL", &k]);
    assert!((299_000..=300_000).contains(&pttl), "PTTL {pttl}");
    // Same nonce, other key id or scheme: independent.
    s.insert_if_absent(&ReplayKey { scheme: "rfc9421", key_id: "k2", nonce: "n-0001" }, 300_000, 0).unwrap();
    s.insert_if_absent(&ReplayKey { scheme: "simple", key_id: "k1", nonce: "n-0001" }, 300_000, 0).unwrap();
}

#[test]
fn racing_duplicates_have_exactly_one_winner() {
    let server = RedisServer::start();
    let s = Arc::new(store(&server));
    for round in 0..20 {
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (s, b) = (s.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    s.insert_if_absent(&key(&format!("race-{round}")), 60_000, 0)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}");
        assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code() == ErrorCode::Replay));
    }
}

#[test]
fn two_phase_reserve_release_commit() {
    let server = RedisServer::start();
    let s = store(&server);
    let t = s.reserve(&key("d-1"), 30_000, 0).unwrap();
    // Held: in progress (the guard reports a replay for signed requests, 409 for webhooks).
    assert_eq!(s.reserve(&key("d-1"), 30_000, 0).unwrap_err().code(), ErrorCode::DeliveryInProgress);
    s.release(&key("d-1"), t + 1, 0).unwrap(); // another reservation's token: no effect
    assert_eq!(s.reserve(&key("d-1"), 30_000, 0).unwrap_err().code(), ErrorCode::DeliveryInProgress);
    s.release(&key("d-1"), t, 0).unwrap();
    let t = s.reserve(&key("d-1"), 30_000, 0).unwrap();
    s.commit(&key("d-1"), 300_000, 0).unwrap();
    s.release(&key("d-1"), t, 0).unwrap(); // committed: not released
    assert_eq!(s.insert_if_absent(&key("d-1"), 1000, 0).unwrap_err().code(), ErrorCode::Replay);
    // Committed: a copy is a used nonce, not one in progress.
    assert_eq!(s.reserve(&key("d-1"), 30_000, 0).unwrap_err().code(), ErrorCode::Replay);
    let pttl: i64 = server.cmd(&["PTTL", &s.redis_key(&key("d-1"))]);
    assert!(pttl > 200_000, "commit extends the TTL: {pttl}");
}

#[test]
fn outage_fails_closed_fast_and_recovers_without_restart() {
    let mut server = RedisServer::start();
    let s = store(&server);
    s.insert_if_absent(&key("before"), 60_000, 0).unwrap();
    server.stop();
    let t = Instant::now();
    let err = s.insert_if_absent(&key("during"), 60_000, 0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReplayStoreUnavailable);
    assert_eq!(err.status(), 503);
    assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());
    assert!(!format!("{err:?}").contains("127.0.0.1"), "{err:?}");
    server.spawn();
    s.insert_if_absent(&key("after"), 60_000, 0).unwrap();
}

#[test]
fn fail_open_is_opt_in_counted_and_tracked_by_the_guard() {
    let mut server = RedisServer::start();
    let secret = b"redis-test-secret-0123456789abcdef0123".to_vec();
    let guard_with = |fail_open: bool| {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("k1", secret.clone(), Algorithm::HmacSha256)).unwrap();
        let s = RedisStore::new(RedisStoreConfig { fail_open, ..RedisStoreConfig::new(server.url()) }).unwrap();
        // The store itself always reports the outage; the guard applies the failure mode.
        assert_eq!(s.fails_open(), fail_open);
        Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).store(Arc::new(s)).build().unwrap()
    };
    let (open, closed) = (guard_with(true), guard_with(false));
    let signer = Signer::new(KeySpec::new("k1", secret.clone(), Algorithm::HmacSha256)).unwrap();
    let signed = || {
        let mut head = RequestHead::new("POST", "/a", "http", vec![("Host".into(), "h".into())]);
        head.headers.extend(signer.sign_rfc9421(&head, b"{}", &Rfc9421SignOptions::default()).unwrap());
        head
    };
    server.stop();
    open.verify(&signed(), b"{}").unwrap();
    open.verify(&signed(), b"{}").unwrap();
    assert_eq!(open.monitor().fail_open_uses(), 2);
    assert_eq!(closed.verify(&signed(), b"{}").unwrap_err().code(), ErrorCode::ReplayStoreUnavailable);
    assert_eq!(closed.monitor().fail_open_uses(), 0);
    let stats = closed.monitor().stats_json(hmac_guard::Spelling::Python, closed.keys());
    assert!(stats.contains(r#""state":"failing""#), "{stats}");
    server.spawn();
    closed.verify(&signed(), b"{}").unwrap();
    let stats = closed.monitor().stats_json(hmac_guard::Spelling::Python, closed.keys());
    assert!(stats.contains(r#""state":"ok""#) && stats.contains(r#""state_changes":2"#), "{stats}");
}

#[test]
fn unroutable_redis_times_out_within_the_limit() {
    // A listener that accepts but never answers: every command must hit the read timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config =
        RedisStoreConfig { timeout: Duration::from_millis(200), ..RedisStoreConfig::new(format!("redis://127.0.0.1:{port}/0")) };
    let s = RedisStore::new(config).unwrap();
    let t = Instant::now();
    let err = s.insert_if_absent(&key("slow"), 60_000, 0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReplayStoreUnavailable);
    // Connecting and the command share one timeout: 200 ms, not 2 × 200 ms.
    assert!(t.elapsed() < Duration::from_millis(350), "took {:?}", t.elapsed());
    drop(silent);
}

#[test]
fn one_round_trip_per_verification() {
    let server = RedisServer::start();
    let keys = Arc::new(KeyRing::new());
    let secret = b"redis-test-secret-0123456789abcdef0123".to_vec();
    keys.upsert(KeySpec::new("k1", secret.clone(), Algorithm::HmacSha256)).unwrap();
    let guard = Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).store(Arc::new(store(&server))).build().unwrap();
    let signer = Signer::new(KeySpec::new("k1", secret, Algorithm::HmacSha256)).unwrap();
    let _: String = server.cmd(&["CONFIG", "RESETSTAT"]);
    let n = 200;
    for _ in 0..n {
        let mut head = RequestHead::new("POST", "/a", "http", vec![("Host".into(), "h".into())]);
        head.headers.extend(signer.sign_rfc9421(&head, b"{}", &Rfc9421SignOptions::default()).unwrap());
        guard.verify(&head, b"{}").unwrap();
        assert_eq!(guard.verify(&head, b"{}").unwrap_err().code(), ErrorCode::Replay);
    }
    let stats: String = server.cmd(&["INFO", "commandstats"]);
    let calls = |cmd: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |v| v.parse().unwrap())
    };
    // Each verification (accepted or replayed) is one round trip: `SET NX`, with a `GET` of what
    // holds the key and the data-loss watch's `INCR` and `GET` pipelined behind it; the first one
    // also wrote the watch's marker (`SET NX` + `GET`, once for this Redis).
    assert_eq!(calls("set"), 2 * n + 1);
    assert_eq!(calls("incr"), 2 * n);
    assert_eq!(calls("get"), 4 * n + 1);
    // Nothing else touched the data: connection set-up (`client|setinfo`, `hello`, `select`) and
    // this test's bookkeeping (`config|resetstat`, `info`) aside.
    let other: Vec<&str> = stats
        .lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter(|l| {
            let cmd = l.split(':').next().unwrap_or_default();
            !(["set", "incr", "get"].contains(&cmd)
                || cmd.starts_with("client|")
                || ["hello", "select", "config|resetstat", "info"].contains(&cmd))
        })
        .collect();
    assert!(other.is_empty(), "unexpected commands: {other:?}");
}

#[test]
fn memory_stays_bounded_as_keys_expire() {
    let server = RedisServer::start();
    let s = store(&server);
    let n = 100_000;
    for i in 0..n {
        s.insert_if_absent(&key(&format!("unique-{i:08}")), 1_000, 0).unwrap();
    }
    // Every key carries a TTL ("db0:keys=N,expires=N,…")…
    let keyspace: String = server.cmd(&["INFO", "keyspace"]);
    let field = |name: &str| -> u64 {
        keyspace.split([',', ':', '\n', '\r']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().parse().unwrap()
    };
    assert!(field("keys") > 0);
    // The data-loss watch's two keys (`<prefix>:epoch`, `<prefix>:seq`) are the only ones kept.
    assert_eq!(field("keys"), field("expires") + 2, "keys without a TTL: {keyspace}");
    // …and Redis's active expiry reclaims them without any traffic.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let size: u64 = server.cmd(&["DBSIZE"]);
        if size < 1_000 {
            break;
        }
        assert!(Instant::now() < deadline, "{size} keys still present after their TTL");
        std::thread::sleep(Duration::from_millis(200));
    }
}
