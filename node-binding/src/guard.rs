//! `Guard`, `Verification`, the async verify task, `explain`, key rotation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac_guard::{
    Clock, ErrorCode, Explanation, Guard, HeaderLimits, KeyRing, ManualClock, MemoryStore, MemoryStoreConfig, Outcome,
    PendingReplay, Policy, RedisStore, RedisStoreConfig, ReplayMode, ReplayStore, ReplayTicket, RequestHead, Rfc9421,
    Rfc9421Config, Scheme, Simple, Verified,
};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either, External};
use napi::{Env, Task};
use napi_derive::napi;

use crate::convert::{CoveredComponent, ErrorValue, KeyOptions, VerifiedResult, head_from_parts};
use crate::lane::Lane;
use crate::{Result, core_error, guarded};

/// Policy options (every field optional; defaults are the core's).
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct PolicyOptions {
    /// Oldest acceptable signature timestamp, seconds before now (default 300).
    pub max_age_secs: Option<u32>,
    /// Furthest acceptable timestamp, seconds after now (default 30).
    pub max_future_skew_secs: Option<u32>,
    /// Largest body accepted, in bytes (default 1 MiB).
    pub body_limit: Option<i64>,
    /// Whether a nonce is required (default true).
    pub require_nonce: Option<bool>,
    /// RFC 9421: components every signature must cover.
    pub required_components: Option<Vec<String>>,
    /// RFC 9421: parameters every signature must carry.
    pub required_params: Option<Vec<String>>,
    /// RFC 9421: accepted signature labels (default: the first label).
    pub accepted_labels: Option<Vec<String>>,
    /// RFC 9421: the `tag` parameter must equal this.
    pub required_tag: Option<String>,
    /// `consume` (default) or `reserve` (two-phase, for webhook deliveries).
    pub replay: Option<String>,
    /// In `reserve` mode: how long a reservation holds without a commit (default 60).
    pub reserve_hold_secs: Option<u32>,
    /// Longest value of a header the scheme reads (default 8192).
    pub max_header_len: Option<u32>,
    /// Shortest nonce accepted (default 8).
    pub min_nonce_len: Option<u32>,
    /// Longest nonce accepted (default 128).
    pub max_nonce_len: Option<u32>,
    /// Most covered components in one signature (default 32).
    pub max_components: Option<u32>,
}

/// The in-memory replay store's settings.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ReplayStoreOptions {
    /// Most nonces held at once (default 1 000 000); when full of live entries the guard fails
    /// closed with `ERR_REPLAY_STORE_FULL` (503).
    pub capacity: Option<u32>,
    /// Most nonces one key id may hold.
    pub per_key_quota: Option<u32>,
}

/// Options of a guard.
#[napi(object)]
pub struct GuardOptions {
    /// `rfc9421` (default) or `simple`.
    pub scheme: Option<String>,
    /// Initial keys.
    pub keys: Option<Vec<KeyOptions>>,
    /// Policy.
    pub policy: Option<PolicyOptions>,
    /// Replay store.
    pub replay_store: Option<ReplayStoreOptions>,
    /// The shared Redis replay store: `redis://[user:password@]host:port/db`. Absent: in memory.
    pub redis_url: Option<String>,
    /// Key prefix in Redis (default `hmac-guard`).
    pub redis_prefix: Option<String>,
    /// Timeout of the Redis connect and of each command, in ms (default 250).
    pub redis_timeout_ms: Option<u32>,
    /// Accept requests without replay protection while Redis is unreachable (default false).
    pub redis_fail_open: Option<bool>,
    /// For a `rediss://` URL: the CA certificate(s), PEM, to verify the server against instead of
    /// the built-in public roots (a string is taken as UTF-8). Absent: the built-in roots.
    pub redis_tls_ca: Option<Either<Buffer, String>>,
    /// Testing only: a fixed clock at this Unix time (seconds); move it with `setNow`.
    pub now: Option<i64>,
}

impl fmt::Debug for GuardOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardOptions")
            .field("scheme", &self.scheme)
            .field("policy", &self.policy)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[redacted]"))
            .field("redis_tls_ca", &self.redis_tls_ca.as_ref().map(|pem| format!("[{} bytes of PEM]", pem_bytes(pem).len())))
            .finish_non_exhaustive()
    }
}

/// The bytes of a PEM given as a Buffer or a (UTF-8) string.
fn pem_bytes(pem: &Either<Buffer, String>) -> &[u8] {
    match pem {
        Either::A(b) => b,
        Either::B(s) => s.as_bytes(),
    }
}

fn usize_of(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn build_policy(p: &PolicyOptions) -> hmac_guard::Result<Policy> {
    let d = Policy::default();
    let dl = HeaderLimits::default();
    let body_limit = match p.body_limit {
        None => d.body_limit,
        Some(n) => u64::try_from(n).map_err(|_| core_error(ErrorCode::InvalidConfig, "bodyLimit must not be negative"))?,
    };
    let replay = match p.replay.as_deref() {
        None | Some("consume") => ReplayMode::Consume,
        Some("reserve") => ReplayMode::Reserve { hold_secs: p.reserve_hold_secs.unwrap_or(60) },
        Some(other) => {
            return Err(core_error(ErrorCode::InvalidConfig, format!("replay must be 'consume' or 'reserve', not {other:?}")));
        }
    };
    Ok(Policy {
        max_age_secs: p.max_age_secs.unwrap_or(d.max_age_secs),
        max_future_skew_secs: p.max_future_skew_secs.unwrap_or(d.max_future_skew_secs),
        body_limit,
        header_limits: HeaderLimits {
            max_header_len: p.max_header_len.map_or(dl.max_header_len, usize_of),
            min_nonce_len: p.min_nonce_len.map_or(dl.min_nonce_len, usize_of),
            max_nonce_len: p.max_nonce_len.map_or(dl.max_nonce_len, usize_of),
            max_components: p.max_components.map_or(dl.max_components, usize_of),
        },
        require_nonce: p.require_nonce.unwrap_or(d.require_nonce),
        replay,
        trust_proxy: false,
    })
}

fn build_scheme(name: Option<&str>, p: &PolicyOptions) -> hmac_guard::Result<Arc<dyn Scheme>> {
    match name.unwrap_or("rfc9421") {
        "rfc9421" => {
            let d = Rfc9421Config::default();
            let config = Rfc9421Config {
                required_components: p.required_components.clone().unwrap_or(d.required_components),
                required_params: p.required_params.clone().unwrap_or(d.required_params),
                accepted_labels: p.accepted_labels.clone(),
                required_tag: p.required_tag.clone(),
            };
            Ok(Arc::new(Rfc9421::new(config)?))
        }
        "simple" => {
            if p.required_components.is_some()
                || p.required_params.is_some()
                || p.accepted_labels.is_some()
                || p.required_tag.is_some()
            {
                return Err(core_error(
                    ErrorCode::InvalidConfig,
                    "requiredComponents, requiredParams, acceptedLabels and requiredTag apply to the rfc9421 scheme only",
                ));
            }
            Ok(Arc::new(Simple))
        }
        other => Err(core_error(ErrorCode::InvalidConfig, format!("scheme must be 'rfc9421' or 'simple', not {other:?}"))),
    }
}

/// A configured verifier. Safe to share; verifications may run concurrently on the libuv pool.
#[napi]
pub struct NativeGuard {
    guard: Guard,
    manual_clock: Option<Arc<ManualClock>>,
    /// Set when the replay store is Redis: its round trips must not run on the JS thread.
    redis: Option<Arc<RedisStore>>,
}

/// The replay store a guard uses, and the same store as Redis when it is one.
type Stores = (Arc<dyn ReplayStore>, Option<Arc<RedisStore>>);

/// Builds the replay store: Redis when a URL is given, else in memory.
fn build_store(options: &GuardOptions) -> hmac_guard::Result<Stores> {
    let store_opts = options.replay_store.clone().unwrap_or_default();
    match options.redis_url.as_deref() {
        None | Some("") => {
            if options.redis_prefix.is_some()
                || options.redis_timeout_ms.is_some()
                || options.redis_fail_open.is_some()
                || options.redis_tls_ca.is_some()
            {
                return Err(core_error(
                    ErrorCode::InvalidConfig,
                    "redisPrefix, redisTimeoutMs, redisFailOpen and redisTlsCa need redisUrl (or HMAC_GUARD_REDIS_URL)",
                ));
            }
            let mut store_config = MemoryStoreConfig::default();
            if let Some(c) = store_opts.capacity {
                store_config.capacity = usize_of(c);
            }
            store_config.per_key_quota = store_opts.per_key_quota.map(usize_of);
            Ok((Arc::new(MemoryStore::new(store_config)?), None))
        }
        Some(url) => {
            if store_opts.capacity.is_some() || store_opts.per_key_quota.is_some() {
                return Err(core_error(ErrorCode::InvalidConfig, "replayStore options apply to the in-memory store only"));
            }
            let mut config = RedisStoreConfig::new(url);
            if let Some(prefix) = &options.redis_prefix {
                config.prefix.clone_from(prefix);
            }
            if let Some(ms) = options.redis_timeout_ms {
                config.timeout = Duration::from_millis(u64::from(ms));
            }
            config.fail_open = options.redis_fail_open.unwrap_or(false);
            config.tls_ca_pem = options.redis_tls_ca.as_ref().map(|pem| pem_bytes(pem).to_vec());
            // The core names the setting `tls_ca_pem`; here it is the `redisTlsCa` option (lib/core.js
            // names HMAC_GUARD_REDIS_TLS_CA_FILE instead when the PEM came from there).
            let store = Arc::new(RedisStore::new(config).map_err(|e| {
                if e.reason().contains("tls_ca_pem") {
                    let core_name = if e.reason().contains("redis tls_ca_pem") { "redis tls_ca_pem" } else { "tls_ca_pem" };
                    core_error(e.code(), e.reason().replace(core_name, "redisTlsCa"))
                } else {
                    e
                }
            })?);
            Ok((Arc::clone(&store) as Arc<dyn ReplayStore>, Some(store)))
        }
    }
}

/// The error of a blocking store step asked for on the JS thread.
pub(crate) fn blocking_refused(what: &str) -> hmac_guard::Error {
    core_error(
        ErrorCode::InvalidState,
        format!(
            "{what} would block the event loop on the Redis replay store: use the async variant (verifyAsync, finishAsync, commitAsync, releaseAsync)"
        ),
    )
}

impl fmt::Debug for NativeGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeGuard").field("guard", &self.guard).finish_non_exhaustive()
    }
}

#[napi]
impl NativeGuard {
    /// Builds a guard; throws `ERR_INVALID_CONFIG` for bad options or keys.
    #[napi(constructor)]
    pub fn new(options: GuardOptions) -> Result<Self> {
        guarded(|| {
            let policy_opts = options.policy.clone().unwrap_or_default();
            let policy = build_policy(&policy_opts)?;
            let scheme = build_scheme(options.scheme.as_deref(), &policy_opts)?;
            let ring = Arc::new(KeyRing::new());
            for k in options.keys.iter().flatten() {
                ring.upsert(k.to_spec()?)?;
            }
            let (store, redis) = build_store(&options)?;
            let mut builder = Guard::builder().scheme(scheme).keys(ring).store(store).policy(policy);
            let manual_clock = options.now.map(|secs| Arc::new(ManualClock::at_secs(secs)));
            if let Some(clock) = &manual_clock {
                builder = builder.clock(Arc::clone(clock) as Arc<dyn Clock>);
            }
            Ok(NativeGuard { guard: builder.build()?, manual_clock, redis })
        })
    }

    /// The per-request path of this guard (see `lane.rs`): sharing its key ring, policy and
    /// store. Created once per guard by the JS layer.
    #[napi(ts_return_type = "ExternalObject<Lane>")]
    pub fn lane(&self) -> External<Lane> {
        External::new(Lane::new(self.guard.clone(), self.redis.is_some()))
    }

    /// The scheme name.
    #[napi(getter)]
    pub fn scheme(&self) -> String {
        self.guard.scheme().name().to_string()
    }

    /// The replay store: `memory` (this process) or `redis` (shared; async verification only).
    #[napi(getter, ts_return_type = "'memory' | 'redis'")]
    pub fn store(&self) -> &'static str {
        if self.redis.is_some() { "redis" } else { "memory" }
    }

    /// Requests accepted without replay protection because Redis was unreachable (fail-open
    /// mode only; always 0 otherwise).
    #[napi(getter)]
    pub fn fail_open_uses(&self) -> i64 {
        self.redis.as_ref().map_or(0, |r| i64::try_from(r.fail_open_uses()).unwrap_or(i64::MAX))
    }

    /// The body limit in bytes.
    #[napi(getter)]
    pub fn body_limit(&self) -> i64 {
        i64::try_from(self.guard.policy().body_limit).unwrap_or(i64::MAX)
    }

    /// Adds a key or replaces the key with the same id; verifications in flight keep theirs.
    #[napi]
    pub fn add_key(&self, key: KeyOptions) -> Result<()> {
        guarded(|| self.guard.keys().upsert(key.to_spec()?))
    }

    /// Removes a key; returns whether it was present.
    #[napi]
    pub fn remove_key(&self, id: String) -> Result<bool> {
        guarded(|| Ok(self.guard.keys().remove(&id)))
    }

    /// The key ids, sorted.
    #[napi]
    pub fn key_ids(&self) -> Result<Vec<String>> {
        guarded(|| Ok(self.guard.keys().ids()))
    }

    /// Testing only: sets the fixed clock (needs the `now` option).
    #[napi]
    pub fn set_now(&self, secs: i64) -> Result<()> {
        guarded(|| match &self.manual_clock {
            Some(c) => {
                c.set_secs(secs);
                Ok(())
            }
            None => Err(core_error(ErrorCode::InvalidState, "setNow needs a guard built with the `now` option")),
        })
    }

    /// One-shot verification on the libuv thread pool. Resolves with the result or with an
    /// error value (`{code, reason}`) that the JS layer turns into a rejection.
    #[napi(ts_return_type = "Promise<VerifiedResult | ErrorValue>")]
    pub fn verify_async(&self, parts: String, lens: &[u32], body: Option<Buffer>) -> AsyncTask<VerifyTask> {
        let head = guarded(|| head_from_parts(&parts, lens))
            .map_err(|e| hmac_guard::Error::new(ErrorCode::from_code(&e.status).unwrap_or(ErrorCode::Internal), e.reason));
        AsyncTask::new(VerifyTask { guard: self.guard.clone(), head: Some(head), body, networked: self.redis.is_some() })
    }

    /// What the server computes for a request: signature base, covered components, each check.
    #[napi]
    pub fn explain(&self, parts: String, lens: &[u32], body: Option<&[u8]>) -> Result<ExplanationResult> {
        guarded(|| Ok(ExplanationResult::from(self.guard.explain(&head_from_parts(&parts, lens)?, body))))
    }
}

/// The async one-shot verification.
pub struct VerifyTask {
    guard: Guard,
    head: Option<hmac_guard::Result<RequestHead>>,
    body: Option<Buffer>,
    networked: bool,
}

impl fmt::Debug for VerifyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyTask").finish_non_exhaustive()
    }
}

impl Task for VerifyTask {
    type Output = hmac_guard::Result<Verified>;
    type JsValue = Either<VerifiedResult, ErrorValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let head = self.head.take();
        let body: &[u8] = self.body.as_deref().unwrap_or_default();
        let guard = &self.guard;
        Ok(guarded(|| {
            let h = head.ok_or_else(|| core_error(ErrorCode::InvalidState, "verification task ran twice"))??;
            guard.verify(&h, body)
        })
        .map_err(|e| hmac_guard::Error::new(ErrorCode::from_code(&e.status).unwrap_or(ErrorCode::Internal), e.reason)))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(match output {
            Ok(v) => Either::A(VerifiedResult::new(v, self.networked)),
            Err(e) => Either::B(ErrorValue::from(&e)),
        })
    }
}

/// Maps a boundary error back to a core error (for values that cross as `ErrorValue`).
fn core_of(e: napi::Error<String>) -> hmac_guard::Error {
    hmac_guard::Error::new(ErrorCode::from_code(&e.status).unwrap_or(ErrorCode::Internal), e.reason)
}

/// The store step of a streamed verification, on the libuv pool.
pub struct ClaimTask {
    pending: Option<PendingReplay>,
    networked: bool,
}

impl ClaimTask {
    pub(crate) fn new(pending: PendingReplay, networked: bool) -> Self {
        ClaimTask { pending: Some(pending), networked }
    }
}

impl fmt::Debug for ClaimTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimTask").field("pending", &self.pending).finish()
    }
}

impl Task for ClaimTask {
    type Output = hmac_guard::Result<Verified>;
    type JsValue = Either<VerifiedResult, ErrorValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let pending = self.pending.take();
        Ok(guarded(|| pending.ok_or_else(|| core_error(ErrorCode::InvalidState, "claim task ran twice"))?.claim())
            .map_err(core_of))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(match output {
            Ok(v) => Either::A(VerifiedResult::new(v, self.networked)),
            Err(e) => Either::B(ErrorValue::from(&e)),
        })
    }
}

/// A ticket's commit or release, on the libuv pool.
pub struct TicketTask {
    ticket: Arc<ReplayTicket>,
    commit: bool,
}

impl fmt::Debug for TicketTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketTask").field("commit", &self.commit).finish_non_exhaustive()
    }
}

impl Task for TicketTask {
    type Output = Option<hmac_guard::Error>;
    type JsValue = Option<ErrorValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let ticket = &self.ticket;
        let commit = self.commit;
        Ok(guarded(|| if commit { ticket.commit() } else { ticket.release() }).map_err(core_of).err())
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.as_ref().map(ErrorValue::from))
    }
}

/// A two-phase replay reservation (`reserve` mode): commit once the handler succeeded, release
/// when it failed so a retry can pass.
#[napi]
pub struct NativeReplayTicket {
    ticket: Arc<ReplayTicket>,
    networked: bool,
}

impl fmt::Debug for NativeReplayTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeReplayTicket").field("ticket", &self.ticket).finish()
    }
}

impl NativeReplayTicket {
    pub(crate) fn new(ticket: ReplayTicket, networked: bool) -> Self {
        NativeReplayTicket { ticket: Arc::new(ticket), networked }
    }
}

#[napi]
impl NativeReplayTicket {
    /// Marks the delivery as processed for the rest of its window.
    #[napi]
    pub fn commit(&self) -> Result<()> {
        guarded(|| if self.networked { Err(blocking_refused("commit()")) } else { self.ticket.commit() })
    }

    /// Drops the reservation so a retry can succeed.
    #[napi]
    pub fn release(&self) -> Result<()> {
        guarded(|| if self.networked { Err(blocking_refused("release()")) } else { self.ticket.release() })
    }

    /// `commit` on the libuv pool; resolves with `null` or an error value.
    #[napi(ts_return_type = "Promise<ErrorValue | null>")]
    pub fn commit_async(&self) -> AsyncTask<TicketTask> {
        AsyncTask::new(TicketTask { ticket: Arc::clone(&self.ticket), commit: true })
    }

    /// `release` on the libuv pool; resolves with `null` or an error value.
    #[napi(ts_return_type = "Promise<ErrorValue | null>")]
    pub fn release_async(&self) -> AsyncTask<TicketTask> {
        AsyncTask::new(TicketTask { ticket: Arc::clone(&self.ticket), commit: false })
    }
}

/// One check of an explanation.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplainCheck {
    /// Check name, e.g. `timestamp window`.
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub outcome: String,
    /// The error code when failed.
    pub code: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

/// The explanation of a request.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplanationResult {
    /// Whether every check that ran passed.
    pub ok: bool,
    /// Scheme name.
    pub scheme: String,
    /// Signature label.
    pub label: Option<String>,
    /// Key id the request names.
    pub key_id: Option<String>,
    /// Covered components and their values as the server sees them.
    pub covered: Vec<CoveredComponent>,
    /// The exact bytes the MAC runs over.
    pub signature_base: Option<String>,
    /// The checks in the verifier's order.
    pub checks: Vec<ExplainCheck>,
    /// The first failure.
    pub error: Option<ErrorValue>,
    /// A human-readable report.
    pub text: String,
}

impl From<Explanation> for ExplanationResult {
    fn from(ex: Explanation) -> Self {
        let text = ex.to_string();
        ExplanationResult {
            ok: ex.ok(),
            scheme: ex.scheme.to_string(),
            label: ex.label,
            key_id: ex.key_id,
            covered: ex.covered.into_iter().map(|(id, value)| CoveredComponent { id, value }).collect(),
            signature_base: ex.signature_base,
            checks: ex
                .checks
                .into_iter()
                .map(|(name, outcome)| {
                    let (outcome, code, reason) = match outcome {
                        Outcome::Passed => ("passed", None, None),
                        Outcome::Failed(e) => ("failed", Some(e.code().as_str().to_string()), Some(e.reason().to_string())),
                        Outcome::NotRun(why) => ("skipped", None, Some(why.to_string())),
                    };
                    ExplainCheck { name: name.to_string(), outcome: outcome.to_string(), code, reason }
                })
                .collect(),
            error: ex.error.as_ref().map(ErrorValue::from),
            text,
        }
    }
}
