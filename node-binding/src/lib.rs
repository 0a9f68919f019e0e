//! The Node.js binding of hmac-guard (napi-rs).
//!
//! This crate only translates: JS values in, `hmac_guard` calls, JS values out. It never
//! re-implements a check, and it knows no option: the options object reaches the core as given
//! (`options.rs`). Every core error leaves as a JS `Error` whose `code` is the stable `ERR_*`
//! string (`errors.rs`); every entry point runs under `catch_unwind`, so a Rust panic reaches JS
//! as `ERR_INTERNAL`, never as a crash.
//!
//! Modules, each using only those listed before it: `errors`, `head`, `verified`, `explain`,
//! `clock`, `options`, `lane`, `guard`, `signer`, `cli`.

#![deny(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod errors;
pub mod explain;
pub mod guard;
pub mod head;
pub mod lane;
pub mod options;
pub mod signer;
pub mod verified;
