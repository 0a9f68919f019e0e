//! The Node.js binding of hmac-guard (napi-rs).
//!
//! This crate only translates: JS values in, `hmac_guard` calls, JS values out. It never
//! re-implements a check. Every core error leaves as a JS `Error` whose `code` is the stable
//! `ERR_*` string and whose message is the core's internal reason (never a secret); the JS layer
//! (`index.js`) turns it into an `HmacGuardError` with the status and the generic message, both
//! taken from [`error_codes`] so the core stays the only source of truth. Every entry point runs
//! under `catch_unwind`: a Rust panic reaches JS as `ERR_INTERNAL`, never as a crash.

#![deny(unsafe_code)]

pub mod cli;
mod convert;
mod guard;
mod lane;
mod signer;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use hmac_guard::{Error as CoreError, ErrorCode};
use napi_derive::napi;

pub use guard::{ClaimTask, NativeGuard, NativeReplayTicket, TicketTask};
pub use lane::{
    Lane, lane_abort, lane_begin, lane_bytes_seen, lane_finish, lane_finish_async, lane_in_flight, lane_key_id, lane_update,
    lane_verify,
};
pub use signer::{NativeSigner, mac_for_test};

/// The result type of every exported function: a JS error whose `code` is the `ERR_*` string.
pub(crate) type Result<T> = napi::Result<T, String>;

/// Converts a core error into the JS error the JS layer understands.
pub(crate) fn js_error(e: &CoreError) -> napi::Error<String> {
    napi::Error::new(e.code().as_str().to_string(), e.reason().to_string())
}

/// A core error with a code and a reason.
pub(crate) fn core_error(code: ErrorCode, reason: impl Into<String>) -> CoreError {
    CoreError::new(code, reason)
}

static QUIET_PANICS: Once = Once::new();

/// Runs `f`, mapping core errors to JS errors and panics to `ERR_INTERNAL`.
pub(crate) fn guarded<T>(f: impl FnOnce() -> hmac_guard::Result<T>) -> Result<T> {
    // This addon has its own copy of std, so its panic hook is its own: print one line (where,
    // not what: a payload could echo request data) instead of a backtrace in the host's stderr.
    QUIET_PANICS.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            eprintln!("hmac-guard: internal panic{at}; reported to JS as ERR_INTERNAL");
        }));
    });
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(js_error(&e)),
        Err(_) => Err(js_error(&core_error(ErrorCode::Internal, "the native addon panicked; the call was abandoned"))),
    }
}

/// One entry of the error table.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorCodeInfo {
    /// Stable string code, e.g. `ERR_SIGNATURE_MISMATCH`.
    pub code: String,
    /// HTTP status an adapter answers with.
    pub status: u32,
    /// Generic message that is safe to send to clients.
    pub message: String,
}

/// Every error code the core defines, with its status and generic message.
#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo { code: c.as_str().to_string(), status: u32::from(c.status()), message: c.message().to_string() })
        .collect()
}

/// The version of the core this addon was built with.
#[napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Testing aid: panics inside the boundary, to prove a panic reaches JS as `ERR_INTERNAL`.
#[napi(js_name = "__panicForTest")]
pub fn panic_for_test() -> Result<()> {
    guarded(|| -> hmac_guard::Result<()> { panic!("deliberate panic for the boundary test") })
}

/// Testing aid: panics on the libuv pool (where the Redis round trips run), to prove a panic
/// there resolves as an `ERR_INTERNAL` error value instead of aborting the process.
#[napi(js_name = "__panicForTestAsync", ts_return_type = "Promise<ErrorValue | null>")]
pub fn panic_for_test_async() -> napi::bindgen_prelude::AsyncTask<PanicTask> {
    napi::bindgen_prelude::AsyncTask::new(PanicTask)
}

/// The task behind [`panic_for_test_async`].
#[derive(Debug)]
pub struct PanicTask;

impl napi::Task for PanicTask {
    type Output = Option<convert::ErrorValue>;
    type JsValue = Option<convert::ErrorValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let r = guarded(|| -> hmac_guard::Result<()> { panic!("deliberate panic on the pool") });
        Ok(r.err().map(|e| convert::ErrorValue { code: e.status, reason: e.reason }))
    }

    fn resolve(&mut self, _env: napi::Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}
