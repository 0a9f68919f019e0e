//! Real Redis processes for the Redis test files (`redis_async.rs`, `redis_data_loss.rs`,
//! `redis_sentinel.rs`, `redis_cluster.rs`), and the signed request they all send. Each file
//! includes it with `#[path = "support/redis.rs"] mod support;`.
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac_guard::{Algorithm, ErrorCode, Guard, KeyRing, KeySpec, RequestHead, Rfc9421SignOptions, Signer};

pub const SECRET: &[u8] = b"redis-suite-test-secret-0123456789abcdef";

/// `redis-server`, or the binary `REDIS_SERVER` names.
pub fn bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One command on a fresh connection to `port`.
pub fn cmd<T: redis::FromRedisValue>(port: u16, args: &[&str]) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/0").as_str())?;
    let mut con = client.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(&mut con)
}

/// A `redis-server` process (or a sentinel, or a cluster node: `args` say which), killed on drop.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
}

impl Redis {
    /// A plain server without persistence on a free port.
    pub fn start() -> Self {
        Redis::start_on(free_port(), &[])
    }

    /// A server on `port` without persistence, with `extra` arguments.
    pub fn start_on(port: u16, extra: &[&str]) -> Self {
        let mut args: Vec<String> =
            ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].map(String::from).into();
        args.extend(extra.iter().map(|a| (*a).to_string()));
        Redis::launch(port, args)
    }

    /// `redis-server <args…>` answering on `port`.
    pub fn launch(port: u16, args: Vec<String>) -> Self {
        let mut r = Redis { child: None, port, args };
        r.spawn();
        r
    }

    /// Starts (again, after `kill`: empty) and waits until it answers `PING`.
    pub fn spawn(&mut self) {
        let child = Command::new(bin())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}: run `make test` (it installs redis-server) or set REDIS_SERVER", bin()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while cmd::<String>(self.port, &["PING"]).is_err() {
            assert!(Instant::now() < deadline, "no redis-server on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -STOP` / `kill -CONT`.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    /// SIGKILL: without persistence it comes back empty.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        cmd(self.port, args)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal("-CONT");
        }
        self.kill();
    }
}

/// A key ring with `k1`.
pub fn keys() -> Arc<KeyRing> {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
    keys
}

/// `POST /pay` with body `{}`, signed by `k1` (RFC 9421) at `created` (`None`: now).
pub fn signed_at(created: Option<i64>) -> RequestHead {
    let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
    let mut head = RequestHead::new("POST", "/pay", "https", vec![("Host".into(), "api.example".into())]);
    let opts = Rfc9421SignOptions { created, ..Rfc9421SignOptions::default() };
    head.headers.extend(signer.sign_rfc9421(&head, b"{}", &opts).unwrap());
    head
}

pub fn signed() -> RequestHead {
    signed_at(None)
}

/// The blocking verdict, as an error code.
pub fn verdict(g: &Guard, head: &RequestHead) -> Result<(), ErrorCode> {
    g.verify(head, b"{}").map(|_| ()).map_err(|e| e.code())
}
