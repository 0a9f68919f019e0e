//! The one configuration contract: every binding, the CLI and Rust callers build a guard from
//! the same plain options, validated once, here.
//!
//! A binding translates its language's values into a [`Value`] tree (a JS options object, Python
//! keyword arguments) and calls [`GuardConfig::from_options`] with its [`Spelling`]; every range,
//! type, default, unknown name, impossible combination and environment variable is decided here,
//! and every error names the option as that binding spells it (`policy.maxAgeSecs` in Node,
//! `max_age_secs` in Python). No error ever contains a string the user gave: a secret put in the
//! wrong field must not reach a log.

mod env;
mod fields;
mod keys;
mod observe;
mod policy;
mod read;
mod settings;
mod store;
mod value;
mod webhook;

use std::sync::Arc;

pub use env::{Env, REDIS_TLS_CA_FILE_ENV, REDIS_URL_ENV};
pub use fields::{FIELDS, Field, Spelling, field};
pub use keys::key_spec;
pub use observe::{LoggerChoice, ObserveOptions};
pub use store::{RedisOptions, RedisSettings, StoreConfig};
pub use value::Value;
pub use webhook::{preset as webhook_preset, rotate_secrets, sign as sign_webhook};

use crate::clock::{Clock, ManualClock};
use crate::error::Result;
use crate::keyring::{KeyRing, KeySpec};
use crate::rfc9421::{Rfc9421, Rfc9421Config};
use crate::scheme::Scheme;
use crate::simple::Simple;
use crate::verifier::{Guard, Policy};
use crate::webhook::{Preset, WebhookScheme};
use read::Options;

/// The URL scheme a request is taken to have arrived by when the adapter cannot tell (`@scheme`,
/// `@target-uri`, the default port of `@authority`). Adapters pass the framework's own notion.
pub const DEFAULT_URL_SCHEME: &str = "https";

/// Every `scheme` option value: the signed-request schemes, then the webhook presets.
const SCHEMES: [&str; 8] = ["rfc9421", "simple", "standard-webhooks", "svix", "stripe", "github", "slack", "shopify"];

/// Which signature scheme, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeConfig {
    /// RFC 9421 HTTP Message Signatures.
    Rfc9421(Rfc9421Config),
    /// The simple header scheme.
    Simple,
    /// A webhook provider's rules, and the receiver's dedupe namespace.
    Webhook {
        /// The provider.
        preset: Preset,
        /// The `endpoint` option, or a name derived from the secrets.
        endpoint: String,
        /// Whether `endpoint` was given (settings show only that).
        named: bool,
    },
}

/// A validated guard configuration.
#[derive(Debug)]
pub struct GuardConfig {
    /// The scheme.
    pub scheme: SchemeConfig,
    /// The initial keys.
    pub keys: Vec<KeySpec>,
    /// The scheme-independent policy.
    pub policy: Policy,
    /// The replay store.
    pub store: StoreConfig,
    /// A fixed clock (tests); `None`: the system clock.
    pub clock: Option<Arc<ManualClock>>,
    /// Development only: adapters add the error's reason to their error responses.
    pub expose_reasons: bool,
    /// What is reported and logged, and where.
    pub observe: ObserveOptions,
}

/// A guard built from a [`GuardConfig`], with the handles a binding keeps.
#[derive(Debug)]
pub struct BuiltGuard {
    /// The guard.
    pub guard: Guard,
    /// The Redis store when the guard uses one (its round trips must not block an event loop).
    #[cfg(feature = "redis")]
    pub redis: Option<Arc<crate::store::RedisStore>>,
    /// `memory` or `redis`.
    pub store_kind: &'static str,
    /// The effective settings, [`GuardConfig::settings_json`].
    pub settings: String,
    /// Whether adapters add the error's reason to their error responses (development only; a
    /// reason never holds a secret, but it tells a prober which check failed).
    pub expose_reasons: bool,
    /// What is reported and logged, and where: the binding installs a reporter when
    /// [`ObserveOptions::reports`] says so.
    pub observe: ObserveOptions,
}

impl GuardConfig {
    /// Validates options spelled as `spelling`, with the process environment.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` naming the first bad option.
    pub fn from_options(options: &Value, spelling: Spelling) -> Result<GuardConfig> {
        GuardConfig::from_options_in(options, spelling, &Env::process())
    }

    /// As [`GuardConfig::from_options`], with the given environment.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` naming the first bad option.
    pub fn from_options_in(options: &Value, spelling: Spelling, env: &Env) -> Result<GuardConfig> {
        let o = Options::guard(options, spelling)?;
        let scheme = o.choice("scheme", &SCHEMES)?.unwrap_or("rfc9421");
        let (scheme, policy, keys) = match Preset::from_name(scheme) {
            Some(preset) => {
                let (policy, keys, endpoint, named) = webhook::read(&o, preset)?;
                (SchemeConfig::Webhook { preset, endpoint, named }, policy, keys)
            }
            None => {
                let interop = o.choice("profile", &["strict", "interop"])?.unwrap_or("strict") == "interop";
                let (policy, rfc9421) = policy::read(&o, scheme, interop)?;
                let scheme = match rfc9421 {
                    Some(config) => SchemeConfig::Rfc9421(config),
                    None => SchemeConfig::Simple,
                };
                (scheme, policy, keys::read_all(&o)?)
            }
        };
        let store = store::read(&o, env)?;
        let expose_reasons = o.bool("expose_reasons")?.unwrap_or(false);
        let observe = observe::read(&o)?;
        Ok(GuardConfig { scheme, keys, policy, store, clock: o.clock("clock")?, expose_reasons, observe })
    }

    /// Builds the guard (and connects nothing yet: a Redis store connects on first use).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a store that cannot be set up (a bad Redis URL or CA).
    pub fn build(self) -> Result<BuiltGuard> {
        let settings = self.settings_json();
        let expose_reasons = self.expose_reasons;
        let observe = self.observe;
        let (scheme, ring): (Arc<dyn Scheme>, KeyRing) = match self.scheme {
            SchemeConfig::Rfc9421(config) => (Arc::new(Rfc9421::new(config)?), KeyRing::new()),
            SchemeConfig::Simple => (Arc::new(Simple), KeyRing::new()),
            SchemeConfig::Webhook { preset, endpoint, .. } => {
                (Arc::new(WebhookScheme::new(preset, &endpoint)), KeyRing::with_min_secret_len(preset.min_secret_len()))
            }
        };
        let ring = Arc::new(ring);
        for spec in self.keys {
            ring.upsert(spec)?;
        }
        let built = self.store.build()?;
        let mut builder =
            Guard::builder().scheme(scheme).keys(ring).store(built.store).policy(self.policy).observe(observe.config);
        if let Some(clock) = self.clock {
            builder = builder.clock(clock as Arc<dyn Clock>);
        }
        Ok(BuiltGuard {
            guard: builder.build()?,
            #[cfg(feature = "redis")]
            redis: built.redis,
            store_kind: built.kind,
            settings,
            expose_reasons,
            observe,
        })
    }
}
