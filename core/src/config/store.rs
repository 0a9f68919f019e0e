//! The replay store options: in memory (the default) or Redis, from the options or the
//! environment.

use std::sync::Arc;
use std::time::Duration;

use super::env::{Env, REDIS_TLS_CA_FILE_ENV, REDIS_URL_ENV};
use super::read::{Options, invalid};
use crate::error::{Error, Result};
use crate::store::{MemoryStore, MemoryStoreConfig, ReplayStore};

const REDIS_ONLY: [&str; 4] = ["redis_prefix", "redis_timeout_ms", "redis_fail_open", "redis_tls_ca"];
const MEMORY_ONLY: [&str; 2] = ["replay_store.capacity", "replay_store.per_key_quota"];

/// Where nonces are recorded.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// This process's memory.
    Memory(MemoryStoreConfig),
    /// A Redis shared by every process.
    Redis(RedisOptions),
}

/// The Redis store's settings, and where the URL and CA came from (for errors).
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// URL, prefix, timeout, fail-open, CA.
    pub config: RedisSettings,
    /// Where the URL came from: the option's name or the environment variable.
    url_source: String,
    /// The CA option's name, and where the CA came from (the option or a file).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    ca_name: String,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    ca_source: String,
}

/// What [`RedisOptions`] configures (the core's `RedisStoreConfig` without needing the feature).
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://…` or `rediss://…`.
    pub url: String,
    /// Key prefix.
    pub prefix: String,
    /// Connect and command timeout.
    pub timeout: Duration,
    /// Accept requests without replay protection while Redis is unreachable.
    pub fail_open: bool,
    /// A private CA (PEM) for `rediss://`.
    pub tls_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .field("tls_ca_pem", &self.tls_ca_pem.as_ref().map(|pem| format!("[{} bytes of PEM]", pem.len())))
            .finish()
    }
}

pub(crate) fn read(o: &Options<'_>, env: &Env) -> Result<StoreConfig> {
    // Absent: the environment decides, so one variable moves a deployment to Redis; "": memory.
    let (url, url_source) = match o.string("redis_url")? {
        Some(url) => (Some(url), o.name("redis_url")),
        None => (env.var(REDIS_URL_ENV)?, REDIS_URL_ENV.to_string()),
    };
    let Some(url) = url.filter(|u| !u.is_empty()) else {
        if let Some(id) = REDIS_ONLY.iter().find(|id| o.has(id)) {
            return Err(invalid(&o.name(id), format_args!("needs {} (or {REDIS_URL_ENV})", o.name("redis_url"))));
        }
        let d = MemoryStoreConfig::default();
        let capacity = o.int_as("replay_store.capacity", 1, 100_000_000)?.unwrap_or(d.capacity);
        let per_key_quota = o.int_as::<usize>("replay_store.per_key_quota", 1, 100_000_000)?;
        if per_key_quota.is_some_and(|q| q > capacity) {
            return Err(invalid(
                &o.name("replay_store.per_key_quota"),
                format_args!("must not exceed {}", o.name("replay_store.capacity")),
            ));
        }
        return Ok(StoreConfig::Memory(MemoryStoreConfig { capacity, per_key_quota, shards: None }));
    };
    if let Some(id) = MEMORY_ONLY.iter().find(|id| o.has(id)) {
        return Err(invalid(&o.name(id), "applies to the in-memory store only"));
    }
    let prefix = o.string("redis_prefix")?.unwrap_or_else(|| "hmac-guard".into());
    if prefix.is_empty() || prefix.len() > 128 || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(&o.name("redis_prefix"), "must be 1 to 128 printable ASCII characters without spaces"));
    }
    let ca_name = o.name("redis_tls_ca");
    let (tls_ca_pem, ca_source) = match o.bytes("redis_tls_ca")? {
        Some(pem) => (Some(pem.to_vec()), ca_name.clone()),
        None => match env.file(REDIS_TLS_CA_FILE_ENV)? {
            Some((pem, path)) => (Some(pem), format!("the CA in {REDIS_TLS_CA_FILE_ENV} ({path})")),
            None => (None, ca_name.clone()),
        },
    };
    let config = RedisSettings {
        url,
        prefix,
        timeout: Duration::from_millis(o.int_as("redis_timeout_ms", 1, 60_000)?.unwrap_or(250)),
        fail_open: o.bool("redis_fail_open")?.unwrap_or(false),
        tls_ca_pem,
    };
    Ok(StoreConfig::Redis(RedisOptions { config, url_source, ca_name, ca_source }))
}

/// A built store, and the same store as Redis when it is one.
pub(crate) struct BuiltStore {
    pub(crate) store: Arc<dyn ReplayStore>,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<Arc<crate::store::RedisStore>>,
    pub(crate) kind: &'static str,
}

impl StoreConfig {
    pub(crate) fn build(self) -> Result<BuiltStore> {
        match self {
            StoreConfig::Memory(config) => Ok(BuiltStore {
                store: Arc::new(MemoryStore::new(config)?),
                #[cfg(feature = "redis")]
                redis: None,
                kind: "memory",
            }),
            StoreConfig::Redis(r) => r.build(),
        }
    }
}

impl RedisOptions {
    #[cfg(feature = "redis")]
    fn build(self) -> Result<BuiltStore> {
        let RedisSettings { url, prefix, timeout, fail_open, tls_ca_pem } = self.config;
        let mut config = crate::store::RedisStoreConfig::new(url);
        config.prefix = prefix;
        config.timeout = timeout;
        config.fail_open = fail_open;
        config.tls_ca_pem = tls_ca_pem;
        // The store words its errors with its own field names: name the option or variable instead.
        let store = crate::store::RedisStore::new(config).map_err(|e| {
            let reason = e.reason().replace("redis tls_ca_pem", "tls_ca_pem").replace("redis URL", "URL");
            if reason.starts_with("tls_ca_pem") {
                Error::new(e.code(), reason.replace("tls_ca_pem", &self.ca_source))
            } else {
                Error::new(e.code(), format!("{}: {}", self.url_source, reason.replace("tls_ca_pem", &self.ca_name)))
            }
        })?;
        let store = Arc::new(store);
        Ok(BuiltStore { store: Arc::clone(&store) as Arc<dyn ReplayStore>, redis: Some(store), kind: "redis" })
    }

    #[cfg(not(feature = "redis"))]
    fn build(self) -> Result<BuiltStore> {
        Err(Error::new(
            crate::error::ErrorCode::InvalidConfig,
            format!("{} selects the Redis store, but hmac-guard was built without its `redis` feature", self.url_source),
        ))
    }
}
