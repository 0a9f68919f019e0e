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

/// Refuses a blocking store step on the JS thread when the store is Redis (`networked`).
pub(crate) fn refuse_blocking(networked: bool, what: &str) -> hmac_guard::Result<()> {
    if !networked {
        return Ok(());
    }
    let fix = "use the async variant (verifyAsync, finishAsync, commitAsync, releaseAsync)";
    Err(CoreError::new(ErrorCode::InvalidState, format!("{what} would block the event loop on the Redis replay store: {fix}")))
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
    shielded(f).map_err(|e| napi::Error::new(e.code().as_str().to_string(), e.reason().to_string()))
}

/// Runs `f`, a panic becoming an `ERR_INTERNAL` core error (for results that cross as [`ErrorValue`]).
pub(crate) fn shielded<T>(f: impl FnOnce() -> hmac_guard::Result<T>) -> hmac_guard::Result<T> {
    // This addon has its own copy of std, so its panic hook is its own: print one line (where,
    // not what: a payload could echo request data) instead of a backtrace in the host's stderr.
    QUIET_PANICS.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            eprintln!("hmac-guard: internal panic{at}; reported to JS as ERR_INTERNAL");
        }));
    });
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(CoreError::new(ErrorCode::Internal, "the native addon panicked; the call was abandoned")))
}

/// An error as a value, where a promise resolves instead of rejecting: the `ERR_*` code and the
/// internal reason (never a secret).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorValue {
    pub code: String,
    pub reason: String,
}

impl From<&CoreError> for ErrorValue {
    fn from(e: &CoreError) -> Self {
        ErrorValue { code: e.code().as_str().to_string(), reason: e.reason().to_string() }
    }
}

/// One entry of the error table: the `ERR_*` code, the HTTP status an adapter answers with, and
/// the generic message that is safe to send to clients.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorCodeInfo {
    pub code: String,
    pub status: u32,
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
