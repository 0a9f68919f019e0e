//! The last step of a verification: claiming the nonce in the replay store, blocking or async,
//! then turning the store's answer into the verdict (health, fail-open, data loss, the ticket).
//! Both forms share every step but the store call.

use crate::error::{Error, ErrorCode, Result, fail};
use crate::store::ReplayKey;
use crate::verifier::{Inner, PendingReplay, ReplayMode, ReplayTicket, Verified, check_window};

/// The store call a claim needs, worked out before it runs.
struct Plan {
    ttl_ms: u64,
    /// `Some(hold)` for a reservation (two-phase), `None` for a plain claim.
    hold_ms: Option<u64>,
    now_ms: i64,
    signed_ms: Option<i64>,
}

impl PendingReplay {
    /// Claims the nonce (one atomic store step) and returns the verified request.
    ///
    /// # Errors
    /// `ERR_REPLAY`, `ERR_REPLAY_STORE_FULL`, `ERR_REPLAY_STORE_UNAVAILABLE`.
    pub fn claim(self) -> Result<Verified> {
        let r = match self.plan() {
            Ok(Some(plan)) => {
                let answer = self.store_call(&plan);
                self.apply(&plan, answer)
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        self.conclude(r)
    }

    /// As [`PendingReplay::claim`], without blocking the caller on a store that waits on the
    /// network (Redis: its own runtime and multiplexed connection answer; the future can be
    /// polled on any executor). Stores without an async path answer inline.
    ///
    /// # Errors
    /// As [`PendingReplay::claim`].
    pub async fn claim_async(self) -> Result<Verified> {
        let r = match self.plan() {
            Ok(Some(plan)) => {
                let pending = self.start_async(&plan);
                let answer = match pending {
                    Some(future) => future.await,
                    None => self.store_call(&plan),
                };
                self.apply(&plan, answer)
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        self.conclude(r)
    }

    fn inner(&self) -> &Inner {
        &self.tally.guard.inner
    }

    fn replay_key(&self) -> Option<ReplayKey<'_>> {
        let p = &self.prepared;
        // A delivery is one per endpoint, whichever of its secrets signed it (rotation).
        let key_id = match &p.webhook {
            Some(w) => &*w.endpoint,
            None => p.key_id.as_str(),
        };
        p.nonce.as_deref().map(|nonce| ReplayKey { scheme: p.scheme, key_id, nonce })
    }

    /// The store's "taken" answers as this scheme reports them: a webhook's copy of a committed
    /// delivery is a duplicate (answered 2xx, the handler not run), one in flight is in progress
    /// (409); for signed requests both are a replay.
    fn taken(&self, answer: Result<u64>) -> Result<u64> {
        let webhook = self.prepared.webhook.is_some();
        answer.map_err(|e| match e.code() {
            ErrorCode::Replay if webhook => Error::new(ErrorCode::DuplicateDelivery, "this delivery was already processed"),
            ErrorCode::DeliveryInProgress if !webhook => Error::new(ErrorCode::Replay, e.reason()),
            _ => e,
        })
    }

    /// The checks that come first, again (a head that arrived in the window's last second with a
    /// body that finished after it must not be claimed after the original's entry expired), and
    /// the store call to make: none without a nonce.
    fn plan(&self) -> Result<Option<Plan>> {
        let inner = self.inner();
        let now_ms = inner.clock.now_ms();
        let now_secs = now_ms.div_euclid(1000);
        let p = &self.prepared;
        check_window(p, &inner.policy, now_secs)?;
        self.key.check_validity(now_secs)?;
        if p.nonce.is_none() {
            return Ok(None);
        }
        // Remember the nonce until its timestamp can no longer pass the window check, plus the
        // future skew as a margin for hosts whose clocks differ (shared stores).
        let created = p.created.unwrap_or(now_secs);
        let last_ok_ms = created
            .saturating_add(i64::from(inner.policy.max_age_secs))
            .saturating_add(i64::from(inner.policy.max_future_skew_secs))
            .saturating_add(1)
            .saturating_mul(1000);
        let mut ttl_ms = u64::try_from(last_ok_ms.saturating_sub(now_ms)).unwrap_or(0).max(1000);
        if p.webhook.is_some() {
            // Provider retries come with new timestamps for as long as the provider retries.
            ttl_ms = ttl_ms.max(u64::from(inner.policy.dedupe_secs) * 1000);
        }
        let hold_ms = match inner.policy.replay {
            ReplayMode::Consume => None,
            ReplayMode::Reserve { hold_secs } => Some(u64::from(hold_secs) * 1000),
        };
        Ok(Some(Plan { ttl_ms, hold_ms, now_ms, signed_ms: p.created.map(|c| c.saturating_mul(1000)) }))
    }

    /// The blocking store call: the reservation token, or 0 for a plain claim.
    fn store_call(&self, plan: &Plan) -> Result<u64> {
        let store = &self.inner().store;
        let Some(key) = self.replay_key() else { return Ok(0) };
        match plan.hold_ms {
            None => store.insert_if_absent(&key, plan.ttl_ms, plan.now_ms).map(|()| 0),
            Some(hold) => store.reserve(&key, hold, plan.now_ms),
        }
    }

    fn start_async(&self, plan: &Plan) -> Option<crate::store::ClaimFuture> {
        let key = self.replay_key()?;
        let (ms, reserve) = plan.hold_ms.map_or((plan.ttl_ms, false), |hold| (hold, true));
        self.inner().store.claim_async(&key, ms, reserve, plan.now_ms)
    }

    /// The store's answer through the monitor (health, fail-open), the data-loss rule, the ticket.
    fn apply(&self, plan: &Plan, answer: Result<u64>) -> Result<Option<ReplayTicket>> {
        let guard = &self.tally.guard;
        let inner = self.inner();
        let token = inner.monitor.store_result(self.taken(answer), inner.store.fails_open(), plan.now_ms)?;
        if let Err(e) = refuse_if_lost(inner, plan.signed_ms, plan.now_ms) {
            if let (Some(_), Some(key)) = (plan.hold_ms, self.replay_key()) {
                // Refused: the reservation must not hold the delivery (best effort). On a store
                // with its own I/O the release runs there and nobody waits for it.
                match inner.store.release_async(&key, token, plan.now_ms) {
                    Some(started) => drop(started),
                    None => drop(inner.store.release(&key, token, plan.now_ms)),
                }
            }
            return Err(e);
        }
        Ok(match (plan.hold_ms, self.replay_key()) {
            (Some(_), Some(key)) => Some(ReplayTicket {
                guard: guard.clone(),
                scheme: self.prepared.scheme,
                key_id: key.key_id.to_string(),
                nonce: key.nonce.to_string(),
                ttl_ms: plan.ttl_ms,
                token,
            }),
            _ => None,
        })
    }

    /// Reports the verdict and builds the result.
    fn conclude(mut self, r: Result<Option<ReplayTicket>>) -> Result<Verified> {
        self.tally.settle(r.as_ref().err(), Some(&self.key));
        let ticket = r?;
        let p = self.prepared;
        Ok(Verified {
            scheme: p.scheme,
            label: p.label,
            key_id: p.key_id,
            subject: self.key.subject().map(|s| s.to_string()),
            algorithm: self.key.algorithm(),
            created: p.created,
            expires: p.expires,
            nonce: p.nonce,
            tag: p.tag,
            covered: p.covered,
            body_len: self.seen,
            replay_ticket: ticket,
            webhook: self.delivery,
        })
    }
}

/// After a claim: if the store noticed that it lost claims (Redis restarted empty, flushed, failed
/// over to a lagging replica), a request signed before that moment may be the replay of one it
/// forgot, so it is refused — fail closed, 503 — until its timestamp window has passed; requests
/// signed after it are accepted at once. `signed_ms`: the signature's `created`, if it has one.
fn refuse_if_lost(inner: &Inner, signed_ms: Option<i64>, now_ms: i64) -> Result<()> {
    let Some(lost_ms) = inner.store.lost_at_ms() else { return Ok(()) };
    let p = &inner.policy;
    let window_ms = (i64::from(p.max_age_secs) + i64::from(p.max_future_skew_secs) + 1) * 1000;
    let until_ms = lost_ms.saturating_add(window_ms);
    inner.monitor.store_lost(lost_ms, until_ms);
    if now_ms < until_ms && signed_ms.is_none_or(|s| s < lost_ms) {
        return fail(
            ErrorCode::ReplayStoreUnavailable,
            format!(
                "the replay store lost its claims at {lost_ms} (Unix ms): requests signed before then are refused until {until_ms}"
            ),
        );
    }
    Ok(())
}
