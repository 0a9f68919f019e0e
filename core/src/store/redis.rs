//! Redis replay store: one atomic round trip per verification, shared by every process and host.
//!
//! - `SET key 1 NX PX ttl` claims a nonce; of racing duplicates on any worker exactly one gets `OK`.
//!   The same round trip reads the data-loss watch (`INCR` and `GET` pipelined: `redis_loss.rs`).
//! - Keys are `<prefix>:<scheme>:<hash of key id>:<hash of scheme, key id, nonce>`: bounded length,
//!   nothing client-chosen in clear, TTL from the timestamp window.
//! - Every call has a timeout (connect, read and write). A connection that fails is dropped and a
//!   new one is made on the next call, so recovery after an outage needs no restart.
//! - Unreachable or slow past the timeout: `ERR_REPLAY_STORE_UNAVAILABLE` (503); the guard fails
//!   closed unless the operator opted into fail-open ([`ReplayStore::fails_open`]).
//! - TLS: a `rediss://` URL connects over TLS (rustls with the `ring` provider, TLS 1.2 and 1.3).
//!   The server certificate is always verified, chain and host name, against the Mozilla roots
//!   built in (webpki-roots; the OS trust store is not read) or, if given, only the CA certificates
//!   in [`RedisStoreConfig::tls_ca_pem`]. There is no way to turn verification off: the redis
//!   crate's `rediss://…#insecure` is refused as invalid configuration. A TLS failure is an
//!   unavailable store like any other (fail closed, 503, within the timeout).

use std::fmt;
use std::time::Duration;

use parking_lot::Mutex;
use sha2::{Digest as _, Sha256};

use std::sync::Arc;

use super::redis_async::AsyncPath;
use super::redis_loss::LossWatch;
use super::redis_target::Target;
use super::{ClaimFuture, ReplayKey, ReplayStore};
use crate::digest::to_hex;
use crate::error::{Error, ErrorCode, Result, fail};

/// Settings for [`RedisStore`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// `redis://[user:password@]host:port/db`, or `rediss://…` for TLS (the password never appears
    /// in Debug or errors).
    pub url: String,
    /// Key prefix, to share one Redis between applications.
    pub prefix: String,
    /// Timeout for connecting and for each command.
    pub timeout: Duration,
    /// Accept requests without replay protection while Redis is unreachable (counted, logged).
    pub fail_open: bool,
    /// For a `rediss://` URL: the CA certificate(s), PEM, to verify the server against *instead of*
    /// the built-in public roots (a private CA or a self-signed Redis). `None`: public roots.
    pub tls_ca_pem: Option<Vec<u8>>,
}

impl RedisStoreConfig {
    /// Defaults for a URL: prefix `hmac-guard`, 250 ms timeout, fail closed, 32 idle connections.
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreConfig {
            url: url.into(),
            prefix: "hmac-guard".into(),
            timeout: Duration::from_millis(250),
            fail_open: false,
            tls_ca_pem: None,
        }
    }
}

impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreConfig")
            .field("url", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fail_open", &self.fail_open)
            .field("tls_ca_pem", &self.tls_ca_pem.as_ref().map(|pem| format!("[{} bytes of PEM]", pem.len())))
            .finish()
    }
}

/// The Redis replay store.
pub struct RedisStore {
    /// Where to connect; moved into the async path when it starts.
    target: Mutex<Option<Target>>,
    tls: bool,
    config: RedisStoreConfig,
    /// The data-loss watch: one, or on a Cluster one per hash-tag group (each claim's keys,
    /// watch included, share one slot).
    watches: Vec<Arc<LossWatch>>,
    cluster: bool,
    /// Started on the first async claim (`redis_async.rs`).
    async_path: Mutex<Option<Arc<AsyncPath>>>,
    release_script: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The TLS error under a failed call, if that is why it failed. The redis crate keeps rustls's
/// error inside an `io::Error` inside an `Arc`; if that nesting changes this finds nothing and the
/// failure is reported as a plain I/O error (`core/tests/redis_tls.rs` would notice).
fn tls_failure(e: &redis::RedisError) -> Option<&'static str> {
    use std::error::Error as _;
    let inner = e.source()?.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>()?;
    let io = inner.downcast_ref::<std::io::Error>()?;
    Some(match io.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(_) => "TLS certificate rejected",
        _ => "TLS handshake failed",
    })
}

/// rustls needs a process-wide crypto provider. With only this crate's `ring` in the build it
/// picks that one by itself; when another dependency also enables aws-lc-rs it cannot choose and
/// panics instead, unless the application installed one. So: keep any provider already installed,
/// else install `ring` (what rustls would have picked alone). Called just before connecting, so
/// an application that installs its own provider at start-up keeps it.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn random_u64() -> Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|_| Error::new(ErrorCode::Internal, "OS random source failed"))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Why Redis could not answer, without any detail that might carry a credential.
pub(super) fn unavailable(e: &redis::RedisError) -> Error {
    let kind = if let Some(tls) = tls_failure(e) {
        tls
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_connection_refusal() {
        "connection refused"
    } else if e.is_connection_dropped() {
        "connection dropped"
    } else if e.is_io_error() {
        "I/O error"
    } else {
        "error reply"
    };
    Error::new(ErrorCode::ReplayStoreUnavailable, format!("redis {kind}"))
}

impl RedisStore {
    /// A store for a URL. Does not connect yet: the first verification does, so an application
    /// can start while Redis is still coming up.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a URL the client cannot parse, a zero timeout, a `rediss://…#insecure`
    /// URL (certificate verification cannot be turned off), or a `tls_ca_pem` that holds no valid
    /// certificate or comes with a URL that is not `rediss://`.
    pub fn new(config: RedisStoreConfig) -> Result<Self> {
        use redis::IntoConnectionInfo as _;
        if config.timeout.is_zero() {
            return fail(ErrorCode::InvalidConfig, "redis timeout must be positive");
        }
        if super::redis_target::is_cluster(&config.url) {
            let (target, tls) = super::redis_target::cluster(&config.url, config.timeout, config.tls_ca_pem.as_deref())?;
            return Ok(RedisStore::with_target(target, tls, config));
        }
        if super::redis_target::is_sentinel(&config.url) {
            super::redis_target::no_custom_ca(config.tls_ca_pem.as_deref())?;
            let (target, tls) = super::redis_target::sentinel(&config.url)?;
            return Ok(RedisStore::with_target(target, tls, config));
        }
        let invalid_url = |_| Error::new(ErrorCode::InvalidConfig, "redis URL is not valid");
        let info = config.url.as_str().into_connection_info().map_err(invalid_url)?;
        let tls = match info.addr() {
            redis::ConnectionAddr::TcpTls { insecure: true, .. } => {
                return fail(
                    ErrorCode::InvalidConfig,
                    "redis URL asks for TLS without certificate verification (#insecure): not supported; give the server's CA as tls_ca_pem instead",
                );
            }
            redis::ConnectionAddr::TcpTls { .. } => true,
            _ => false,
        };
        let client = match &config.tls_ca_pem {
            None => redis::Client::open(info).map_err(invalid_url)?,
            Some(_) if !tls => return fail(ErrorCode::InvalidConfig, "redis tls_ca_pem needs a rediss:// URL"),
            Some(pem) => {
                use rustls::pki_types::{CertificateDer, pem::PemObject as _};
                // The redis crate accepts a PEM without any certificate and then trusts nothing;
                // say so now instead of failing every call.
                let certs = CertificateDer::pem_slice_iter(pem).collect::<std::result::Result<Vec<_>, _>>();
                if !certs.is_ok_and(|c| !c.is_empty()) {
                    return fail(ErrorCode::InvalidConfig, "redis tls_ca_pem holds no PEM certificate");
                }
                let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(pem.clone()) };
                redis::Client::build_with_tls(info, certificates)
                    .map_err(|_| Error::new(ErrorCode::InvalidConfig, "redis tls_ca_pem is not a valid CA certificate"))?
            }
        };
        Ok(RedisStore::with_target(Target::Direct(client), tls, config))
    }

    fn with_target(target: Target, tls: bool, config: RedisStoreConfig) -> Self {
        // Deletes a reservation only if it is still this reservation (not committed, not a newer one).
        let release_script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        );
        let cluster = target.is_cluster();
        let watches = if cluster {
            (0..=255u8).map(|g| Arc::new(LossWatch::new(&format!("{}:{{{g:02x}}}", config.prefix)))).collect()
        } else {
            vec![Arc::new(LossWatch::new(&config.prefix))]
        };
        RedisStore {
            target: Mutex::new(Some(target)),
            tls,
            config,
            watches,
            cluster,
            async_path: Mutex::new(None),
            release_script,
        }
    }

    /// The async path, started on first use.
    fn async_path(&self) -> Result<Arc<AsyncPath>> {
        let mut path = self.async_path.lock();
        if let Some(p) = &*path {
            return Ok(Arc::clone(p));
        }
        if self.tls {
            ensure_crypto_provider();
        }
        let target = self.target.lock().take().ok_or_else(|| Error::new(ErrorCode::Internal, "redis target already taken"))?;
        let p = Arc::new(AsyncPath::new(target, self.config.timeout)?);
        *path = Some(Arc::clone(&p));
        Ok(p)
    }

    /// The Redis key for a replay key. On a Cluster it carries a hash tag (`{ab}`, from the
    /// nonce hash: 256 groups spread over the slots) that its data-loss watch keys share.
    #[must_use]
    pub fn redis_key(&self, key: &ReplayKey<'_>) -> String {
        self.claim_key(key).0
    }

    /// The key and the data-loss watch of its group.
    fn claim_key(&self, key: &ReplayKey<'_>) -> (String, Arc<LossWatch>) {
        let kid = Sha256::digest(key.key_id.as_bytes());
        let mut h = Sha256::new();
        for part in [key.scheme, key.key_id, key.nonce] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        let hash = h.finalize();
        let scheme: String = key.scheme.chars().filter(char::is_ascii_alphanumeric).take(16).collect();
        let (kid, hash_hex) = (to_hex(&kid[..8]), to_hex(&hash[..16]));
        if self.cluster {
            let group = hash[16];
            let k = format!("{}:{{{group:02x}}}:{scheme}:{kid}:{hash_hex}", self.config.prefix);
            (k, Arc::clone(&self.watches[usize::from(group)]))
        } else {
            (format!("{}:{scheme}:{kid}:{hash_hex}", self.config.prefix), Arc::clone(&self.watches[0]))
        }
    }

    /// Claims `key` (`SET NX PX`, with the data-loss watch in the same round trip) on the async
    /// client, this thread waiting for the answer: every caller, blocking or not, shares its one
    /// multiplexed connection, so a hung Redis costs each waiting request the timeout and no more.
    fn claim(&self, key: &ReplayKey<'_>, value: &str, ttl_ms: u64, now_ms: i64) -> Result<bool> {
        let path = self.async_path()?;
        let (k, watch) = self.claim_key(key);
        let claimed = path.claim(k, value.to_string(), ttl_ms, now_ms, watch, random_u64()?);
        super::redis_async::block_on(claimed)
    }
}

impl ReplayStore for RedisStore {
    fn insert_if_absent(&self, key: &ReplayKey<'_>, ttl_ms: u64, now_ms: i64) -> Result<()> {
        match self.claim(key, "1", ttl_ms, now_ms)? {
            true => Ok(()),
            false => fail(ErrorCode::Replay, "nonce was already used"),
        }
    }

    fn reserve(&self, key: &ReplayKey<'_>, hold_ms: u64, now_ms: i64) -> Result<u64> {
        // A random token names this reservation, so release can tell it from a newer one.
        let token = random_u64()? >> 1;
        match self.claim(key, &format!("r{token}"), hold_ms, now_ms)? {
            true => Ok(token),
            false => fail(ErrorCode::Replay, "delivery is reserved or was already processed"),
        }
    }

    fn commit(&self, key: &ReplayKey<'_>, ttl_ms: u64, _now_ms: i64) -> Result<()> {
        let path = self.async_path()?;
        super::redis_async::block_on(path.commit(self.redis_key(key), "c", ttl_ms)).map(|_| ())
    }

    fn release(&self, key: &ReplayKey<'_>, token: u64, _now_ms: i64) -> Result<()> {
        let path = self.async_path()?;
        let released = path.script(self.release_script.clone(), self.redis_key(key), format!("r{token}"));
        super::redis_async::block_on(released).map(|_| ())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    fn lost_at_ms(&self) -> Option<i64> {
        self.watches.iter().filter_map(|w| w.lost_at_ms()).max()
    }

    fn has_async_claim(&self) -> bool {
        true
    }

    fn commit_async(&self, key: &ReplayKey<'_>, ttl_ms: u64, _now_ms: i64) -> Option<ClaimFuture> {
        let committed = self.async_path().map(|path| path.commit(self.redis_key(key), "c", ttl_ms));
        Some(Box::pin(async move { committed?.await.map(|_| 0) }))
    }

    fn release_async(&self, key: &ReplayKey<'_>, token: u64, _now_ms: i64) -> Option<ClaimFuture> {
        let released =
            self.async_path().map(|path| path.script(self.release_script.clone(), self.redis_key(key), format!("r{token}")));
        Some(Box::pin(async move { released?.await.map(|_| 0) }))
    }

    fn claim_async(&self, key: &ReplayKey<'_>, ms: u64, reserve: bool, now_ms: i64) -> Option<ClaimFuture> {
        let started = (|| -> Result<_> {
            let path = self.async_path()?;
            let token = if reserve { random_u64()? >> 1 } else { 0 };
            let value = if reserve { format!("r{token}") } else { "1".to_string() };
            let (k, watch) = self.claim_key(key);
            Ok((path.claim(k, value, ms, now_ms, watch, random_u64()?), token))
        })();
        Some(Box::pin(async move {
            let (claimed, token) = started?;
            match claimed.await? {
                true => Ok(token),
                false if reserve => fail(ErrorCode::Replay, "delivery is reserved or was already processed"),
                false => fail(ErrorCode::Replay, "nonce was already used"),
            }
        }))
    }

    fn fails_open(&self) -> bool {
        self.config.fail_open
    }
}
