//! The verifier's steps for a webhook: every valid secret is a candidate, the body streams
//! through one MAC per candidate, and at the end each MAC is compared with every signature.

use std::sync::Arc;

use subtle::ConstantTimeEq as _;

use super::MAX_SECRETS;
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::{Key, MacInProgress};
use crate::request::RequestHead;
use crate::scheme::{MacInput, Prepared};
use crate::verifier::{BodyState, Guard, Observer, Tally, Verification, check_declared_len, check_window};

impl Guard {
    /// `begin` for a webhook scheme: candidates, timestamp window, declared length; nothing can
    /// match when the request carries no usable signature, so that fails before the body.
    pub(crate) fn begin_webhook(
        &self,
        head: &RequestHead,
        prepared: Prepared,
        obs: &mut dyn Observer,
        found: &mut Option<Arc<Key>>,
    ) -> Result<Verification> {
        let inner = &*self.inner;
        let policy = &inner.policy;
        let now_secs = inner.clock.now_secs();

        let candidates = inner.keys.candidates(now_secs, MAX_SECRETS);
        let r =
            if candidates.is_empty() { fail(ErrorCode::UnknownKey, "no secret of this endpoint is valid now") } else { Ok(()) };
        obs.record("key known", &r);
        r?;
        let first = Arc::clone(&candidates[0]);
        *found = Some(Arc::clone(&first));

        let r = check_window(&prepared, policy, now_secs);
        obs.record("timestamp window", &r);
        r?;

        let r = match prepared.webhook.as_deref() {
            Some(w) if w.signatures.is_empty() => {
                fail(ErrorCode::SignatureMismatch, "no signature of the version, encoding and length this provider uses")
            }
            _ => Ok(()),
        };
        obs.record("signature", &r);
        r?;

        let declared_len = check_declared_len(head, policy);
        obs.record("content-length within limit", &declared_len.as_ref().map(|_| ()).map_err(Clone::clone));
        let declared_len = declared_len?;

        let prefix = match &prepared.mac_input {
            MacInput::BodyAppended { prefix, .. } => prefix.as_slice(),
            MacInput::Base => &[],
        };
        let macs = candidates
            .into_iter()
            .map(|key| {
                let mut mac = key.start_mac();
                mac.update(prefix);
                (key, mac)
            })
            .collect();
        // The body is kept for its id and type (read once a MAC matched), never past the limit.
        let capacity = usize::try_from(declared_len.unwrap_or(0).min(64 * 1024)).unwrap_or(0);
        let body = BodyState::Webhook { macs, body: Vec::with_capacity(capacity) };
        let tally = Tally { guard: self.clone(), started: None };
        Ok(Verification { tally, prepared, key: first, declared_len, seen: 0, body, failed: None, delivery: None })
    }
}

impl Verification {
    /// Compares every candidate's MAC with every signature (each comparison in constant time,
    /// all of them made), then reads the delivery's id and type and the nonce it is claimed under.
    pub(crate) fn finish_webhook(&mut self, macs: Vec<(Arc<Key>, MacInProgress)>, body: &[u8]) -> Result<()> {
        let Some(w) = self.prepared.webhook.as_deref() else {
            return fail(ErrorCode::Internal, "webhook body state without a webhook scheme");
        };
        let mut matched: Option<(Arc<Key>, Vec<u8>)> = None;
        for (key, mac) in macs {
            let computed = mac.finalize();
            let mut hit = subtle::Choice::from(0);
            for signature in &w.signatures {
                hit |= computed.as_slice().ct_eq(signature.as_slice());
            }
            if bool::from(hit) && matched.is_none() {
                matched = Some((key, computed));
            }
        }
        let Some((key, mac)) = matched else {
            return fail(ErrorCode::SignatureMismatch, "no signature matches the body with any secret of this endpoint");
        };
        let (delivery, nonce) = super::delivery::resolve(w, body, &mac);
        self.prepared.key_id = key.id().to_string();
        self.prepared.nonce = Some(nonce);
        self.key = key;
        self.delivery = Some(delivery);
        Ok(())
    }
}
