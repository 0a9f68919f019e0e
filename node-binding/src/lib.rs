//! The Node.js binding of hmac-guard (napi-rs). It only translates: JS values in, core calls,
//! JS values out; the options object reaches the core as given (`options.rs`). Core errors leave as
//! JS errors whose `code` is the `ERR_*` string and panics as `ERR_INTERNAL` (`errors.rs`).
//! Modules use only those before them: errors, head, verified, explain, clock, options, lane,
//! observe, guard, signer, cli.

#![deny(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod errors;
pub mod explain;
pub mod guard;
pub mod head;
pub mod lane;
pub mod observe;
pub mod options;
pub mod signer;
pub mod verified;

/// Before the addon registers: napi's async runtime, which drives the Redis claims' promises, with
/// one worker (`verified::init_runtime`).
#[napi_derive::module_init]
fn init() {
    verified::init_runtime();
}
