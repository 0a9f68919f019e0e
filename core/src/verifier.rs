//! The streaming verifier: one fixed order of checks for every scheme.
//!
//! 1. `begin(head)`: parse (scheme), nonce shape, key known, key valid now, `alg` agrees,
//!    timestamp window, `expires`, declared `Content-Length` within the limit, and — when the
//!    body is bound by a signed digest — the MAC. All before one body byte is read.
//! 2. `update(chunk)`: hash the chunk; fail as soon as the byte count passes the limit.
//! 3. `finish()`: constant-time check of what is left (body digest, or the MAC over the body),
//!    then the nonce is claimed atomically — only after everything else passed, so only key
//!    holders can occupy replay-store space.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::{Clock, SystemClock};
use crate::digest::{BodyHasher, ExpectedDigest};
use crate::error::{Error, ErrorCode, Result, fail};
use crate::keyring::{Algorithm, Key, KeyRing, MacInProgress};
use crate::observe::{Monitor, ObserveConfig, Verdict};
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};
use crate::store::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};

/// How nonces are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Claimed once at `finish()`; the default.
    Consume,
    /// Webhook deliveries: reserved for `hold_secs` at `finish()`, then committed or released by
    /// the application through [`Verified::replay_ticket`].
    Reserve {
        /// How long a reservation holds without a commit.
        hold_secs: u32,
    },
}

/// Checks that do not depend on the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Oldest acceptable signature timestamp, seconds before now.
    pub max_age_secs: u32,
    /// Furthest acceptable signature timestamp, seconds after now (clock skew).
    pub max_future_skew_secs: u32,
    /// Largest body accepted, in bytes.
    pub body_limit: u64,
    /// Header size and nonce bounds.
    pub header_limits: HeaderLimits,
    /// Whether a request must carry a nonce (replay protection needs one).
    pub require_nonce: bool,
    /// How nonces are recorded.
    pub replay: ReplayMode,
    /// Whether the request's scheme and host may be taken from `Forwarded` /
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` (only behind a proxy that sets them).
    pub trust_proxy: bool,
    /// Webhooks: how long a processed delivery is remembered (the provider's retry horizon),
    /// independent of the timestamp tolerance. Unused by the other schemes.
    pub dedupe_secs: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age_secs: 300,
            max_future_skew_secs: 30,
            body_limit: 1024 * 1024,
            header_limits: HeaderLimits::default(),
            require_nonce: true,
            replay: ReplayMode::Consume,
            trust_proxy: false,
            dedupe_secs: 0,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) scheme: Arc<dyn Scheme>,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) store: Arc<dyn ReplayStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: Policy,
    pub(crate) monitor: Monitor,
}

/// A configured verifier. Cheap to clone and share across threads.
#[derive(Clone)]
pub struct Guard {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("scheme", &self.inner.scheme.name())
            .field("keys", &self.inner.keys)
            .field("store", &self.inner.store)
            .field("policy", &self.inner.policy)
            .finish()
    }
}

/// Builds a [`Guard`].
#[derive(Debug, Default)]
pub struct GuardBuilder {
    scheme: Option<Arc<dyn Scheme>>,
    keys: Option<Arc<KeyRing>>,
    store: Option<Arc<dyn ReplayStore>>,
    clock: Option<Arc<dyn Clock>>,
    policy: Policy,
    observe: ObserveConfig,
}

impl GuardBuilder {
    /// The signature scheme (required).
    #[must_use]
    pub fn scheme(mut self, scheme: Arc<dyn Scheme>) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// The key ring (defaults to an empty one that keys can be added to later).
    #[must_use]
    pub fn keys(mut self, keys: Arc<KeyRing>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The replay store (defaults to a [`MemoryStore`] with default settings).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (defaults to the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The scheme-independent policy.
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// What the monitor reports and how much it logs.
    #[must_use]
    pub fn observe(mut self, observe: ObserveConfig) -> Self {
        self.observe = observe;
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a missing scheme or inconsistent limits.
    pub fn build(self) -> Result<Guard> {
        let Some(scheme) = self.scheme else { return fail(ErrorCode::InvalidConfig, "a scheme is required") };
        let p = &self.policy;
        let l = &p.header_limits;
        if p.max_age_secs == 0 || l.max_header_len == 0 || l.min_nonce_len > l.max_nonce_len || l.max_components == 0 {
            return fail(ErrorCode::InvalidConfig, "policy limits must be positive and consistent");
        }
        if let ReplayMode::Reserve { hold_secs: 0 } = p.replay {
            return fail(ErrorCode::InvalidConfig, "a reservation hold must be positive");
        }
        let store = match self.store {
            Some(s) => s,
            None => Arc::new(MemoryStore::new(MemoryStoreConfig::default())?),
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let monitor = Monitor::new(scheme.name(), store.kind(), self.observe, Arc::clone(&clock));
        Ok(Guard {
            inner: Arc::new(Inner { scheme, keys: self.keys.unwrap_or_default(), store, clock, policy: self.policy, monitor }),
        })
    }
}

/// A successfully verified request: act only on these values.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Scheme that verified it.
    pub scheme: &'static str,
    /// Signature label (RFC 9421).
    pub label: Option<String>,
    /// Key id that verified it.
    pub key_id: String,
    /// The key's subject: the only source of identity.
    pub subject: Option<String>,
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// Signature creation time (Unix seconds).
    pub created: Option<i64>,
    /// Signature expiry (Unix seconds).
    pub expires: Option<i64>,
    /// The nonce that was claimed.
    pub nonce: Option<String>,
    /// Application tag.
    pub tag: Option<String>,
    /// Covered components and the values that were signed.
    pub covered: Covered,
    /// Body bytes verified.
    pub body_len: u64,
    /// In [`ReplayMode::Reserve`], the reservation to commit or release.
    pub replay_ticket: Option<ReplayTicket>,
    /// A webhook delivery's id and type (webhook presets).
    pub webhook: Option<crate::webhook::Delivery>,
}

impl Verified {
    /// The signed value of a covered component: a plain name (`@path`, `content-type`) or a
    /// serialized identifier (`"@query-param";name="id"`).
    #[must_use]
    pub fn component(&self, id: &str) -> Option<&str> {
        self.covered.get(id)
    }
}

/// A two-phase reservation: commit when the handler succeeded, release when it failed.
#[derive(Clone)]
pub struct ReplayTicket {
    pub(crate) guard: Guard,
    pub(crate) scheme: &'static str,
    pub(crate) key_id: String,
    pub(crate) nonce: String,
    pub(crate) ttl_ms: u64,
    pub(crate) token: u64,
}

impl fmt::Debug for ReplayTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayTicket").field("scheme", &self.scheme).field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl ReplayTicket {
    fn key(&self) -> ReplayKey<'_> {
        ReplayKey { scheme: self.scheme, key_id: &self.key_id, nonce: &self.nonce }
    }

    /// Marks the delivery as processed for the rest of its window.
    ///
    /// # Errors
    /// Store errors.
    pub fn commit(&self) -> Result<()> {
        let inner = &*self.guard.inner;
        let now_ms = inner.clock.now_ms();
        inner.monitor.store_result(inner.store.commit(&self.key(), self.ttl_ms, now_ms), inner.store.fails_open(), now_ms)
    }

    /// Drops the reservation so a retry can succeed.
    ///
    /// # Errors
    /// Store errors.
    pub fn release(&self) -> Result<()> {
        let inner = &*self.guard.inner;
        let now_ms = inner.clock.now_ms();
        inner.monitor.store_result(inner.store.release(&self.key(), self.token, now_ms), inner.store.fails_open(), now_ms)
    }

    /// [`ReplayTicket::commit`] without blocking the caller on a store that waits on the network
    /// (Redis: its own async client; any executor can poll the future).
    ///
    /// # Errors
    /// As [`ReplayTicket::commit`].
    pub fn commit_async(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let inner = &*self.guard.inner;
        let now_ms = inner.clock.now_ms();
        let pending = inner.store.commit_async(&self.key(), self.ttl_ms, now_ms);
        self.settle_async(pending, now_ms, true)
    }

    /// [`ReplayTicket::release`] without blocking the caller, as [`ReplayTicket::commit_async`].
    ///
    /// # Errors
    /// As [`ReplayTicket::release`].
    pub fn release_async(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let inner = &*self.guard.inner;
        let now_ms = inner.clock.now_ms();
        let pending = inner.store.release_async(&self.key(), self.token, now_ms);
        self.settle_async(pending, now_ms, false)
    }

    fn settle_async(
        &self,
        pending: Option<crate::store::ClaimFuture>,
        now_ms: i64,
        commit: bool,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let ticket = self.clone();
        async move {
            let inner = &*ticket.guard.inner;
            let answer = match pending {
                Some(future) => future.await.map(|_| ()),
                None if commit => inner.store.commit(&ticket.key(), ticket.ttl_ms, now_ms),
                None => inner.store.release(&ticket.key(), ticket.token, now_ms),
            };
            inner.monitor.store_result(answer, inner.store.fails_open(), now_ms)
        }
    }
}

/// Why a check ran or not, for [`Guard::explain`] and `begin`.
pub(crate) trait Observer {
    fn record(&mut self, check: &'static str, result: &Result<()>);
}

struct Silent;

impl Observer for Silent {
    fn record(&mut self, _: &'static str, _: &Result<()>) {}
}

/// Reports a verification's verdict to the monitor exactly once; dropped unsettled (the client
/// went away mid-body), it reports an abandoned verification. Silent for `explain`.
pub(crate) struct Tally {
    pub(crate) guard: Guard,
    /// `None`: silent, or already reported.
    pub(crate) started: Option<Instant>,
}

impl Tally {
    pub(crate) fn settle(&mut self, error: Option<&Error>, key: Option<&Arc<Key>>) {
        if let Some(started) = self.started.take() {
            self.guard.inner.monitor.verdict(&Verdict { error, key: key.map(|k| &**k), elapsed: started.elapsed() });
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            self.guard.inner.monitor.aborted(started.elapsed());
        }
    }
}

pub(crate) enum BodyState {
    Digest {
        hasher: BodyHasher,
        expected: ExpectedDigest,
    },
    InMac {
        mac: MacInProgress,
        suffix: Vec<u8>,
        signature: Vec<u8>,
    },
    /// One MAC per candidate secret, and the body (bounded by the limit): its id and type are
    /// read once a MAC matched.
    Webhook {
        macs: Vec<(Arc<Key>, MacInProgress)>,
        body: Vec<u8>,
    },
    Unbound,
}

/// A verification in progress. Feed the body with [`Verification::update`], then
/// [`Verification::finish`] (which consumes it, so it can be finished only once).
pub struct Verification {
    pub(crate) tally: Tally,
    pub(crate) prepared: Prepared,
    pub(crate) key: Arc<Key>,
    pub(crate) declared_len: Option<u64>,
    pub(crate) seen: u64,
    pub(crate) body: BodyState,
    pub(crate) failed: Option<Error>,
    /// Webhooks: the verified delivery, once the body matched.
    pub(crate) delivery: Option<crate::webhook::Delivery>,
}

impl fmt::Debug for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("scheme", &self.prepared.scheme)
            .field("key_id", &self.prepared.key_id)
            .field("seen", &self.seen)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A builder.
    #[must_use]
    pub fn builder() -> GuardBuilder {
        GuardBuilder::default()
    }

    /// The key ring, for rotation at runtime.
    #[must_use]
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.inner.keys
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &Arc<dyn Scheme> {
        &self.inner.scheme
    }

    /// Whether the replay store's calls may wait on the network: an async adapter then claims on
    /// a blocking-capable thread (`spawn_blocking`, `web::block`).
    #[must_use]
    pub fn claim_may_block(&self) -> bool {
        self.inner.store.may_block()
    }

    /// Whether the replay store claims without blocking ([`PendingReplay::claim_async`] then
    /// never waits on the caller's thread: Redis's own async client).
    #[must_use]
    pub fn claim_is_async(&self) -> bool {
        self.inner.store.has_async_claim()
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The `Accept-Signature` value an adapter adds to a refusal (RFC 9421 §5.1): for a 401 of
    /// a scheme that has the header, what a client must sign; `None` otherwise. `with_body`: the
    /// refused request carried a body.
    #[must_use]
    pub fn accept_signature(&self, code: ErrorCode, with_body: bool) -> Option<String> {
        if code.status() != 401 {
            return None;
        }
        self.inner.scheme.accept_signature(self.inner.policy.require_nonce, with_body)
    }

    /// The monitor: counters, the replay store's health, the reporter.
    #[must_use]
    pub fn monitor(&self) -> &Monitor {
        &self.inner.monitor
    }

    /// Counts and reports a refusal an adapter made on its own before or instead of a
    /// verification (a body consumed by another middleware, a body the server could not read).
    pub fn refused(&self, error: &Error) {
        self.inner.monitor.verdict(&Verdict { error: Some(error), key: None, elapsed: Default::default() });
    }

    /// Runs every check that needs no body. On success the body may be streamed.
    ///
    /// # Errors
    /// The first failed check.
    pub fn begin(&self, head: &RequestHead) -> Result<Verification> {
        let started = Instant::now();
        let mut key = None;
        let r = self.effective_head(head).and_then(|head| {
            let prepared = self.prepare(&head)?;
            self.begin_prepared(&head, prepared, &mut Silent, &mut key)
        });
        match r {
            Ok(mut v) => {
                v.tally.started = Some(started);
                Ok(v)
            }
            Err(e) => {
                self.inner.monitor.verdict(&Verdict { error: Some(&e), key: key.as_deref(), elapsed: started.elapsed() });
                Err(e)
            }
        }
    }

    /// The head with the URL scheme the adapter could not tell filled in, and a trusted proxy's
    /// scheme and host applied (see `forwarded.rs`); borrowed when nothing changes.
    pub(crate) fn effective_head<'h>(&self, head: &'h RequestHead) -> Result<std::borrow::Cow<'h, RequestHead>> {
        let policy = &self.inner.policy;
        crate::forwarded::effective_head(head, policy.trust_proxy, policy.header_limits.max_header_len)
    }

    /// The request-intake rules (framing, method, target: `intake.rs`), then the scheme's parse:
    /// everything that reads headers only.
    pub(crate) fn prepare(&self, head: &RequestHead) -> Result<Prepared> {
        let limits = &self.inner.policy.header_limits;
        crate::intake::check(head, limits.max_header_len)?;
        self.inner.scheme.prepare(head, limits)
    }

    /// Verifies a request whose body is fully available, on the same path as streaming.
    ///
    /// # Errors
    /// The first failed check.
    pub fn verify(&self, head: &RequestHead, body: &[u8]) -> Result<Verified> {
        let mut v = self.begin(head)?;
        v.update(body)?;
        v.finish()
    }

    pub(crate) fn begin_prepared(
        &self,
        head: &RequestHead,
        mut prepared: Prepared,
        obs: &mut dyn Observer,
        found: &mut Option<Arc<Key>>,
    ) -> Result<Verification> {
        if prepared.webhook.is_some() {
            return self.begin_webhook(head, prepared, obs, found);
        }
        let inner = &*self.inner;
        let policy = &inner.policy;
        let now_secs = inner.clock.now_secs();

        let r = check_nonce(&prepared, policy);
        obs.record("nonce format", &r);
        r?;

        let key = inner.keys.get(&prepared.key_id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownKey,
                format!("key id {:?} is not in the key ring", crate::keyring::truncate(&prepared.key_id)),
            )
        });
        obs.record("key known", &key.as_ref().map(|_| ()).map_err(Clone::clone));
        let key = key?;
        *found = Some(Arc::clone(&key));

        let r = key.check_validity(now_secs);
        obs.record("key valid now", &r);
        r?;

        let r = match prepared.algorithm {
            Some(alg) if alg != key.algorithm() => fail(
                ErrorCode::AlgorithmMismatch,
                format!("signature says {} but key {:?} is {}", alg.name(), &prepared.key_id, key.algorithm().name()),
            ),
            _ => Ok(()),
        };
        obs.record("algorithm agrees", &r);
        r?;

        let r = check_window(&prepared, policy, now_secs);
        obs.record("timestamp window", &r);
        r?;

        let declared_len = check_declared_len(head, policy);
        obs.record("content-length within limit", &declared_len.as_ref().map(|_| ()).map_err(Clone::clone));
        let declared_len = declared_len?;

        // The expected digest, suffix and signature move into the body state: nothing reads them
        // from `prepared` once the verification has begun.
        let body = match (&mut prepared.mac_input, &mut prepared.body) {
            (MacInput::Base, binding) => {
                let mut mac = key.start_mac();
                mac.update(prepared.covered.text().as_bytes());
                let r = if mac.verify(&prepared.signature) {
                    Ok(())
                } else {
                    fail(ErrorCode::SignatureMismatch, "signature does not match the signature base")
                };
                obs.record("signature", &r);
                r?;
                match binding {
                    BodyBinding::Digest(d) => {
                        BodyState::Digest { hasher: BodyHasher::for_digest(d), expected: std::mem::take(d) }
                    }
                    BodyBinding::None => BodyState::Unbound,
                    BodyBinding::InMac => {
                        return fail(ErrorCode::Internal, "scheme bound the body in a MAC it already completed");
                    }
                }
            }
            (MacInput::BodyAppended { prefix, suffix }, _) => {
                let mut mac = key.start_mac();
                mac.update(prefix);
                BodyState::InMac { mac, suffix: std::mem::take(suffix), signature: std::mem::take(&mut prepared.signature) }
            }
        };
        let tally = Tally { guard: self.clone(), started: None };
        Ok(Verification { tally, prepared, key, declared_len, seen: 0, body, failed: None, delivery: None })
    }
}

/// The declared `Content-Length`, refused above the body limit.
pub(crate) fn check_declared_len(head: &RequestHead, policy: &Policy) -> Result<Option<u64>> {
    match head.content_length()? {
        Some(n) if n > policy.body_limit => {
            fail(ErrorCode::BodyTooLarge, format!("Content-Length {n} exceeds the limit of {} bytes", policy.body_limit))
        }
        declared => Ok(declared),
    }
}

pub(crate) fn check_nonce(prepared: &Prepared, policy: &Policy) -> Result<()> {
    let limits = &policy.header_limits;
    match &prepared.nonce {
        None if policy.require_nonce => fail(ErrorCode::MissingParameter, "a nonce is required"),
        None => Ok(()),
        Some(n) if n.len() < limits.min_nonce_len || n.len() > limits.max_nonce_len => fail(
            ErrorCode::InvalidParameter,
            format!("nonce must be {}..={} characters", limits.min_nonce_len, limits.max_nonce_len),
        ),
        Some(_) => Ok(()),
    }
}

pub(crate) fn check_window(prepared: &Prepared, policy: &Policy, now: i64) -> Result<()> {
    if let Some(created) = prepared.created {
        if now.saturating_sub(created) > i64::from(policy.max_age_secs) {
            return fail(
                ErrorCode::TimestampExpired,
                format!("created {created} is more than {} s before now ({now})", policy.max_age_secs),
            );
        }
        if created.saturating_sub(now) > i64::from(policy.max_future_skew_secs) {
            return fail(
                ErrorCode::TimestampInFuture,
                format!("created {created} is more than {} s after now ({now})", policy.max_future_skew_secs),
            );
        }
    }
    if let Some(expires) = prepared.expires {
        if prepared.created.is_some_and(|c| expires < c) {
            return fail(ErrorCode::InvalidParameter, "expires is before created");
        }
        if now >= expires {
            return fail(ErrorCode::SignatureExpired, format!("signature expired at {expires} (now {now})"));
        }
    }
    Ok(())
}

impl Verification {
    /// Feeds the next body chunk. Never buffers it.
    ///
    /// # Errors
    /// `ERR_BODY_TOO_LARGE` once the byte count passes the limit, `ERR_BODY_LENGTH_MISMATCH` past
    /// the declared length, `ERR_DIGEST_REQUIRED` for body bytes nothing binds. After an error
    /// every later call returns the same error.
    pub fn update(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.absorb(chunk);
        if let Err(e) = &r {
            self.tally.settle(Some(e), Some(&self.key));
            self.failed = Some(e.clone());
        }
        r
    }

    fn absorb(&mut self, chunk: &[u8]) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let limit = self.tally.guard.inner.policy.body_limit;
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if self.seen > limit {
            return fail(ErrorCode::BodyTooLarge, format!("body exceeds the limit of {limit} bytes"));
        }
        if let Some(declared) = self.declared_len
            && self.seen > declared
        {
            return fail(ErrorCode::BodyLengthMismatch, format!("body is longer than Content-Length {declared}"));
        }
        match &mut self.body {
            BodyState::Digest { hasher, .. } => hasher.update(chunk),
            BodyState::InMac { mac, .. } => mac.update(chunk),
            BodyState::Webhook { macs, body } => {
                for (_, mac) in macs.iter_mut() {
                    mac.update(chunk);
                }
                body.extend_from_slice(chunk);
            }
            BodyState::Unbound => {
                return fail(ErrorCode::DigestRequired, "the request has a body but the signature does not bind it");
            }
        }
        Ok(())
    }

    /// Bytes seen so far.
    #[must_use]
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// The key id (known after `begin`).
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.prepared.key_id
    }

    /// Finishes the body checks and claims the nonce.
    ///
    /// # Errors
    /// The first failed check, or the store's verdict.
    pub fn finish(self) -> Result<Verified> {
        self.finish_body()?.claim()
    }

    /// Finishes the body checks but leaves the nonce unclaimed, so a binding can run the store
    /// step off its main thread. Nothing is accepted until [`PendingReplay::claim`] succeeds.
    ///
    /// # Errors
    /// The first failed body check.
    pub fn finish_body(mut self) -> Result<PendingReplay> {
        let r = self.check_body();
        if let Err(e) = &r {
            self.tally.settle(Some(e), Some(&self.key));
        }
        r?;
        Ok(PendingReplay { tally: self.tally, prepared: self.prepared, key: self.key, seen: self.seen, delivery: self.delivery })
    }

    /// Refuses the verification for a reason found outside it (the server could not read the
    /// body as framed): counted and reported as that rejection, nothing claimed.
    pub fn refuse(mut self, error: &Error) {
        self.tally.settle(Some(error), Some(&self.key));
    }

    fn check_body(&mut self) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if let Some(declared) = self.declared_len
            && self.seen != declared
        {
            return fail(ErrorCode::BodyLengthMismatch, format!("body has {} bytes, Content-Length says {declared}", self.seen));
        }
        match std::mem::replace(&mut self.body, BodyState::Unbound) {
            BodyState::Digest { hasher, expected } => {
                if !hasher.matches_digest(&expected) {
                    return fail(ErrorCode::DigestMismatch, "body does not match the signed digest");
                }
            }
            BodyState::InMac { mut mac, suffix, signature } => {
                mac.update(&suffix);
                if !mac.verify(&signature) {
                    return fail(ErrorCode::SignatureMismatch, "signature does not match the body");
                }
            }
            BodyState::Webhook { macs, body } => self.finish_webhook(macs, &body)?,
            BodyState::Unbound => {}
        }
        Ok(())
    }
}

/// A request whose signature and body are verified and whose nonce is not yet claimed.
pub struct PendingReplay {
    pub(crate) tally: Tally,
    pub(crate) prepared: Prepared,
    pub(crate) key: Arc<Key>,
    pub(crate) seen: u64,
    pub(crate) delivery: Option<crate::webhook::Delivery>,
}

impl fmt::Debug for PendingReplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingReplay").field("key_id", &self.prepared.key_id).finish_non_exhaustive()
    }
}
