//! `Guard`: built by the core from the JS options as given (`GuardConfig::from_options`), with
//! key rotation, the async one-shot verification, `explain`, and the monitor's stats and metrics.
//! The per-request path is `lane.rs`; events leave through `observe.rs`.

use std::sync::Arc;

use hmac_guard::config::LoggerChoice;
use hmac_guard::config::Spelling;
use hmac_guard::{Error, ErrorCode, Guard, GuardConfig, RedisStore};
use napi::Env;
use napi::bindgen_prelude::{AsyncTask, Buffer, Either, External, Function, PromiseRaw, Unknown};
use napi_derive::napi;

use crate::errors::{Result, guarded, shielded, type_error};
use crate::explain::ExplanationResult;
use crate::head::head_from_parts;
use crate::lane::{Lane, VerdictPromise};
use crate::observe::{JsReporter, labels_of};
use crate::options::{key_of, value_of};
use crate::verified::{Verdict, VerdictTask, VerifiedResult, claim_promise, promise_of};

/// A configured verifier. Safe to share; verifications may run concurrently (on the libuv pool,
/// or with Redis as async claims).
#[napi]
#[derive(Debug)]
pub struct NativeGuard {
    guard: Guard,
    /// Set when the replay store is Redis: its round trips must not run on the JS thread (the
    /// claim is the core's async one, `verify_async`).
    redis: Option<Arc<RedisStore>>,
    store: &'static str,
    settings: String,
    expose_reasons: bool,
    logger: LoggerChoice,
}

#[napi]
impl NativeGuard {
    /// Builds a guard from the options exactly as JS gave them; the core validates them and
    /// throws `ERR_INVALID_CONFIG` naming the option (`policy.bodyLimit`). `dispatch` receives
    /// each event as JSON when the options ask for events at all (a hook, or a logger).
    #[napi(constructor)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "GuardOptions | undefined")] options: Unknown<'_>,
        dispatch: Option<Function<'_, String, Unknown<'static>>>,
    ) -> Result<Self> {
        let options = value_of(&env, options)?;
        let built = guarded(|| GuardConfig::from_options(&options, Spelling::Node)?.build())?;
        if let (true, Some(dispatch)) = (built.observe.reports(), dispatch) {
            let reporter =
                JsReporter::new(&dispatch).map_err(|e| napi::Error::new(ErrorCode::Internal.as_str().into(), e.reason))?;
            built.guard.monitor().set_reporter(Arc::new(reporter));
        }
        Ok(NativeGuard {
            guard: built.guard,
            redis: built.redis,
            store: built.store_kind,
            settings: built.settings,
            expose_reasons: built.expose_reasons,
            logger: built.observe.logger,
        })
    }

    /// The per-request path of this guard (see `lane.rs`): sharing its key ring, policy and
    /// store. Created once per guard by the JS layer.
    #[napi]
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
        self.store
    }

    /// The effective settings (defaults filled in) as JSON, keyed by canonical id.
    #[napi(getter)]
    pub fn settings(&self) -> String {
        self.settings.clone()
    }

    /// Whether the adapters add the error's reason to their error responses (`exposeReasons`,
    /// development only).
    #[napi(getter)]
    pub fn expose_reasons(&self) -> bool {
        self.expose_reasons
    }

    /// Requests accepted without replay protection because Redis was unreachable (fail-open
    /// mode only; always 0 otherwise).
    #[napi(getter)]
    pub fn fail_open_uses(&self) -> i64 {
        i64::try_from(self.guard.monitor().fail_open_uses()).unwrap_or(i64::MAX)
    }

    /// Where log lines go: the default logger, none, or the one the options gave.
    #[napi(getter, ts_return_type = "'default' | 'off' | 'custom'")]
    pub fn logger_choice(&self) -> &'static str {
        self.logger.name()
    }

    /// The counters and the replay store's health, as camelCase JSON.
    #[napi]
    pub fn stats(&self) -> String {
        self.guard.monitor().stats_json(Spelling::Node, self.guard.keys())
    }

    /// The Prometheus metric families as JSON (`[{name, type, help, samples}]`).
    #[napi]
    pub fn metric_families(&self) -> String {
        self.guard.monitor().families_json(self.guard.keys())
    }

    /// The metrics in the Prometheus text format, each sample with the `labels` given (an object
    /// of strings, in its own order); the core checks the label names.
    #[napi]
    pub fn metrics(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Record<string, string> | undefined")] labels: Option<Unknown<'_>>,
    ) -> Result<String> {
        let extra = match labels.map(labels_of).transpose() {
            Ok(extra) => extra.unwrap_or_default(),
            Err(_) => return type_error(&env, "labels must be an object of strings"),
        };
        guarded(|| self.guard.monitor().prometheus_text(self.guard.keys(), &extra))
    }

    /// Counts and reports a refusal an adapter made itself (a body another middleware consumed).
    /// Returns false for a code the core does not know.
    #[napi]
    pub fn refused(&self, code: String, reason: String) -> bool {
        let Some(code) = ErrorCode::from_code(&code) else { return false };
        self.guard.refused(&Error::new(code, reason));
        true
    }

    /// The body limit in bytes.
    #[napi(getter)]
    pub fn body_limit(&self) -> i64 {
        i64::try_from(self.guard.policy().body_limit).unwrap_or(i64::MAX)
    }

    /// Adds a key or replaces the key with the same id; verifications in flight keep theirs.
    #[napi]
    pub fn add_key(&self, env: Env, #[napi(ts_arg_type = "KeyOptions")] key: Unknown<'_>) -> Result<()> {
        let spec = key_of(&env, key)?;
        guarded(|| self.guard.keys().upsert(spec))
    }

    /// The webhook preset this guard verifies (`stripe`, …); throws `ERR_INVALID_CONFIG` for a
    /// guard of signed requests (the core's `webhook::preset_of`): a webhook receiver checks its
    /// guard with it when it is built.
    #[napi]
    pub fn webhook_preset(&self) -> Result<String> {
        guarded(|| hmac_guard::webhook::preset_of(&self.guard).map(|p| p.name().to_string()))
    }

    /// Replaces a webhook preset's secrets at once (rotation without a restart): the core validates
    /// the list as it does the `secrets` option (`config::rotate_secrets`).
    #[napi]
    pub fn rotate_secrets(&self, env: Env, #[napi(ts_arg_type = "string | string[]")] secrets: Unknown<'_>) -> Result<()> {
        let secrets = value_of(&env, secrets)?;
        guarded(|| hmac_guard::config::rotate_secrets(&self.guard, &secrets, Spelling::Node))
    }

    /// The answer to a request refused with `code` (the core's `Guard::refusal`): status, JSON
    /// body, `Accept-Signature`, `Connection: close`, `Retry-After`. `announcedBody`: the request
    /// announced a body; `bodyFullyRead`: all of it was read. Null for a code the core does not know.
    #[napi]
    pub fn refusal(&self, code: String, reason: String, announced_body: bool, body_fully_read: bool) -> Option<RefusalResult> {
        let code = ErrorCode::from_code(&code)?;
        let r = self.guard.refusal(&Error::new(code, reason), announced_body, body_fully_read, self.expose_reasons);
        Some(RefusalResult {
            status: u32::from(r.status),
            body: r.body,
            accept_signature: r.accept_signature,
            close: r.close,
            retry_after: r.retry_after,
        })
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

    /// One-shot verification. Resolves with the result or with an error value (`{code, reason}`)
    /// that the JS layer turns into a rejection. With a store that claims asynchronously (Redis)
    /// every check runs here, as in `verify`, a failure throwing, and only the claim is awaited
    /// (`verified::claim_promise`: no libuv pool thread waits on Redis); otherwise the whole
    /// verification runs on the libuv pool.
    #[napi(ts_return_type = "Promise<VerifiedResult | ErrorValue>")]
    pub fn verify_async<'env>(
        &self,
        env: &'env Env,
        parts: String,
        lens: &[u32],
        body: Option<Buffer>,
    ) -> Result<VerdictPromise<'env>> {
        if self.guard.claim_is_async() {
            let pending = guarded(|| {
                let mut v = self.guard.begin(&head_from_parts(&parts, lens)?)?;
                v.update(body.as_deref().unwrap_or_default())?;
                v.finish_body()
            })?;
            return claim_promise(env, pending, self.redis.is_some()).map(Either::B);
        }
        let head = shielded(|| head_from_parts(&parts, lens));
        let guard = self.guard.clone();
        Ok(Either::A(VerdictTask::new(self.redis.is_some(), move || guard.verify(&head?, body.as_deref().unwrap_or_default()))))
    }

    /// The `Accept-Signature` field value (RFC 9421 §5.1) for a refusal with `code`, as the core
    /// builds it: only for a 401 of the RFC 9421 scheme, else null (an unknown code too).
    /// `withBody`: the refused request announced a body.
    #[napi]
    pub fn accept_signature(&self, code: String, with_body: bool) -> Option<String> {
        ErrorCode::from_code(&code).and_then(|c| self.guard.accept_signature(c, with_body))
    }

    /// What the server computes for a request: signature base, covered components, each check.
    #[napi]
    pub fn explain(&self, parts: String, lens: &[u32], body: Option<&[u8]>) -> Result<ExplanationResult> {
        guarded(|| Ok(ExplanationResult::from(self.guard.explain(&head_from_parts(&parts, lens)?, body))))
    }
}

/// How an adapter answers a refused request (the core's `Refusal`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct RefusalResult {
    /// The HTTP status.
    pub status: u32,
    /// The JSON body (`{"error":{"code","message"}}`, `reason` added with `exposeReasons`).
    pub body: String,
    /// The `Accept-Signature` field value, when the scheme has one.
    pub accept_signature: Option<String>,
    /// Answer with `Connection: close` and read nothing more.
    pub close: bool,
    /// `Retry-After` seconds (a webhook delivery in flight).
    pub retry_after: Option<u32>,
}

/// Testing aid: panics inside the boundary, to prove a panic reaches JS as `ERR_INTERNAL`.
#[napi(js_name = "__panicForTest")]
pub fn panic_for_test() -> Result<()> {
    guarded(|| -> hmac_guard::Result<()> { panic!("deliberate panic for the boundary test") })
}

/// Testing aid: panics on the libuv pool (where in-memory verifyAsync/finishAsync run), to prove a
/// panic there resolves as an `ERR_INTERNAL` error value instead of aborting the process.
#[napi(js_name = "__panicForTestAsync", ts_return_type = "Promise<VerifiedResult | ErrorValue>")]
pub fn panic_for_test_async() -> AsyncTask<VerdictTask> {
    VerdictTask::new(false, || panic!("deliberate panic on the pool"))
}

/// Testing aid: a claim future that panics while polled on napi's runtime (where the Redis
/// claims are awaited), to prove the panic resolves as an `ERR_INTERNAL` error value.
#[napi(js_name = "__panicForTestClaim", ts_return_type = "Promise<VerifiedResult | ErrorValue>")]
pub fn panic_for_test_claim(env: &Env) -> Result<PromiseRaw<'_, Verdict>> {
    let panics = std::future::poll_fn(|_| -> std::task::Poll<hmac_guard::Result<VerifiedResult>> {
        panic!("deliberate panic in a claim")
    });
    promise_of(env, panics)
}
