//! Redis Sentinel against real servers: a master, a replica and a sentinel started here. Claims go
//! to the master the sentinel names; 500 copies of one request over four guards give exactly one
//! acceptance; the master killed → claims fail closed during the failover and are accepted again
//! on the promoted replica without a restart; no replay is accepted across it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hmac_guard::{ErrorCode, Guard, RedisStore, RedisStoreConfig, Rfc9421};

#[path = "support/redis.rs"]
mod support;
use support::{Redis, cmd, free_port, signed, verdict};

fn sentinel(port: u16, master_port: u16, dir: &Path) -> Redis {
    let conf = dir.join(format!("sentinel-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\nsentinel resolve-hostnames no\nsentinel monitor hgmaster 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds hgmaster 500\nsentinel failover-timeout hgmaster 5000\n"
        ),
    )
    .unwrap();
    Redis::launch(port, vec![conf.to_string_lossy().into_owned(), "--sentinel".into()])
}

fn guard(sentinel_port: u16) -> Guard {
    let store = RedisStore::new(RedisStoreConfig::new(format!("redis+sentinel://127.0.0.1:{sentinel_port}/hgmaster"))).unwrap();
    Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(support::keys()).store(Arc::new(store)).build().unwrap()
}

#[test]
fn sentinel_names_the_master_storms_accept_once_and_a_failover_fails_closed_then_recovers() {
    let dir = std::env::temp_dir().join(format!("hmac-guard-sentinel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (m, r, s) = (free_port(), free_port(), free_port());
    let mut master = Some(Redis::start_on(m, &[]));
    let _replica = Redis::start_on(r, &["--replicaof", "127.0.0.1", &m.to_string()]);
    let _sentinel = sentinel(s, m, &dir);

    let guards: Vec<Arc<Guard>> = (0..4).map(|_| Arc::new(guard(s))).collect();
    let first = signed();
    assert_eq!(verdict(&guards[0], &first), Ok(()));
    let on_master: u64 = cmd(m, &["DBSIZE"]).unwrap();
    assert!(on_master >= 1, "the claim went to the master");

    // 500 copies of one request over four guards at once: exactly one accepted.
    let storm = Arc::new(signed());
    let barrier = Arc::new(Barrier::new(500));
    let results: Vec<Result<(), ErrorCode>> = (0..500)
        .map(|i| {
            let (g, h, b) = (Arc::clone(&guards[i % 4]), Arc::clone(&storm), Arc::clone(&barrier));
            std::thread::spawn(move || {
                b.wait();
                verdict(&g, &h)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().all(|r| r.is_ok() || *r == Err(ErrorCode::Replay)), "{results:?}");

    // Let the replica catch up, then kill the master.
    let _: i64 = cmd(m, &["WAIT", "1", "2000"]).unwrap();
    drop(master.take());
    let g = &guards[1];
    let started = Instant::now();
    let mut refused_during = 0;
    loop {
        match verdict(g, &signed()) {
            Ok(()) => break,
            Err(code) => {
                assert_eq!(code, ErrorCode::ReplayStoreUnavailable, "fail closed during the failover");
                refused_during += 1;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no failover within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused_during > 0, "requests during the failover were refused");
    let promoted: String = cmd(r, &["ROLE"]).map(|v: Vec<redis::Value>| format!("{v:?}")).unwrap();
    assert!(promoted.contains("master"), "the replica was promoted: {promoted}");
    // No replay across the failover: refused as a replay (replicated) or by the data-loss rule.
    for g in &guards {
        assert!(verdict(g, &first).is_err(), "a replay accepted after the failover");
        assert!(verdict(g, &storm).is_err(), "a replay accepted after the failover");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_sentinel_url_is_a_configuration_error_that_never_echoes_it() {
    for url in ["redis+sentinel://", "redis+sentinel://h:1", "redis+sentinel://:pw@h:1/", "redis+sentinel://h:1/m/0/x"] {
        let e = RedisStore::new(RedisStoreConfig::new(url)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidConfig, "{url}");
        assert!(!e.reason().contains("pw"), "{e:?}");
    }
    let mut with_ca = RedisStoreConfig::new("rediss+sentinel://127.0.0.1:1/m");
    with_ca.tls_ca_pem = Some(b"-----BEGIN CERTIFICATE-----".to_vec());
    assert_eq!(RedisStore::new(with_ca).unwrap_err().code(), ErrorCode::InvalidConfig);
}
