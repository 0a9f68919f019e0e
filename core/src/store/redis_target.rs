//! Where the Redis store connects: one endpoint (`redis://`, `rediss://`), or the master that
//! Redis Sentinel names (`redis+sentinel://`, `rediss+sentinel://`), asked again on every
//! reconnection so a failover is followed without a restart.
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
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Direct(_) => "Direct",
            Target::Sentinel(_) => "Sentinel",
        })
    }
}

impl Target {
    /// A new multiplexed connection to the target (the master, for Sentinel).
    pub(crate) async fn connect(
        &self,
        config: &redis::AsyncConnectionConfig,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        match self {
            Target::Direct(client) => client.get_multiplexed_async_connection_with_config(config).await,
            Target::Sentinel(sentinel) => sentinel.lock().await.get_async_connection().await,
        }
    }
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
