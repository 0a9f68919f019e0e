//! The Redis store's async path against a real redis-server: claims multiplexed on one
//! connection, a hung Redis (SIGSTOP) answered 503 at the timeout for every claim in flight (none
//! accepted later, the caller's runtime not stalled), recovery, and the data-loss rule.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac_guard::{ErrorCode, Guard, RedisStore, RedisStoreConfig, RequestHead, Rfc9421};

#[path = "support/redis.rs"]
mod support;
use support::{Redis, signed};

const TIMEOUT: Duration = Duration::from_millis(250);

fn guard(redis: &Redis) -> Guard {
    let mut config = RedisStoreConfig::new(redis.url());
    config.timeout = TIMEOUT;
    let store = RedisStore::new(config).unwrap();
    Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(support::keys()).store(Arc::new(store)).build().unwrap()
}

async fn verify(guard: &Guard, head: &RequestHead) -> Result<(), ErrorCode> {
    let mut v = guard.begin(head).map_err(|e| e.code())?;
    v.update(b"{}").map_err(|e| e.code())?;
    let pending = v.finish_body().map_err(|e| e.code())?;
    pending.claim_async().await.map(|_| ()).map_err(|e| e.code())
}

fn connected_clients(redis: &Redis) -> u64 {
    let info: String = redis.cmd(&["INFO", "clients"]).unwrap();
    info.lines().find_map(|l| l.strip_prefix("connected_clients:")).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_multiplexed_on_one_connection_once_each() {
    let redis = Redis::start();
    let g = guard(&redis);
    let heads: Vec<RequestHead> = (0..64).map(|_| signed()).collect();
    let all = futures_join(heads.iter().map(|h| verify(&g, h))).await;
    assert!(all.iter().all(Result::is_ok), "{all:?}");
    let again = futures_join(heads.iter().map(|h| verify(&g, h))).await;
    assert!(again.iter().all(|r| *r == Err(ErrorCode::Replay)), "{again:?}");
    // 64 claims in flight at once, one connection (plus this test's INFO connection).
    assert!(connected_clients(&redis) <= 2, "connected_clients {}", connected_clients(&redis));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_is_503_at_the_timeout_for_every_claim_and_nothing_is_accepted_later() {
    let redis = Redis::start();
    let g = guard(&redis);
    assert_eq!(verify(&g, &signed()).await, Ok(()));
    redis.signal("-STOP");
    // A timer on the caller's runtime keeps ticking while 64 claims wait on the hung Redis.
    let ticker = tokio::spawn(async {
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            worst = worst.max(t.elapsed().saturating_sub(Duration::from_millis(10)));
        }
        worst
    });
    let heads: Vec<RequestHead> = (0..64).map(|_| signed()).collect();
    let started = Instant::now();
    let timed = futures_join(heads.iter().map(|h| async {
        let t = Instant::now();
        (verify(&g, h).await, t.elapsed())
    }))
    .await;
    let total = started.elapsed();
    let lag = ticker.await.unwrap();
    for (r, took) in &timed {
        assert_eq!(*r, Err(ErrorCode::ReplayStoreUnavailable));
        assert!(*took < TIMEOUT + Duration::from_millis(150), "a claim took {took:?} (timeout {TIMEOUT:?})");
    }
    assert!(total < TIMEOUT + Duration::from_millis(200), "64 claims took {total:?} together: they wait side by side");
    assert!(lag < Duration::from_millis(50), "the caller's runtime stalled by {lag:?}");
    redis.signal("-CONT");
    // Recovery without a restart; the refused requests stay refused (their nonces may have been
    // written once Redis resumed: a retry is a replay or a fresh signature).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match verify(&g, &signed()).await {
            Ok(()) => break,
            Err(c) => assert!(Instant::now() < deadline, "no recovery: {c:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for h in &heads {
        assert_ne!(verify(&g, h).await, Ok(()), "a request refused during the hang was accepted later");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_persistence_is_seen_on_the_async_path_too() {
    let mut redis = Redis::start();
    let g = guard(&redis);
    let old = signed();
    assert_eq!(verify(&g, &old).await, Ok(()));
    redis.kill();
    redis.spawn();
    tokio::time::sleep(Duration::from_millis(1100)).await; // a second later: the old request is from before
    let mut r = verify(&g, &old).await;
    if r == Err(ErrorCode::ReplayStoreUnavailable) && connected_clients(&redis) == 1 {
        r = verify(&g, &old).await; // the first call after the restart reconnects
    }
    assert_eq!(r, Err(ErrorCode::ReplayStoreUnavailable), "the replay after an empty restart");
    let stats = g.monitor().stats_json(hmac_guard::Spelling::Python, g.keys());
    assert!(stats.contains(r#""data_losses":1"#), "{stats}");
    // Signatures count whole seconds: one signed in the second the loss was seen is refused too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(verify(&g, &signed()).await, Ok(()), "a fresh request");
}

/// Runs futures side by side on this task and collects their outputs in order.
async fn futures_join<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_are_released_and_committed_without_blocking() {
    let redis = Redis::start();
    let keys = support::keys();
    let store = RedisStore::new(RedisStoreConfig::new(redis.url())).unwrap();
    let policy =
        hmac_guard::Policy { replay: hmac_guard::ReplayMode::Reserve { hold_secs: 30 }, ..hmac_guard::Policy::default() };
    let g =
        Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).store(Arc::new(store)).policy(policy).build().unwrap();
    let head = signed();
    let claim = || async {
        let mut v = g.begin(&head).unwrap();
        v.update(b"{}").unwrap();
        v.finish_body().unwrap().claim_async().await
    };
    let first = claim().await.unwrap();
    assert_eq!(claim().await.unwrap_err().code(), ErrorCode::Replay, "held while reserved");
    first.replay_ticket.unwrap().release_async().await.unwrap();
    let retry = claim().await.unwrap();
    retry.replay_ticket.unwrap().commit_async().await.unwrap();
    assert_eq!(claim().await.unwrap_err().code(), ErrorCode::Replay, "committed");
}
