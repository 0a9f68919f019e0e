#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
#[cfg(feature = "axum")]
mod extract;
mod head;
mod layer;
mod respond;
mod settle;
#[cfg(feature = "axum")]
mod webhook;

#[cfg(feature = "axum")]
pub use extract::{Hmac, MissingLayer, VerifiedBody};
pub use hmac_guard::{Guard, Verified};
pub use layer::{HmacGuardLayer, HmacGuardService};
#[cfg(feature = "axum")]
pub use webhook::Webhook;
