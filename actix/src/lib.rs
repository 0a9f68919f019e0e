#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod extract;
mod head;
mod middleware;
mod respond;
mod settle;
mod webhook;

pub use extract::{Hmac, MissingMiddleware, VerifiedBody};
pub use hmac_guard::{Guard, Verified};
pub use middleware::{HmacGuard, HmacGuardMiddleware};
pub use webhook::Webhook;
