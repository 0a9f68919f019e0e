//! The monitor seen through a guard: a scripted mix of outcomes, the store's state changes, what
//! a reporter receives, and that no secret reaches any of it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, ManualClock};
use crate::config::Spelling;
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::{Algorithm, KeyRing, KeySpec};
use crate::request::RequestHead;
use crate::signer::{Signer, SimpleSignOptions};
use crate::simple::Simple;
use crate::store::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};
use crate::verifier::Guard;

use super::{Event, ObserveConfig, Reporter};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-observe";
const NOW: i64 = 1_800_000_000;

/// Keeps every event as `(json, log line)`.
#[derive(Debug, Default)]
struct Collect(Mutex<Vec<(String, String)>>);

impl Reporter for Collect {
    fn report(&self, event: &Event<'_>) {
        self.0.lock().unwrap().push((event.to_json(Spelling::Python), event.message()));
    }
}

impl Collect {
    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A memory store that can be made to fail like an unreachable Redis.
#[derive(Debug)]
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
    open: bool,
}

impl Flaky {
    fn check(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            fail(ErrorCode::ReplayStoreUnavailable, "redis connection refused")
        } else {
            Ok(())
        }
    }
}

impl ReplayStore for Flaky {
    fn insert_if_absent(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()> {
        self.check()?;
        self.inner.insert_if_absent(key, ttl_ms, now_ms)
    }
    fn reserve(&self, key: &ReplayKey<'_>, hold_ms: u64, now_ms: i64) -> Result<u64> {
        self.check()?;
        self.inner.reserve(key, hold_ms, now_ms)
    }
    fn commit(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()> {
        self.check()?;
        self.inner.commit(key, ttl_ms, now_ms)
    }
    fn release(&self, key: &ReplayKey<'_>, token: u64, now_ms: i64) -> Result<()> {
        self.check()?;
        self.inner.release(key, token, now_ms)
    }
    fn kind(&self) -> &'static str {
        "flaky"
    }
    fn fails_open(&self) -> bool {
        self.open
    }
}

struct Rig {
    guard: Guard,
    signer: Signer,
    store: Arc<Flaky>,
    events: Arc<Collect>,
}

fn rig(open: bool, observe: ObserveConfig) -> Rig {
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
    let store =
        Arc::new(Flaky { inner: MemoryStore::new(MemoryStoreConfig::default()).unwrap(), down: AtomicBool::new(false), open });
    let guard = Guard::builder()
        .scheme(Arc::new(Simple))
        .keys(keys)
        .store(Arc::clone(&store) as Arc<dyn ReplayStore>)
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .observe(observe)
        .build()
        .unwrap();
    let events = Arc::new(Collect::default());
    assert!(guard.monitor().set_reporter(Arc::clone(&events) as Arc<dyn Reporter>));
    let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap().with_clock(clock);
    Rig { guard, signer, store, events }
}

fn request(signer: &Signer, nonce: &str, body: &[u8]) -> RequestHead {
    let opts = SimpleSignOptions { timestamp: None, nonce: Some(nonce.into()) };
    let headers = signer.sign_simple("POST", "/orders", body, &opts).unwrap();
    let mut head = RequestHead::new("POST", "/orders", "https", headers);
    head.headers.push(("content-length".into(), body.len().to_string()));
    head
}

fn stats(guard: &Guard) -> serde_json::Value {
    serde_json::from_str(&guard.monitor().stats_json(Spelling::Python, guard.keys())).unwrap()
}

#[test]
fn a_scripted_mix_is_counted_per_outcome_code_and_key() {
    let r = rig(false, ObserveConfig::default());
    let ok = request(&r.signer, "nonce-0000000001", b"{}");
    r.guard.verify(&ok, b"{}").unwrap();
    assert_eq!(r.guard.verify(&ok, b"{}").unwrap_err().code(), ErrorCode::Replay);
    let tampered = request(&r.signer, "nonce-0000000002", b"{}");
    assert_eq!(r.guard.verify(&tampered, b"{!").unwrap_err().code(), ErrorCode::DigestMismatch);
    let stranger = Signer::new(KeySpec::new("who", SECRET, Algorithm::HmacSha256)).unwrap();
    let unknown = request(&stranger, "nonce-0000000003", b"");
    assert_eq!(r.guard.verify(&unknown, b"").unwrap_err().code(), ErrorCode::UnknownKey);
    // Dropped mid-body: abandoned, not rejected.
    let mut v = r.guard.begin(&request(&r.signer, "nonce-0000000004", b"abc")).unwrap();
    v.update(b"a").unwrap();
    drop(v);
    // An adapter's own refusal, and one found mid-body.
    r.guard.refused(&crate::Error::new(ErrorCode::InvalidState, "body already consumed"));
    let v = r.guard.begin(&request(&r.signer, "nonce-0000000005", b"abc")).unwrap();
    v.refuse(&crate::Error::new(ErrorCode::BadFraming, "bad chunk"));

    let s = stats(&r.guard);
    assert_eq!((s["accepted"].as_u64(), s["rejected"].as_u64(), s["aborted"].as_u64()), (Some(1), Some(5), Some(1)));
    let codes = &s["rejections"];
    for code in ["ERR_REPLAY", "ERR_DIGEST_MISMATCH", "ERR_UNKNOWN_KEY", "ERR_INVALID_STATE", "ERR_BAD_FRAMING"] {
        assert_eq!(codes[code].as_u64(), Some(1), "{code} in {codes}");
    }
    // Only ring keys are counted by id: the unknown "who" is not a label.
    assert_eq!(s["by_key"].as_object().unwrap().keys().collect::<Vec<_>>(), ["k1"]);
    assert_eq!(s["by_key"]["k1"]["accepted"].as_u64(), Some(1));
    assert_eq!(s["by_key"]["k1"]["rejected"].as_u64(), Some(3));
    assert_eq!(s["duration"]["count"].as_u64(), Some(6));
    assert_eq!(s["replay_store"]["state"], "ok");

    // Rejections and the abandoned one are reported; the acceptance is not (by default).
    let events = r.events.take();
    let outcomes: Vec<String> = events
        .iter()
        .map(|(j, _)| {
            let v: serde_json::Value = serde_json::from_str(j).unwrap();
            format!("{}:{}", v["outcome"].as_str().unwrap(), v["code"].as_str().unwrap_or("-"))
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "rejected:ERR_REPLAY",
            "rejected:ERR_DIGEST_MISMATCH",
            "rejected:ERR_UNKNOWN_KEY",
            "aborted:-",
            "rejected:ERR_INVALID_STATE",
            "rejected:ERR_BAD_FRAMING"
        ]
    );
    let first: serde_json::Value = serde_json::from_str(&events[0].0).unwrap();
    assert_eq!(first["status"], 401);
    assert_eq!(first["key_id"], "k1");
    assert_eq!(first["level"], "info");
    assert_eq!(first["log"], true);
    assert!(events[0].1.starts_with("hmac-guard: rejected ERR_REPLAY (401), key \"k1\": "), "{}", events[0].1);
    let invalid_state: serde_json::Value = serde_json::from_str(&events[4].0).unwrap();
    assert_eq!(invalid_state["level"], "warn");
    for (json, line) in &events {
        let secret = std::str::from_utf8(SECRET).unwrap();
        assert!(!json.contains(secret) && !line.contains(secret));
    }
}

#[test]
fn acceptances_are_reported_when_asked() {
    let r = rig(false, ObserveConfig { report_accepted: true, ..ObserveConfig::default() });
    r.guard.verify(&request(&r.signer, "nonce-0000000001", b""), b"").unwrap();
    let events = r.events.take();
    assert_eq!(events.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&events[0].0).unwrap();
    assert_eq!((v["outcome"].as_str(), v["level"].as_str(), v["status"].is_null()), (Some("accepted"), Some("debug"), true));
    // Below the default log level: the hook gets it, no line is logged.
    assert_eq!(v["log"], false);
    let r = rig(false, ObserveConfig { report_accepted: true, log_level: super::Level::Debug, ..ObserveConfig::default() });
    r.guard.verify(&request(&r.signer, "nonce-0000000001", b""), b"").unwrap();
    assert!(r.events.take()[0].0.contains(r#""log":true"#));
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn an_outage_reports_one_change_each_way_and_fails_closed() {
    let r = rig(false, ObserveConfig::default());
    r.store.down.store(true, Ordering::SeqCst);
    for i in 0..5 {
        let e = r.guard.verify(&request(&r.signer, &format!("nonce-down-{i:06}"), b""), b"").unwrap_err();
        assert_eq!(e.code(), ErrorCode::ReplayStoreUnavailable);
    }
    let s = stats(&r.guard);
    assert_eq!(s["replay_store"]["state"], "failing");
    assert_eq!(s["replay_store"]["failing_since_ms"].as_i64(), Some(NOW * 1000));
    assert_eq!(s["replay_store"]["failures"].as_u64(), Some(5));
    r.store.down.store(false, Ordering::SeqCst);
    r.guard.verify(&request(&r.signer, "nonce-up-000001", b""), b"").unwrap();
    r.guard.verify(&request(&r.signer, "nonce-up-000002", b""), b"").unwrap();
    let s = stats(&r.guard);
    assert_eq!((s["replay_store"]["state"].as_str(), s["replay_store"]["state_changes"].as_u64()), (Some("ok"), Some(2)));

    let store_events: Vec<(serde_json::Value, String)> = r
        .events
        .take()
        .into_iter()
        .map(|(j, line)| (serde_json::from_str::<serde_json::Value>(&j).unwrap(), line))
        .filter(|(v, _)| v["type"] == "store")
        .collect();
    assert_eq!(store_events.len(), 2, "{store_events:?}");
    assert_eq!((store_events[0].0["outcome"].as_str(), store_events[0].0["level"].as_str()), (Some("failing"), Some("warn")));
    assert!(store_events[0].1.contains("refused with 503"), "{}", store_events[0].1);
    assert_eq!(store_events[1].0["outcome"], "ok");
    assert!(store_events.iter().all(|(v, _)| v["log"] == true));
}

#[test]
fn fail_open_accepts_counts_and_reports_each_use() {
    let r = rig(true, ObserveConfig::default());
    r.store.down.store(true, Ordering::SeqCst);
    r.guard.verify(&request(&r.signer, "nonce-open-00001", b""), b"").unwrap();
    r.guard.verify(&request(&r.signer, "nonce-open-00002", b""), b"").unwrap();
    assert_eq!(r.guard.monitor().fail_open_uses(), 2);
    let kinds: Vec<String> = r
        .events
        .take()
        .iter()
        .map(|(j, _)| serde_json::from_str::<serde_json::Value>(j).unwrap())
        .map(|v| format!("{}:{}", v["type"].as_str().unwrap(), v["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, ["store:failing_open", "fail_open:accepted", "fail_open:accepted"]);
}

#[test]
fn logging_is_rate_limited_but_the_hook_sees_everything() {
    let r = rig(false, ObserveConfig { log_rate: 3, ..ObserveConfig::default() });
    let head = request(&r.signer, "nonce-0000000001", b"");
    for _ in 0..10 {
        let _ = r.guard.verify(&head, b"x");
    }
    let events = r.events.take();
    assert_eq!(events.len(), 10);
    let logged = events.iter().filter(|(j, _)| j.contains("\"log\":true")).count();
    assert_eq!(logged, 3);
}

#[test]
fn prometheus_text_has_every_family_and_refuses_bad_label_names() {
    let r = rig(false, ObserveConfig::default());
    r.guard.verify(&request(&r.signer, "nonce-0000000001", b""), b"").unwrap();
    let text = r.guard.monitor().prometheus_text(r.guard.keys(), &[("guard".into(), "api \"1\"".into())]).unwrap();
    for line in [
        "hmac_guard_verifications_total{guard=\"api \\\"1\\\"\",outcome=\"accepted\"} 1",
        "hmac_guard_key_verifications_total{guard=\"api \\\"1\\\"\",key_id=\"k1\",outcome=\"accepted\"} 1",
        "hmac_guard_verification_duration_seconds_count{guard=\"api \\\"1\\\"\"} 1",
        "hmac_guard_replay_store_up{guard=\"api \\\"1\\\"\"} 1",
        "# TYPE hmac_guard_verification_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let families: serde_json::Value = serde_json::from_str(&r.guard.monitor().families_json(r.guard.keys())).unwrap();
    let names: Vec<&str> = families.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    for name in names {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    for bad in ["1x", "__x", "a-b", "", "outcome"] {
        assert!(r.guard.monitor().prometheus_text(r.guard.keys(), &[(bad.into(), "v".into())]).is_err(), "{bad}");
    }
}
