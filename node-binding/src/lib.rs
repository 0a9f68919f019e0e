//! The node binding of hmac-guard. It translates calls into the `hmac_guard` core and never
//! re-implements a check; the binding itself lands with its own issue.

pub use hmac_guard::ErrorCode;
