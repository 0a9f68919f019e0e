#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod claim;
pub mod clock;
pub mod config;
pub mod digest;
pub mod error;
pub mod explain;
pub mod forwarded;
pub mod intake;
mod json;
pub mod keyring;
pub mod observe;
pub mod refusal;
pub mod request;
pub mod rfc9421;
pub mod scheme;
pub mod sf;
pub mod signer;
pub mod simple;
pub mod store;
pub mod verifier;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{BuiltGuard, GuardConfig, Spelling, Value};
pub use digest::DigestAlgorithm;
pub use error::{Error, ErrorCode, Result};
pub use explain::{Explanation, Outcome};
pub use keyring::{Algorithm, Key, KeyRing, KeySpec};
pub use observe::{Event, EventKind, Level, Monitor, ObserveConfig, Reporter};
pub use refusal::Refusal;
pub use request::RequestHead;
pub use rfc9421::{Rfc9421, Rfc9421Config};
pub use scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};
pub use signer::{Rfc9421SignOptions, Signer, SimpleSignOptions, random_nonce};
pub use simple::Simple;
pub use store::{MemoryStore, MemoryStoreConfig, ReplayKey, ReplayStore};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreConfig};
pub use verifier::{Guard, GuardBuilder, PendingReplay, Policy, ReplayMode, ReplayTicket, Verification, Verified};
pub use webhook::{Delivery, Preset, WebhookScheme};
