//! The scenarios every Rust framework adapter must pass (`actix/tests/server.rs`,
//! `axum/tests/server.rs` include this file), against a real server on 127.0.0.1 over raw TCP.
//!
//! The server under test has these routes, all with the same key ring (`KEYS`):
//! - `POST /orders` behind the middleware (memory store): 201 `{"key_id", "subject", "len", "sum"}`
//!   where `len`/`sum` are the length and a checksum of the bytes the handler's own body extractor
//!   got (after the middleware put them back);
//! - `POST /open`, no middleware, its handler asks for the verified request: must be 500;
//! - `POST /hooks` behind a middleware whose guard reserves (two-phase): the handler answers 500
//!   when the request has `X-Fail: 1` (not signed), else 201.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac_guard::{Algorithm, KeySpec, RequestHead, Rfc9421SignOptions, Signer};

pub const SECRET: &str = "adapter-suite-secret-0123456789abcdef0123";
pub const KEYS: [(&str, &str); 1] = [("client-1", "user:1")];

/// The key ring every server under test starts with.
pub fn key_specs() -> Vec<KeySpec> {
    KEYS.iter().map(|(id, subject)| KeySpec::new(*id, SECRET, Algorithm::HmacSha256).with_subject(*subject)).collect()
}

/// What the handlers report about the body they received.
pub fn checksum(body: &[u8]) -> u64 {
    body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("-").to_string()
    }
}

pub fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// A request: method, path, extra headers, body; signed by `key` unless `key` is `None`.
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn post(path: &str, body: &[u8]) -> Self {
        Req {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    /// Signs for `addr` with the suite's secret under `key_id`, `created` seconds.
    pub fn signed(mut self, addr: SocketAddr, key_id: &str, created: i64) -> Self {
        let signer = Signer::new(KeySpec::new(key_id, SECRET, Algorithm::HmacSha256)).unwrap();
        let mut head = RequestHead::new(&self.method, &self.path, "http", vec![("Host".into(), addr.to_string())]);
        head.headers.extend(self.headers.iter().cloned());
        let opts = Rfc9421SignOptions { created: Some(created), ..Rfc9421SignOptions::default() };
        self.headers.extend(signer.sign_rfc9421(&head, &self.body, &opts).unwrap());
        self
    }

    /// The request bytes with `Content-Length` (unless `chunked`: then chunked in 64 KiB pieces).
    pub fn bytes(&self, addr: SocketAddr, chunked: bool) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n", self.method, self.path).into_bytes();
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for piece in self.body.chunks(64 * 1024) {
                out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                out.extend_from_slice(piece);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
            out.extend_from_slice(&self.body);
        }
        out
    }

    pub fn send(&self, addr: SocketAddr) -> Reply {
        send_raw(addr, &self.bytes(addr, false))
    }
}

/// Writes `raw` (from a second thread, so a server that answers early and stops reading cannot
/// block us), then reads the answer until the server closes.
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let raw = raw.to_vec();
    // No half-close after writing: hyper treats it as the client going away.
    let w = std::thread::spawn(move || {
        let _ = writer.write_all(&raw);
    });
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let _ = w.join();
    parse(&buf)
}

fn parse(buf: &[u8]) -> Reply {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no response head in {buf:?}"));
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_string(), v.trim().to_string())).collect();
    let mut body = buf[end + 4..].to_vec();
    if headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 4 + size..];
    }
    out
}

fn expect(r: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!((r.status, r.code().as_str()), (status, code), "{what}: {r:?} {}", String::from_utf8_lossy(&r.body));
}

/// Every scenario but the Redis one. `hooks`: the two-phase route exists.
pub fn run_all(addr: SocketAddr, te_cl: TeCl) {
    valid_and_identity(addr);
    tampering(addr);
    keys_and_time(addr);
    replay_and_concurrency(addr);
    oversize(addr);
    malformed(addr);
    bodies(addr);
    missing_middleware(addr);
    reserve_commit(addr);
    framing(addr, te_cl);
}

pub fn valid_and_identity(addr: SocketAddr) {
    let body = br#"{"sku":"A-1","qty":2}"#;
    let r = Req::post("/orders", body).signed(addr, "client-1", now()).send(addr);
    expect(&r, 201, "-", "valid");
    let j = r.json();
    assert_eq!((j["key_id"].as_str(), j["subject"].as_str()), (Some("client-1"), Some("user:1")));
    assert_eq!((j["len"].as_u64(), j["sum"].as_u64()), (Some(body.len() as u64), Some(checksum(body))));
}

pub fn tampering(addr: SocketAddr) {
    let mut r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    r.body = b"{!".to_vec();
    expect(&r.send(addr), 401, "ERR_DIGEST_MISMATCH", "tampered body");
    let mut r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    r.path = "/orders?x=1".into();
    expect(&r.send(addr), 401, "ERR_SIGNATURE_MISMATCH", "tampered query");
    let mut r = Req::post("/orders?id=7", b"{}").signed(addr, "client-1", now());
    r.path = "/orders?id=8".into();
    expect(&r.send(addr), 401, "ERR_SIGNATURE_MISMATCH", "tampered query value");
    let mut r = Req::post("/open", b"{}").signed(addr, "client-1", now());
    r.path = "/orders".into();
    expect(&r.send(addr), 401, "ERR_SIGNATURE_MISMATCH", "tampered path");
    let mut r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    r.method = "PUT".into();
    let reply = r.send(addr);
    // Routers may answer 405 for a method the route lacks; if the guard sees it, it refuses it.
    assert!(reply.status == 401 && reply.code() == "ERR_SIGNATURE_MISMATCH" || reply.status == 405, "tampered method: {reply:?}");
    let reply = Req::post("/orders", b"{}").signed(addr, "client-1", now()).send(addr);
    expect(&reply, 201, "-", "after tampering");
}

pub fn keys_and_time(addr: SocketAddr) {
    expect(&Req::post("/orders", b"{}").signed(addr, "stranger", now()).send(addr), 401, "ERR_UNKNOWN_KEY", "unknown key");
    let mut wrong = Req::post("/orders", b"{}");
    let signer = Signer::new(KeySpec::new("client-1", "a-different-secret-0123456789abcdef0123", Algorithm::HmacSha256)).unwrap();
    let mut head = RequestHead::new("POST", "/orders", "http", vec![("Host".into(), addr.to_string())]);
    head.headers.extend(wrong.headers.iter().cloned());
    wrong.headers.extend(signer.sign_rfc9421(&head, &wrong.body, &Rfc9421SignOptions::default()).unwrap());
    expect(&wrong.send(addr), 401, "ERR_SIGNATURE_MISMATCH", "wrong secret");
    expect(
        &Req::post("/orders", b"{}").signed(addr, "client-1", now() - 1000).send(addr),
        401,
        "ERR_TIMESTAMP_EXPIRED",
        "expired",
    );
    expect(
        &Req::post("/orders", b"{}").signed(addr, "client-1", now() + 1000).send(addr),
        401,
        "ERR_TIMESTAMP_IN_FUTURE",
        "future",
    );
}

pub fn replay_and_concurrency(addr: SocketAddr) {
    let r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    expect(&r.send(addr), 201, "-", "first copy");
    expect(&r.send(addr), 401, "ERR_REPLAY", "second copy");
    let accepted = concurrent_copies(&[addr], 100);
    assert_eq!(accepted, 1, "100 concurrent copies: exactly one accepted");
}

/// Sends `n` copies of one signed request at once, spread over `addrs`; returns how many got 201
/// (every other one must be `ERR_REPLAY`).
pub fn concurrent_copies(addrs: &[SocketAddr], n: usize) -> usize {
    let raw = Arc::new(Req::post("/orders", b"{\"n\":1}").signed(addrs[0], "client-1", now()).bytes(addrs[0], false));
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (raw, barrier, addr) = (Arc::clone(&raw), Arc::clone(&barrier), addrs[i % addrs.len()]);
            std::thread::spawn(move || {
                barrier.wait();
                send_raw(addr, &raw)
            })
        })
        .collect();
    let replies: Vec<Reply> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for r in &replies {
        assert!(r.status == 201 || (r.status == 401 && r.code() == "ERR_REPLAY"), "{r:?}");
    }
    replies.iter().filter(|r| r.status == 201).count()
}

pub fn oversize(addr: SocketAddr) {
    let big = vec![b'a'; 2 * 1024 * 1024];
    let r = Req::post("/orders", &big).signed(addr, "client-1", now());
    let reply = send_raw(addr, &r.bytes(addr, false));
    expect(&reply, 413, "ERR_BODY_TOO_LARGE", "oversize, Content-Length");
    assert_eq!(reply.header("connection"), Some("close"), "{reply:?}");
    let reply = send_raw(addr, &r.bytes(addr, true));
    expect(&reply, 413, "ERR_BODY_TOO_LARGE", "oversize, chunked");
    // A client that stops sending once it has the answer (as curl does): the server must close
    // the connection, not wait for (or drain) the rest of an unbounded chunked body.
    let started = std::time::Instant::now();
    let reply = send_until_answered(addr, &r.bytes(addr, true));
    expect(&reply, 413, "ERR_BODY_TOO_LARGE", "oversize, chunked, client stops at the answer");
    assert!(started.elapsed() < Duration::from_secs(5), "the connection stayed open: {:?}", started.elapsed());
    expect(&Req::post("/orders", b"{}").signed(addr, "client-1", now()).send(addr), 201, "-", "served after oversize");
}

/// Writes `raw` in 16 KiB pieces and stops as soon as the server has answered; then reads until
/// the server closes (at most 10 s).
pub fn send_until_answered(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    let mut probe = [0u8; 1];
    for piece in raw.chunks(16 * 1024) {
        if stream.peek(&mut probe).is_ok() || stream.write_all(piece).is_err() {
            break;
        }
    }
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    parse(&buf)
}

pub fn malformed(addr: SocketAddr) {
    expect(&Req::post("/orders", b"{}").send(addr), 401, "ERR_MISSING_SIGNATURE", "unsigned");
    let r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    let reply = send_raw(addr, &r.bytes(addr, false));
    assert_eq!(reply.status, 201);
    let mut r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    for (n, v) in &mut r.headers {
        if n.eq_ignore_ascii_case("signature") {
            *v = "sig1=:not base64!:".into();
        }
    }
    expect(&r.send(addr), 400, "ERR_MALFORMED_SIGNATURE", "malformed Signature");
    let mut r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("signature-input"));
    expect(&r.send(addr), 400, "ERR_MISSING_HEADER", "Signature without Signature-Input");
    let unsigned = Req::post("/orders", b"{}").send(addr);
    let accept = unsigned.header("accept-signature").unwrap_or_default();
    assert!(accept.contains("content-digest") && accept.contains("nonce"), "Accept-Signature on a 401: {unsigned:?}");
}

pub fn bodies(addr: SocketAddr) {
    let binary: Vec<u8> = (0..=255u8).chain([0xff, 0xfe, 0x80, 0xc3]).collect();
    let mut r = Req::post("/orders", &binary);
    r.headers = vec![("Content-Type".into(), "application/octet-stream".into())];
    let reply = r.signed(addr, "client-1", now()).send(addr);
    expect(&reply, 201, "-", "non-UTF-8 body");
    assert_eq!(reply.json()["sum"].as_u64(), Some(checksum(&binary)), "the handler got the bytes as sent");

    let plain = br#"{"compressed":true}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain).unwrap();
    let wire = gz.finish().unwrap();
    let mut r = Req::post("/orders", &wire);
    r.headers.push(("Content-Encoding".into(), "gzip".into()));
    expect(&r.signed(addr, "client-1", now()).send(addr), 201, "-", "gzip body signed over the wire bytes");
    // Signed over the decompressed text but sent compressed: the MAC is over the wire bytes.
    let mut r = Req::post("/orders", plain);
    r.headers.push(("Content-Encoding".into(), "gzip".into()));
    let mut r = r.signed(addr, "client-1", now());
    r.body = wire;
    expect(&r.send(addr), 401, "ERR_DIGEST_MISMATCH", "gzip body signed over the decompressed bytes");
}

pub fn missing_middleware(addr: SocketAddr) {
    let r = Req::post("/open", b"{}").signed(addr, "client-1", now()).send(addr);
    expect(&r, 500, "ERR_INVALID_STATE", "route without the middleware asking for the verified request");
}

pub fn reserve_commit(addr: SocketAddr) {
    let mut r = Req::post("/hooks", b"{\"event\":1}");
    r.headers.push(("X-Fail".into(), "1".into()));
    let mut r = r.signed(addr, "client-1", now());
    assert_eq!(r.send(addr).status, 500, "the handler failed");
    r.headers.retain(|(n, _)| n != "X-Fail");
    expect(&r.send(addr), 201, "-", "the retry after a failed handler");
    expect(&r.send(addr), 401, "ERR_REPLAY", "a copy after the commit");
}

/// What the server does with `Transfer-Encoding` and `Content-Length` together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeCl {
    /// The adapter sees both and the core refuses: 400 `ERR_BAD_FRAMING`.
    Refused,
    /// The server's parser refuses the request before any middleware runs: a bare 400 (actix).
    ServerRefuses,
    /// The server removed `Content-Length` and read the body by `Transfer-Encoding` (hyper).
    TransferEncodingWins,
}

pub fn framing(addr: SocketAddr, te_cl: TeCl) {
    let r = Req::post("/orders", b"{}").signed(addr, "client-1", now());
    // Transfer-Encoding with Content-Length, on a keep-alive connection: refused (the core's
    // rule), or — where the server drops Content-Length before any adapter can see it (hyper) —
    // read by Transfer-Encoding alone, as RFC 9112 §6.1 allows; either way the server must close
    // the connection after answering (`send_raw` reads until it does).
    let mut raw = r.bytes(addr, true);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    raw.splice(at..at, b"\r\nContent-Length: 2".iter().copied());
    let keep_alive = String::from_utf8(raw).unwrap().replace("Connection: close\r\n", "");
    let started = std::time::Instant::now();
    let reply = send_raw(addr, keep_alive.as_bytes());
    assert!(started.elapsed() < Duration::from_secs(5), "the connection stayed open after TE + CL");
    match te_cl {
        TeCl::Refused => expect(&reply, 400, "ERR_BAD_FRAMING", "Transfer-Encoding with Content-Length"),
        TeCl::ServerRefuses => assert_eq!(reply.status, 400, "TE + CL refused by the server: {reply:?}"),
        TeCl::TransferEncodingWins => assert!(reply.status == 201, "TE + CL read by TE: {reply:?}"),
    }
    // A chunk size that is not hex: the server cannot read the body.
    let mut raw = r.bytes(addr, true);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    raw.truncate(at);
    raw.extend_from_slice(b"zz\r\n{}\r\n0\r\n\r\n");
    expect(&send_raw(addr, &raw), 400, "ERR_BAD_FRAMING", "bad chunk size");
    expect(&Req::post("/orders", b"{}").signed(addr, "client-1", now()).send(addr), 201, "-", "served after framing errors");
}

/// A throwaway `redis-server` on a free port (no persistence), killed on drop.
pub struct Redis {
    child: std::process::Child,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Self {
        use std::process::{Command, Stdio};
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e}: run `make test` (it installs redis-server) or set REDIS_SERVER"));
        let redis = Redis { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let mut pong = [0u8; 7];
                if s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut pong).is_ok() && &pong == b"+PONG\r\n" {
                    return redis;
                }
            }
            assert!(std::time::Instant::now() < deadline, "redis-server did not come up on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
