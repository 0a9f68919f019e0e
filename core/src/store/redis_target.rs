//! Where the Redis store connects: one endpoint (`redis://`, `rediss://`), the master that Redis
//! Sentinel names (`redis+sentinel://`, `rediss+sentinel://`), asked again on every reconnection
//! so a failover is followed without a restart, or a Redis Cluster (`redis+cluster://`,
//! `rediss+cluster://`: seed nodes; the client follows the slot map and its changes).
//!
//! `redis+cluster://[user:password@]host:port[,host:port…]`: any of the cluster's nodes. Every key
//! of one claim carries the same hash tag (`redis.rs`), so a claim is one single-slot round trip.
//!
//! `redis+sentinel://[user:password@]host:port[,host:port…]/<master name>[/<db>]`: the sentinels'
//! addresses, the master's name as the sentinels know it, the database; the user and password are
//! the master's (sentinels are asked without them). `rediss+sentinel://` connects to the master
//! over TLS, verified against the built-in public roots.

use redis::IntoConnectionInfo as _;

use crate::error::{Error, ErrorCode, Result, fail};

pub(crate) enum Target {
    Direct(redis::Client),
    Sentinel(tokio::sync::Mutex<redis::sentinel::SentinelClient>),
    Cluster(redis::cluster::ClusterClient),
}

/// A connection of any of the targets.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Direct(_) => "Direct",
            Target::Sentinel(_) => "Sentinel",
            Target::Cluster(_) => "Cluster",
        })
    }
}

impl Target {
    /// A new connection to the target (the master, for Sentinel; the cluster, for Cluster).
    pub(crate) async fn connect(&self, config: &redis::AsyncConnectionConfig) -> redis::RedisResult<Conn> {
        Ok(match self {
            Target::Direct(client) => Conn::Single(client.get_multiplexed_async_connection_with_config(config).await?),
            Target::Sentinel(sentinel) => Conn::Single(sentinel.lock().await.get_async_connection().await?),
            Target::Cluster(client) => Conn::Cluster(client.get_async_connection().await?),
        })
    }

    /// Whether keys must carry a hash tag (a claim's keys in one slot).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster(_))
    }
}

/// Whether a URL names a Redis Cluster.
pub(crate) fn is_cluster(url: &str) -> bool {
    url.starts_with("redis+cluster://") || url.starts_with("rediss+cluster://")
}

/// A Cluster target from its URL (seed nodes), with the connect and command timeout and, for
/// TLS, an optional private CA. Errors never echo the URL.
pub(crate) fn cluster(url: &str, timeout: std::time::Duration, ca: Option<&[u8]>) -> Result<(Target, bool)> {
    let invalid = || {
        Error::new(
            ErrorCode::InvalidConfig,
            "redis cluster URL is not valid (redis+cluster://[user:password@]host:port[,host:port])",
        )
    };
    let (tls, rest) = match url.split_once("://") {
        Some(("redis+cluster", rest)) => (false, rest),
        Some(("rediss+cluster", rest)) => (true, rest),
        _ => return Err(invalid()),
    };
    let (userinfo, hosts) = match rest.trim_end_matches('/').rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest.trim_end_matches('/')),
    };
    if hosts.is_empty() || hosts.contains('/') {
        return Err(invalid());
    }
    let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    let scheme = if tls { "rediss" } else { "redis" };
    let nodes: Vec<String> = hosts.split(',').map(|h| format!("{scheme}://{auth}{h}")).collect();
    for n in &nodes {
        n.as_str().into_connection_info().map_err(|_| invalid())?;
    }
    if ca.is_some() && !tls {
        return fail(ErrorCode::InvalidConfig, "redis tls_ca_pem needs a rediss+cluster:// URL");
    }
    let mut builder = redis::cluster::ClusterClientBuilder::new(nodes).connection_timeout(timeout).response_timeout(timeout);
    if let Some(pem) = ca {
        builder = builder.certs(redis::TlsCertificates { client_tls: None, root_cert: Some(pem.to_vec()) });
    }
    let client = builder.build().map_err(|_| invalid())?;
    Ok((Target::Cluster(client), tls))
}

/// Whether a URL names a Sentinel set-up.
pub(crate) fn is_sentinel(url: &str) -> bool {
    url.starts_with("redis+sentinel://") || url.starts_with("rediss+sentinel://")
}

/// A Sentinel target from its URL; `Ok(tls)` with the target. Errors never echo the URL.
pub(crate) fn sentinel(url: &str) -> Result<(Target, bool)> {
    let invalid = || {
        Error::new(
            ErrorCode::InvalidConfig,
            "redis sentinel URL is not valid (redis+sentinel://[user:password@]host:port[,host:port]/master[/db])",
        )
    };
    let (tls, rest) = match url.split_once("://") {
        Some(("redis+sentinel", rest)) => (false, rest),
        Some(("rediss+sentinel", rest)) => (true, rest),
        _ => return Err(invalid()),
    };
    let (authority, path) = rest.split_once('/').ok_or_else(invalid)?;
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let mut segments = path.split('/');
    let master = segments.next().filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_graphic())).ok_or_else(invalid)?;
    let db = segments.next().filter(|s| !s.is_empty()).unwrap_or("0");
    if segments.next().is_some() || hosts.is_empty() {
        return Err(invalid());
    }
    let sentinels: Vec<redis::ConnectionInfo> = hosts
        .split(',')
        .map(|h| format!("redis://{h}").as_str().into_connection_info().map_err(|_| invalid()))
        .collect::<Result<_>>()?;
    // The master's settings (user, password, db), read the way the client reads a plain URL.
    let first = hosts.split(',').next().unwrap_or_default();
    let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    let master_info = format!("redis://{auth}{first}/{db}").as_str().into_connection_info().map_err(|_| invalid())?;
    let mut node =
        redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(master_info.redis_settings().clone());
    if tls {
        node = node.set_tls_mode(redis::TlsMode::Secure);
    }
    let client =
        redis::sentinel::SentinelClient::build(sentinels, master, Some(node), redis::sentinel::SentinelServerType::Master)
            .map_err(|_| invalid())?;
    Ok((Target::Sentinel(tokio::sync::Mutex::new(client)), tls))
}

/// Refuses a CA given for a Sentinel URL (the redis crate's Sentinel client verifies against the
/// public roots only).
pub(crate) fn no_custom_ca(ca: Option<&[u8]>) -> Result<()> {
    match ca {
        Some(_) => {
            fail(ErrorCode::InvalidConfig, "redis tls_ca_pem is not supported with a sentinel URL (the public roots are used)")
        }
        None => Ok(()),
    }
}
