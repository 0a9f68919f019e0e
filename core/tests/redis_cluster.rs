//! Redis Cluster against real servers: three masters formed here (`CLUSTER ADDSLOTSRANGE` +
//! `CLUSTER MEET`, no redis-cli needed). Claims spread over all three with each claim's keys in one
//! slot; 500 copies of one request over four guards → exactly one accepted; a node killed → claims
//! for its slots fail closed (503), the others go on.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use hmac_guard::{ErrorCode, Guard, RedisStore, RedisStoreConfig, Rfc9421};

#[path = "support/redis.rs"]
mod support;
use support::{Redis, cmd, signed, verdict};

/// A free port whose cluster bus port (+10000) is valid and free too: a node needs both.
fn cluster_port() -> u16 {
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if port <= 55_535 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn node(dir: &std::path::Path) -> Redis {
    let port = cluster_port();
    let conf = dir.join(format!("nodes-{port}.conf")).to_string_lossy().into_owned();
    let dir = dir.to_string_lossy().into_owned();
    Redis::start_on(
        port,
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            "1000",
            "--cluster-require-full-coverage",
            "no",
            "--cluster-config-file",
            &conf,
            "--dir",
            &dir,
        ],
    )
}

/// Three masters owning a third of the slots each.
fn cluster(dir: &std::path::Path) -> Vec<Redis> {
    let nodes: Vec<Redis> = (0..3).map(|_| node(dir)).collect();
    for (i, (lo, hi)) in [(0, 5460), (5461, 10922), (10923, 16383)].iter().enumerate() {
        let _: () = cmd(nodes[i].port, &["CLUSTER", "ADDSLOTSRANGE", &lo.to_string(), &hi.to_string()]).unwrap();
    }
    for n in &nodes[1..] {
        let _: () = cmd(nodes[0].port, &["CLUSTER", "MEET", "127.0.0.1", &n.port.to_string()]).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nodes.iter().all(|n| {
        cmd::<String>(n.port, &["CLUSTER", "INFO"])
            .is_ok_and(|i| i.contains("cluster_state:ok") && i.contains("cluster_known_nodes:3"))
    }) {
        assert!(Instant::now() < deadline, "the cluster did not form");
        std::thread::sleep(Duration::from_millis(100));
    }
    nodes
}

fn guard(port: u16) -> Guard {
    let store = RedisStore::new(RedisStoreConfig::new(format!("redis+cluster://127.0.0.1:{port}"))).unwrap();
    Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(support::keys()).store(Arc::new(store)).build().unwrap()
}

#[test]
fn claims_spread_over_the_cluster_storms_accept_once_and_a_dead_node_fails_closed_for_its_slots_only() {
    let dir = std::env::temp_dir().join(format!("hmac-guard-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut nodes = cluster(&dir);
    let guards: Vec<Arc<Guard>> = (0..4).map(|i| Arc::new(guard(nodes[i % 3].port))).collect();

    for _ in 0..150 {
        let h = signed();
        assert_eq!(verdict(&guards[0], &h), Ok(()));
        assert_eq!(verdict(&guards[1], &h), Err(ErrorCode::Replay), "another guard sees the claim");
    }
    for n in &nodes {
        let size: u64 = cmd(n.port, &["DBSIZE"]).unwrap();
        assert!(size > 20, "claims reach every master (port {}: {size} keys)", n.port);
    }

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

    // One master killed: claims for its slots fail closed, the others are accepted.
    drop(nodes.pop());
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..90 {
        match verdict(&guards[0], &signed()) {
            Ok(()) => ok += 1,
            Err(ErrorCode::ReplayStoreUnavailable) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(ok > 20 && refused > 10, "accepted {ok}, refused {refused}");
    let _ = std::fs::remove_dir_all(&dir);
}
