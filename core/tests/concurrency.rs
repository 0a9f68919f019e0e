#![allow(clippy::unwrap_used)]
//! Concurrency: one shared `Guard`, many threads, the same request at the same moment.
//!
//! - Replay races: 16 threads verify copies of one signed request released together by a
//!   `Barrier`; exactly one wins, every other gets `ERR_REPLAY`. Repeated for hundreds of
//!   distinct requests, both schemes, one-shot and streamed.
//! - Key rotation under load: keys are replaced and removed while other threads verify; verdicts
//!   stay exact whenever no rotation overlapped a verification, and a request that failed for a
//!   key reason did not burn its nonce.
//! - Two-phase replay (`ReplayMode::Reserve`): duplicates are rejected while a reservation is
//!   held, a release lets exactly one retry through, a commit keeps the nonce.
//!
//! No sleeps: time is a `ManualClock`, synchronization is barriers and atomics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use hmac_guard::{
    Algorithm, ErrorCode, Guard, KeyRing, KeySpec, ManualClock, Policy, ReplayMode, RequestHead, Rfc9421, Rfc9421SignOptions,
    Scheme, Signer, Simple, SimpleSignOptions, Verified,
};

const NOW: i64 = 1_700_000_000;
const THREADS: usize = 16;
const ROUNDS: usize = 300;

fn secret(byte: u8) -> Vec<u8> {
    vec![byte; 32]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rfc9421,
    Simple,
}

impl Kind {
    fn scheme(self) -> Arc<dyn Scheme> {
        match self {
            Kind::Rfc9421 => Arc::new(Rfc9421::default()),
            Kind::Simple => Arc::new(Simple),
        }
    }
}

fn guard(kind: Kind, keys: Arc<KeyRing>, clock: Arc<ManualClock>, policy: Policy) -> Guard {
    Guard::builder().scheme(kind.scheme()).keys(keys).clock(clock).policy(policy).build().unwrap()
}

/// A signed POST with a JSON body, unique per `tag`.
fn signed(kind: Kind, signer: &Signer, tag: &str, include_alg: bool) -> (RequestHead, Vec<u8>) {
    let body = format!("{{\"order\":\"{tag}\",\"items\":[1,2,3]}}").into_bytes();
    let path = format!("/orders/{tag}?expand=items");
    let mut head = RequestHead::new("POST", path.clone(), "https", Vec::new())
        .with_header("Host", "api.example.com")
        .with_header("Content-Type", "application/json")
        .with_header("Content-Length", body.len().to_string());
    let nonce = format!("nonce-{tag}");
    let added = match kind {
        Kind::Rfc9421 => {
            let opts =
                Rfc9421SignOptions { created: Some(NOW), nonce: Some(nonce), include_alg, ..Rfc9421SignOptions::default() };
            signer.sign_rfc9421(&head, &body, &opts).unwrap()
        }
        Kind::Simple => {
            let opts = SimpleSignOptions { timestamp: Some(NOW), nonce: Some(nonce) };
            signer.sign_simple("POST", &path, &body, &opts).unwrap()
        }
    };
    head.headers.extend(added);
    (head, body)
}

/// Verifies in three chunks (one empty), the way a streaming adapter would.
fn verify_streamed(guard: &Guard, head: &RequestHead, body: &[u8]) -> hmac_guard::Result<Verified> {
    let mut v = guard.begin(head)?;
    let mid = body.len() / 2;
    v.update(&body[..mid])?;
    v.update(&[])?;
    v.update(&body[mid..])?;
    v.finish()
}

type Outcome = Result<Option<String>, ErrorCode>;

/// Every thread verifies request `i` at the same moment, for each `i` in turn.
/// Returns `outcomes[i][thread]`.
fn race(guard: &Guard, requests: &Arc<Vec<(RequestHead, Vec<u8>)>>) -> Vec<Vec<Outcome>> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (guard, requests, barrier) = (guard.clone(), Arc::clone(requests), Arc::clone(&barrier));
            thread::spawn(move || {
                let mut out = Vec::with_capacity(requests.len());
                for (i, (head, body)) in requests.iter().enumerate() {
                    barrier.wait();
                    let r = if (t + i) % 3 == 0 { verify_streamed(&guard, head, body) } else { guard.verify(head, body) };
                    out.push(r.map(|v| v.nonce).map_err(|e| e.code()));
                }
                out
            })
        })
        .collect();
    let per_thread: Vec<Vec<Outcome>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    (0..requests.len()).map(|i| per_thread.iter().map(|o| o[i].clone()).collect()).collect()
}

fn assert_exactly_one_winner(kind: Kind, outcomes: &[Vec<Outcome>]) {
    for (i, round) in outcomes.iter().enumerate() {
        let winners: Vec<_> = round.iter().filter(|o| o.is_ok()).collect();
        assert_eq!(winners.len(), 1, "{kind:?} request {i}: {round:?}");
        assert_eq!(winners[0].as_ref().unwrap().as_deref(), Some(format!("nonce-r{i}").as_str()));
        for o in round.iter().filter(|o| o.is_err()) {
            assert_eq!(o, &Err(ErrorCode::Replay), "{kind:?} request {i}: {round:?}");
        }
    }
}

#[test]
fn exactly_one_of_many_simultaneous_duplicates_is_accepted() {
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("client-1", secret(1), Algorithm::HmacSha256)).unwrap();
        let signer = Signer::new(KeySpec::new("client-1", secret(1), Algorithm::HmacSha256)).unwrap();
        let g = guard(kind, keys, Arc::new(ManualClock::at_secs(NOW)), Policy::default());
        let requests = Arc::new((0..ROUNDS).map(|i| signed(kind, &signer, &format!("r{i}"), false)).collect::<Vec<_>>());
        let outcomes = race(&g, &requests);
        assert_exactly_one_winner(kind, &outcomes);
        // And afterwards every one of them is a replay.
        for (head, body) in requests.iter() {
            assert_eq!(g.verify(head, body).unwrap_err().code(), ErrorCode::Replay);
        }
    }
}

#[test]
fn a_verification_keeps_the_key_it_started_with() {
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("k", secret(1), Algorithm::HmacSha256)).unwrap();
        let signer = Signer::new(KeySpec::new("k", secret(1), Algorithm::HmacSha256)).unwrap();
        let g = guard(kind, Arc::clone(&keys), Arc::new(ManualClock::at_secs(NOW)), Policy::default());
        let (head, body) = signed(kind, &signer, "held", false);
        let mut v = g.begin(&head).unwrap();
        v.update(&body[..3]).unwrap();
        assert!(keys.remove("k"));
        v.update(&body[3..]).unwrap();
        assert_eq!(v.finish().unwrap().key_id, "k", "{kind:?}");
        // A new verification does see the removal.
        let (head, body) = signed(kind, &signer, "after", false);
        assert_eq!(g.verify(&head, &body).unwrap_err().code(), ErrorCode::UnknownKey);
    }
}

/// A request for the rotation test: whether it is signed with the rotating key, head, body.
type RotRequest = (bool, RequestHead, Vec<u8>);

/// Key states the rotator cycles through for key id `rot`; requests are signed with state 0.
const ROT_STATES: usize = 4;

fn apply_rot_state(keys: &KeyRing, state: usize) {
    match state {
        0 => keys.upsert(KeySpec::new("rot", secret(2), Algorithm::HmacSha256)).unwrap(),
        1 => {
            keys.remove("rot");
        }
        2 => keys.upsert(KeySpec::new("rot", secret(3), Algorithm::HmacSha256)).unwrap(),
        _ => keys.upsert(KeySpec::new("rot", secret(2), Algorithm::HmacSha512)).unwrap(),
    }
}

/// What a request signed with state 0 (`alg` included for RFC 9421) gets under each state.
fn expected_under(kind: Kind, state: usize) -> Option<ErrorCode> {
    match (state, kind) {
        (0, _) => None,
        (1, _) => Some(ErrorCode::UnknownKey),
        // State 3 is the right secret under HMAC-SHA512: RFC 9421 names the algorithm, so it
        // fails on `alg`; the simple scheme has no `alg`, so the MAC itself does not match.
        (3, Kind::Rfc9421) => Some(ErrorCode::AlgorithmMismatch),
        _ => Some(ErrorCode::SignatureMismatch),
    }
}

#[test]
fn key_rotation_while_verifying() {
    const VERIFIERS: usize = 4;
    const PER_VERIFIER: usize = 250;
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let keys = Arc::new(KeyRing::new());
        keys.upsert(KeySpec::new("stable", secret(1), Algorithm::HmacSha512)).unwrap();
        apply_rot_state(&keys, 0);
        let g = guard(kind, Arc::clone(&keys), Arc::new(ManualClock::at_secs(NOW)), Policy::default());
        let stable = Signer::new(KeySpec::new("stable", secret(1), Algorithm::HmacSha512)).unwrap();
        let rot = Signer::new(KeySpec::new("rot", secret(2), Algorithm::HmacSha256)).unwrap();
        let requests: Arc<Vec<Vec<RotRequest>>> = Arc::new(
            (0..VERIFIERS)
                .map(|t| {
                    (0..PER_VERIFIER)
                        .map(|i| {
                            let is_rot = i % 2 == 0;
                            let signer = if is_rot { &rot } else { &stable };
                            let (h, b) = signed(kind, signer, &format!("t{t}-{i}"), true);
                            (is_rot, h, b)
                        })
                        .collect()
                })
                .collect(),
        );

        // Even version: no rotation in progress; state = (version / 2) % ROT_STATES.
        let version = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let rotator = {
            let (keys, version, stop) = (Arc::clone(&keys), Arc::clone(&version), Arc::clone(&stop));
            thread::spawn(move || {
                let mut ops: u64 = 0;
                while !stop.load(Ordering::SeqCst) && ops < 100_000 {
                    // Rotate in bursts, then let a few verifications run in a stable state.
                    for _ in 0..3 {
                        ops += 1;
                        version.fetch_add(1, Ordering::SeqCst);
                        apply_rot_state(&keys, usize::try_from(ops).unwrap() % ROT_STATES);
                        version.fetch_add(1, Ordering::SeqCst);
                    }
                    // Busy-wait a varying while (no sleep, no yield: a yield can park this thread
                    // for a whole time slice, and the verifiers would finish without rotation).
                    for _ in 0..(ops % 5) * 2_000 {
                        std::hint::spin_loop();
                    }
                }
                ops
            })
        };

        let barrier = Arc::new(Barrier::new(VERIFIERS));
        let verifiers: Vec<_> = (0..VERIFIERS)
            .map(|t| {
                let (g, requests, version, barrier) =
                    (g.clone(), Arc::clone(&requests), Arc::clone(&version), Arc::clone(&barrier));
                thread::spawn(move || {
                    barrier.wait();
                    let (mut exact, mut overlapped) = (0usize, 0usize);
                    let mut failed_rot = Vec::new();
                    for (i, (is_rot, head, body)) in requests[t].iter().enumerate() {
                        let before = version.load(Ordering::SeqCst);
                        let r = if i % 3 == 0 { verify_streamed(&g, head, body) } else { g.verify(head, body) };
                        let after = version.load(Ordering::SeqCst);
                        let got = r.as_ref().err().map(hmac_guard::Error::code);
                        if !is_rot {
                            assert_eq!(got, None, "{kind:?}: the untouched key must always verify: {r:?}");
                            continue;
                        }
                        let possible: Vec<Option<ErrorCode>> = (0..ROT_STATES).map(|s| expected_under(kind, s)).collect();
                        assert!(possible.contains(&got), "{kind:?}: unexpected verdict {r:?}");
                        if before == after && before % 2 == 0 {
                            let state = usize::try_from(before / 2).unwrap() % ROT_STATES;
                            assert_eq!(got, expected_under(kind, state), "{kind:?}: state {state} was stable during the check");
                            exact += 1;
                        } else {
                            overlapped += 1;
                        }
                        if got.is_some() {
                            failed_rot.push(i);
                        }
                    }
                    (exact, overlapped, failed_rot)
                })
            })
            .collect();
        let results: Vec<(usize, usize, Vec<usize>)> = verifiers.into_iter().map(|h| h.join().unwrap()).collect();
        stop.store(true, Ordering::SeqCst);
        let ops = rotator.join().unwrap();
        assert!(ops >= 2, "the rotator never ran");
        let exact: usize = results.iter().map(|(e, _, _)| e).sum();
        let overlapped: usize = results.iter().map(|(_, o, _)| o).sum();
        assert!(exact > 0, "{kind:?}: no verification ran in a known key state");

        // Back to the signing key: every request that failed for a key reason never claimed
        // its nonce, so it verifies now; every one that passed is a replay.
        apply_rot_state(&keys, 0);
        let mut retried = 0;
        for (t, (_, _, failed)) in results.iter().enumerate() {
            for (i, (is_rot, head, body)) in requests[t].iter().enumerate() {
                let r = g.verify(head, body);
                if *is_rot && failed.contains(&i) {
                    assert!(r.is_ok(), "{kind:?}: a rejected request burned its nonce: {r:?}");
                    retried += 1;
                } else {
                    assert_eq!(r.unwrap_err().code(), ErrorCode::Replay);
                }
            }
        }
        eprintln!(
            "{kind:?}: {ops} rotations; {exact} verdicts checked exactly, {overlapped} overlapped a rotation; \
             {retried} rejected then accepted"
        );
    }
}

fn reserve_guard(kind: Kind, clock: Arc<ManualClock>) -> (Guard, Signer) {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("hook", secret(4), Algorithm::HmacSha256)).unwrap();
    let policy = Policy { replay: ReplayMode::Reserve { hold_secs: 30 }, ..Policy::default() };
    (guard(kind, keys, clock, policy), Signer::new(KeySpec::new("hook", secret(4), Algorithm::HmacSha256)).unwrap())
}

/// Races one request on `THREADS` threads; returns the winners' results and the losers' codes.
fn race_once(g: &Guard, head: &RequestHead, body: &[u8]) -> (Vec<Verified>, Vec<ErrorCode>) {
    let requests = Arc::new(vec![(head.clone(), body.to_vec())]);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (g, requests, barrier) = (g.clone(), Arc::clone(&requests), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                let (head, body) = &requests[0];
                if t % 2 == 0 { g.verify(head, body) } else { verify_streamed(&g, head, body) }
            })
        })
        .collect();
    let mut ok = Vec::new();
    let mut err = Vec::new();
    for h in handles {
        match h.join().unwrap() {
            Ok(v) => ok.push(v),
            Err(e) => err.push(e.code()),
        }
    }
    (ok, err)
}

#[test]
fn reserve_mode_rejects_duplicates_while_held_and_release_allows_one_retry() {
    const DELIVERIES: usize = 40;
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let (g, signer) = reserve_guard(kind, Arc::new(ManualClock::at_secs(NOW)));
        let mut tally: HashMap<&str, usize> = HashMap::new();
        for i in 0..DELIVERIES {
            let (head, body) = signed(kind, &signer, &format!("d{i}"), false);

            // First delivery: exactly one of the simultaneous copies gets the reservation.
            let (ok, err) = race_once(&g, &head, &body);
            assert_eq!(ok.len(), 1, "{kind:?} delivery {i}: {err:?}");
            assert!(err.iter().all(|c| *c == ErrorCode::Replay), "{kind:?}: {err:?}");
            let ticket = ok[0].replay_ticket.clone().expect("reserve mode hands out a ticket");

            // While it is held, every duplicate is rejected.
            let (ok, err) = race_once(&g, &head, &body);
            assert!(ok.is_empty(), "{kind:?} delivery {i}: a duplicate got through a held reservation");
            assert!(err.iter().all(|c| *c == ErrorCode::Replay));

            if i % 2 == 0 {
                // The handler failed: release, and exactly one retry of many gets through.
                ticket.release().unwrap();
                let (ok, err) = race_once(&g, &head, &body);
                assert_eq!(ok.len(), 1, "{kind:?} delivery {i}: retry after release: {err:?}");
                assert!(err.iter().all(|c| *c == ErrorCode::Replay));
                ok[0].replay_ticket.as_ref().unwrap().commit().unwrap();
                *tally.entry("released then retried").or_default() += 1;
            } else {
                ticket.commit().unwrap();
                *tally.entry("committed").or_default() += 1;
            }
            // Committed: a later release (a confused handler) does not free the nonce.
            ticket.release().unwrap();
            assert_eq!(g.verify(&head, &body).unwrap_err().code(), ErrorCode::Replay, "{kind:?} delivery {i}");
        }
        assert_eq!(tally.values().sum::<usize>(), DELIVERIES);
    }
}

#[test]
fn reserve_mode_release_racing_retries_admits_at_most_one() {
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let (g, signer) = reserve_guard(kind, Arc::new(ManualClock::at_secs(NOW)));
        for i in 0..40 {
            let (head, body) = signed(kind, &signer, &format!("x{i}"), false);
            let ticket = g.verify(&head, &body).unwrap().replay_ticket.unwrap();
            let requests = Arc::new((head.clone(), body.clone()));
            let barrier = Arc::new(Barrier::new(THREADS));
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (g, requests, barrier, ticket) = (g.clone(), Arc::clone(&requests), Arc::clone(&barrier), ticket.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        if t == 0 {
                            ticket.release().unwrap();
                            None
                        } else {
                            Some(g.verify(&requests.0, &requests.1).map_err(|e| e.code()).map(|v| v.replay_ticket.is_some()))
                        }
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().filter_map(|h| h.join().unwrap()).collect();
            let winners = results.iter().filter(|r| r.is_ok()).count();
            assert!(winners <= 1, "{kind:?} round {i}: {results:?}");
            assert!(results.iter().all(|r| matches!(r, Ok(true) | Err(ErrorCode::Replay))), "{results:?}");
            // Whatever the interleaving, the nonce is now held (by a winner) or free (none won).
            let after = g.verify(&head, &body);
            assert_eq!(after.is_ok(), winners == 0, "{kind:?} round {i}: {after:?}");
        }
    }
}

#[test]
fn reserve_mode_hold_lapses_and_commit_outlives_it() {
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let clock = Arc::new(ManualClock::at_secs(NOW));
        let (g, signer) = reserve_guard(kind, Arc::clone(&clock));
        let (lapsing, lapsing_body) = signed(kind, &signer, "lapse", false);
        let (committed, committed_body) = signed(kind, &signer, "commit", false);
        let _held = g.verify(&lapsing, &lapsing_body).unwrap().replay_ticket.unwrap();
        g.verify(&committed, &committed_body).unwrap().replay_ticket.unwrap().commit().unwrap();

        clock.advance_ms(29_000);
        assert_eq!(g.verify(&lapsing, &lapsing_body).unwrap_err().code(), ErrorCode::Replay, "{kind:?}: still held");
        clock.advance_ms(2_000);
        // Neither committed nor released within the hold: the delivery may be retried, once.
        let (ok, err) = race_once(&g, &lapsing, &lapsing_body);
        assert_eq!(ok.len(), 1, "{kind:?}: {err:?}");
        // The committed one stays used for the rest of its window.
        assert_eq!(g.verify(&committed, &committed_body).unwrap_err().code(), ErrorCode::Replay, "{kind:?}");
    }
}

// Regression test (found by the concurrency suite, fixed with reservation tokens):
// `ReplayTicket::release` deletes whatever reservation currently holds the nonce, even one taken
// by a later retry after this ticket's hold lapsed. A slow handler that finally fails then
// cancels the retry's in-flight reservation, and a third copy is accepted while the retry is
// still being processed (two concurrent deliveries). Expected: a ticket releases only its own
// reservation (e.g. the ticket remembers its hold expiry / a reservation token and `release`
// deletes the slot only if it still matches; a release after the hold lapsed is a no-op).
#[test]
fn a_stale_ticket_cannot_release_a_newer_reservation() {
    for kind in [Kind::Rfc9421, Kind::Simple] {
        let clock = Arc::new(ManualClock::at_secs(NOW));
        let (g, signer) = reserve_guard(kind, Arc::clone(&clock));
        let (head, body) = signed(kind, &signer, "stale", false);
        // Delivery A reserves; its handler is slow and outlives the 30 s hold.
        let a = g.verify(&head, &body).unwrap().replay_ticket.unwrap();
        clock.advance_ms(31_000);
        // A retry (B) takes over the lapsed reservation and starts processing.
        let b = g.verify(&head, &body).unwrap().replay_ticket.unwrap();
        // A's handler now fails and releases its (lapsed) reservation.
        a.release().unwrap();
        // B still holds the delivery: a third copy must be rejected.
        let c = g.verify(&head, &body);
        assert_eq!(c.as_ref().err().map(hmac_guard::Error::code), Some(ErrorCode::Replay), "{kind:?}: {c:?}");
        b.commit().unwrap();
    }
}
