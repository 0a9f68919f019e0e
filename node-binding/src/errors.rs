//! The error boundary: core errors leave as JS errors whose `code` is the `ERR_*` string and whose
//! message is the core's reason (never a secret); panics are caught and leave as `ERR_INTERNAL`.
//! `lib/errors.js` turns them into `HmacGuardError`s with the status and generic message of
//! [`error_codes`], so the core stays the only source of truth.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use hmac_guard::{Error as CoreError, ErrorCode};
use napi_derive::napi;

/// The result type of every exported function: a JS error whose `code` is the `ERR_*` string.
pub(crate) type Result<T> = napi::Result<T, String>;

/// A core error as the JS error the JS layer understands.
pub(crate) fn js_error(e: &CoreError) -> napi::Error<String> {
    napi::Error::new(e.code().as_str().to_string(), e.reason().to_string())
}

/// A boundary error back as a core error (for values that cross as [`ErrorValue`]).
pub(crate) fn core_of(e: napi::Error<String>) -> CoreError {
    CoreError::new(ErrorCode::from_code(&e.status).unwrap_or(ErrorCode::Internal), e.reason)
}

/// A core error with a code and a reason.
pub(crate) fn core_error(code: ErrorCode, reason: impl Into<String>) -> CoreError {
    CoreError::new(code, reason)
}

/// The error of a blocking store step asked for on the JS thread.
pub(crate) fn blocking_refused(what: &str) -> CoreError {
    core_error(
        ErrorCode::InvalidState,
        format!(
            "{what} would block the event loop on the Redis replay store: use the async variant (verifyAsync, finishAsync, commitAsync, releaseAsync)"
        ),
    )
}

/// Throws a `TypeError` (a wrong argument, not a wrong option value: those are the core's).
pub(crate) fn type_error<T>(env: &napi::Env, message: &str) -> Result<T> {
    let _ = env.throw_type_error(message, None);
    // napi-rs leaves a pending exception in place instead of throwing this one.
    Err(napi::Error::new("PendingException".into(), String::new()))
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

/// An error as a value (used where a promise resolves instead of rejecting).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorValue {
    /// Stable `ERR_*` code.
    pub code: String,
    /// Internal reason (no secrets).
    pub reason: String,
}

impl From<&CoreError> for ErrorValue {
    fn from(e: &CoreError) -> Self {
        ErrorValue { code: e.code().as_str().to_string(), reason: e.reason().to_string() }
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
    let info = |c: &ErrorCode| ErrorCodeInfo { code: c.as_str().into(), status: c.status().into(), message: c.message().into() };
    ErrorCode::ALL.iter().map(info).collect()
}

/// The version of the core this addon was built with.
#[napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
