//! `Guard`, `Verification`, the async verify task, `explain`, key rotation.

use std::fmt;
use std::sync::Arc;

use hmac_guard::{
    Clock, ErrorCode, Explanation, Guard, HeaderLimits, KeyRing, ManualClock, MemoryStore, MemoryStoreConfig, Outcome, Policy,
    ReplayMode, ReplayTicket, RequestHead, Rfc9421, Rfc9421Config, Scheme, Simple, Verification, Verified,
};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either, External};
use napi::{Env, Task};
use napi_derive::napi;

use crate::convert::{CoveredComponent, ErrorValue, KeyOptions, Packed, head_from_parts, pack};
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
    /// Testing only: a fixed clock at this Unix time (seconds); move it with `setNow`.
    pub now: Option<i64>,
}

impl fmt::Debug for GuardOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardOptions").field("scheme", &self.scheme).field("policy", &self.policy).finish_non_exhaustive()
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
            let store_opts = options.replay_store.clone().unwrap_or_default();
            let mut store_config = MemoryStoreConfig::default();
            if let Some(c) = store_opts.capacity {
                store_config.capacity = usize_of(c);
            }
            store_config.per_key_quota = store_opts.per_key_quota.map(usize_of);
            let store = Arc::new(MemoryStore::new(store_config)?);
            let mut builder = Guard::builder().scheme(scheme).keys(ring).store(store).policy(policy);
            let manual_clock = options.now.map(|secs| Arc::new(ManualClock::at_secs(secs)));
            if let Some(clock) = &manual_clock {
                builder = builder.clock(Arc::clone(clock) as Arc<dyn Clock>);
            }
            Ok(NativeGuard { guard: builder.build()?, manual_clock })
        })
    }

    /// The scheme name.
    #[napi(getter)]
    pub fn scheme(&self) -> String {
        self.guard.scheme().name().to_string()
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

    /// Runs every check that needs no body; returns the verification to stream the body into,
    /// as an opaque handle for `stepUpdate`/`stepFinish` (a JS external: cheaper to create than a
    /// class instance on the per-request path).
    ///
    /// The request head travels as `parts` (method, target, scheme, then header names and values
    /// back to back) and `lens` (their lengths in UTF-16 code units).
    #[napi(ts_return_type = "ExternalObject<VerificationState>")]
    pub fn begin(&self, parts: String, lens: &[u32]) -> Result<External<VerificationState>> {
        guarded(|| {
            let h = head_from_parts(&parts, lens)?;
            Ok(External::new(VerificationState(Some(self.guard.begin(&h)?))))
        })
    }

    /// One-shot verification of a request whose body is in memory, on the calling thread.
    #[napi(ts_return_type = "string | VerifiedResult")]
    pub fn verify(&self, parts: String, lens: &[u32], body: Option<&[u8]>) -> Result<Packed> {
        guarded(|| {
            let h = head_from_parts(&parts, lens)?;
            self.guard.verify(&h, body.unwrap_or_default()).map(pack)
        })
    }

    /// One-shot verification on the libuv thread pool. Resolves with the result or with an
    /// error value (`{code, reason}`) that the JS layer turns into a rejection.
    #[napi(ts_return_type = "Promise<string | VerifiedResult | ErrorValue>")]
    pub fn verify_async(&self, parts: String, lens: &[u32], body: Option<Buffer>) -> AsyncTask<VerifyTask> {
        let head = guarded(|| head_from_parts(&parts, lens))
            .map_err(|e| hmac_guard::Error::new(ErrorCode::from_code(&e.status).unwrap_or(ErrorCode::Internal), e.reason));
        AsyncTask::new(VerifyTask { guard: self.guard.clone(), head: Some(head), body })
    }

    /// What the server computes for a request: signature base, covered components, each check.
    #[napi]
    pub fn explain(&self, parts: String, lens: &[u32], body: Option<&[u8]>) -> Result<ExplanationResult> {
        guarded(|| {
            let h = head_from_parts(&parts, lens)?;
            Ok(ExplanationResult::from(self.guard.explain(&h, body)))
        })
    }
}

/// The async one-shot verification.
pub struct VerifyTask {
    guard: Guard,
    head: Option<hmac_guard::Result<RequestHead>>,
    body: Option<Buffer>,
}

impl fmt::Debug for VerifyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyTask").finish_non_exhaustive()
    }
}

impl Task for VerifyTask {
    type Output = hmac_guard::Result<Verified>;
    type JsValue = Either<Packed, ErrorValue>;

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
            Ok(v) => Either::A(pack(v)),
            Err(e) => Either::B(ErrorValue::from(&e)),
        })
    }
}

fn finished() -> hmac_guard::Error {
    core_error(ErrorCode::InvalidState, "this verification is already finished")
}

/// The state behind a `begin` handle: the core verification until it is finished.
#[derive(Debug)]
pub struct VerificationState(Option<Verification>);

/// Feeds a body chunk into a `begin` verification (read in place, not copied).
#[napi]
pub fn step_update(
    #[napi(ts_arg_type = "ExternalObject<VerificationState>")] state: &mut External<VerificationState>,
    chunk: &[u8],
) -> Result<()> {
    guarded(|| state.0.as_mut().ok_or_else(finished)?.update(chunk))
}

/// Finishes a `begin` verification (once) and claims the nonce.
#[napi(ts_return_type = "string | VerifiedResult")]
pub fn step_finish(
    #[napi(ts_arg_type = "ExternalObject<VerificationState>")] state: &mut External<VerificationState>,
) -> Result<Packed> {
    guarded(|| state.0.take().ok_or_else(finished)?.finish().map(pack))
}

/// Abandons a `begin` verification; nothing is claimed.
#[napi]
pub fn step_abort(#[napi(ts_arg_type = "ExternalObject<VerificationState>")] state: &mut External<VerificationState>) {
    state.0 = None;
}

/// Body bytes a `begin` verification has seen (0 once finished).
#[napi]
pub fn step_bytes_seen(#[napi(ts_arg_type = "ExternalObject<VerificationState>")] state: &External<VerificationState>) -> i64 {
    state.0.as_ref().map_or(0, |v| i64::try_from(v.bytes_seen()).unwrap_or(i64::MAX))
}

/// The key id a `begin` verification names (`null` once finished).
#[napi]
pub fn step_key_id(
    #[napi(ts_arg_type = "ExternalObject<VerificationState>")] state: &External<VerificationState>,
) -> Option<String> {
    state.0.as_ref().map(|v| v.key_id().to_string())
}

/// A two-phase replay reservation (`reserve` mode): commit once the handler succeeded, release
/// when it failed so a retry can pass.
#[napi]
pub struct NativeReplayTicket {
    ticket: ReplayTicket,
}

impl fmt::Debug for NativeReplayTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeReplayTicket").field("ticket", &self.ticket).finish()
    }
}

impl NativeReplayTicket {
    pub(crate) fn new(ticket: ReplayTicket) -> Self {
        NativeReplayTicket { ticket }
    }
}

#[napi]
impl NativeReplayTicket {
    /// Marks the delivery as processed for the rest of its window.
    #[napi]
    pub fn commit(&self) -> Result<()> {
        guarded(|| self.ticket.commit())
    }

    /// Drops the reservation so a retry can succeed.
    #[napi]
    pub fn release(&self) -> Result<()> {
        guarded(|| self.ticket.release())
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
