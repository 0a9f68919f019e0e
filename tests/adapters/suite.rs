//! The scenarios every Rust framework adapter must pass (`actix/tests/server.rs`,
//! `axum/tests/server.rs` include this file), against a real server on 127.0.0.1 over raw TCP.
//!
//! The server under test has these routes, all with the same key ring (`KEYS`):
//! - `POST /orders` behind the middleware (memory store): 201 `{"key_id", "subject", "len", "sum"}`
//!   where `len`/`sum` are the length and a checksum of the bytes the handler's own body extractor
//!   got (after the middleware put them back);
//! - `POST /open`, no middleware, its handler asks for the verified request: must be 500;
//! - `POST /hooks` behind a middleware whose guard reserves (two-phase): the handler answers 500
//!   when the request has `X-Fail: 1` (not signed), else 201;
//! - `POST /webhooks/<preset>` for each webhook preset (`Preset::ALL`), behind the adapter's
//!   one-line webhook receiver with the two secrets of [`webhook_secrets`] (a rotation: `secret-0`,
//!   `secret-1`); the handler takes the adapter's `Webhook` extractor, counts its runs in
//!   [`WEBHOOK_CALLS`], answers 500 on `X-Fail: 1`, panics on `X-Panic: 1`, waits for [`GATE`]
//!   on `X-Hold: 1` (all unsigned), else 200 with [`webhook_echo`];
//! - `POST /open/webhook`, no middleware, its handler asks for the `Webhook`: must be 500.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac_guard::webhook::Preset;
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

/// As [`send_raw`], but `None` when the server closed without answering.
pub fn send_raw_any(addr: SocketAddr, raw: &[u8]) -> Option<Reply> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = stream.write_all(raw);
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    (!buf.is_empty()).then(|| parse(&buf))
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
pub fn run_all(addr: SocketAddr, te_cl: TeCl, client_gone: ClientGone) {
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
    webhooks(addr, client_gone);
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

// ---- Webhook receivers -------------------------------------------------------------------------

/// The endpoint's secrets per preset, old then new (a rotation): keys `secret-0`, `secret-1`.
pub fn webhook_secrets(preset: Preset) -> [&'static str; 2] {
    match preset {
        Preset::StandardWebhooks | Preset::Svix => {
            ["whsec_c3VpdGUtb2xkLXdlYmhvb2sta2V5LTAxMjM0NTY3ODk=", "whsec_c3VpdGUtbmV3LXdlYmhvb2sta2V5LTk4NzY1NDMyMTA="]
        }
        Preset::Stripe => ["whsec_suite_old_0123456789abcdef", "whsec_suite_new_fedcba9876543210"],
        Preset::Github => ["gh-old-secret-0123", "gh-new-secret-3210"],
        Preset::Slack | Preset::Shopify => {
            ["suite-old-signing-secret-0123456789abcdef", "suite-new-signing-secret-fedcba9876543210"]
        }
    }
}

/// How many times the webhook handlers ran (every run, failed ones included).
pub static WEBHOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Holds a webhook handler (`X-Hold: 1`) until the suite opens it: a delivery in flight, with no
/// sleeping on either side.
pub struct Gate {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

pub static GATE: Gate = Gate { state: Mutex::new((0, false)), changed: Condvar::new() };

impl Gate {
    /// The handler's side (blocking: run it on the blocking pool): counts itself in, then waits
    /// until [`Gate::open`] (at most 10 s, so a failing test cannot hang the server).
    pub fn hold(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 += 1;
        self.changed.notify_all();
        let _ = self.changed.wait_timeout_while(s, Duration::from_secs(10), |s| !s.1).unwrap();
    }

    fn reset(&self) {
        *self.state.lock().unwrap() = (0, false);
    }

    fn wait_entered(&self, n: usize) {
        let s = self.state.lock().unwrap();
        let (s, _) = self.changed.wait_timeout_while(s, Duration::from_secs(10), |s| s.0 < n).unwrap();
        assert!(s.0 >= n, "the held handler never started");
    }

    fn open(&self) {
        self.state.lock().unwrap().1 = true;
        self.changed.notify_all();
    }
}

/// What the webhook handlers answer (200): the delivery as the extractor gave it, and the event
/// type read back from the payload parsed by the extractor (`Webhook::payload`).
pub fn webhook_echo(
    provider: &str,
    id: Option<&str>,
    event_type: Option<&str>,
    json: bool,
    secret_id: &str,
    body: &[u8],
    parsed: Option<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "provider": provider, "id": id, "type": event_type, "json": json, "secret_id": secret_id,
        "len": body.len(), "sum": checksum(body), "parsed_type": parsed.as_ref().and_then(|p| p["type"].as_str()),
    })
}

/// A unique delivery id per call (a retry re-sends the same one).
fn next_id() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("evt_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A JSON event every preset reads its id and type from: `id` (Stripe), `event_id` (Slack),
/// `type` / `event.type`.
fn event(id: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","event_id":"{id}","type":"test.created","event":{{"type":"test.created"}},"data":{{"n":1}}}}"#)
        .into_bytes()
}

/// A delivery of `body` to `/webhooks/<preset>` signed with `secrets` as the provider would, with
/// the unsigned headers GitHub and Shopify send (delivery id, topic).
pub fn delivery(preset: Preset, secrets: &[&str], body: &[u8], id: &str) -> Req {
    let signed = hmac_guard::webhook::sign(preset, secrets, body, None, Some(id)).unwrap();
    let mut r = Req::post(&format!("/webhooks/{}", preset.name()), body);
    r.headers.extend(signed.headers);
    match preset {
        Preset::Github => {
            r.headers.extend([("X-GitHub-Delivery".into(), id.into()), ("X-GitHub-Event".into(), "test.created".into())])
        }
        Preset::Shopify => {
            r.headers.extend([("X-Shopify-Webhook-Id".into(), id.into()), ("X-Shopify-Topic".into(), "test.created".into())]);
        }
        _ => {}
    }
    r
}

fn header_removed(mut r: Req, name: &str) -> Req {
    r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    r
}

/// Every webhook scenario, for every preset.
/// Held by the webhook scenarios: they share [`GATE`] and [`WEBHOOK_CALLS`], and a crate's tests
/// run in parallel.
static WEBHOOK_SCENARIOS: Mutex<()> = Mutex::new(());

pub fn webhooks(addr: SocketAddr, client_gone: ClientGone) {
    let _one_at_a_time = WEBHOOK_SCENARIOS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for preset in Preset::ALL {
        webhook_scenarios(addr, preset, client_gone);
    }
    // All presets at once: a server may take a second to close after refusing a large body.
    let oversize: Vec<_> = Preset::ALL.into_iter().map(|p| std::thread::spawn(move || webhook_oversize(addr, p))).collect();
    for t in oversize {
        t.join().unwrap();
    }
    let r = Req::post("/open/webhook", b"{}").send(addr);
    expect(&r, 500, "ERR_INVALID_STATE", "route without a webhook receiver asking for the Webhook");
}

fn calls() -> usize {
    WEBHOOK_CALLS.load(Ordering::SeqCst)
}

/// What the server does with a request whose client went away while the handler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientGone {
    /// The request (the handler's future) is dropped: the reservation is released (hyper).
    Released,
    /// The handler runs to its end; its answer settles the reservation (actix-web).
    HandlerFinishes,
}

pub fn webhook_scenarios(addr: SocketAddr, preset: Preset, client_gone: ClientGone) {
    let name = preset.name();
    let [old, new] = webhook_secrets(preset);
    let what = |s: &str| format!("{name}: {s}");

    // Valid, signed with the first secret: the handler gets the delivery and the exact bytes.
    let id = next_id();
    let body = event(&id);
    let r = delivery(preset, &[old], &body, &id).send(addr);
    expect(&r, 200, "-", &what("valid"));
    let j = r.json();
    assert_eq!(j["provider"], name, "{j}");
    assert_eq!((j["id"].as_str(), j["type"].as_str()), (Some(id.as_str()), Some("test.created")), "{name}: {j}");
    assert_eq!((j["json"].as_bool(), j["parsed_type"].as_str()), (Some(true), Some("test.created")), "{name}: {j}");
    assert_eq!((j["secret_id"].as_str(), j["sum"].as_u64()), (Some("secret-0"), Some(checksum(&body))), "{name}: {j}");

    // Rotated: signed with the new secret only.
    let id = next_id();
    let r = delivery(preset, &[new], &event(&id), &id).send(addr);
    expect(&r, 200, "-", &what("rotated secret"));
    assert_eq!(r.json()["secret_id"].as_str(), Some("secret-1"), "{name}: {r:?}");

    // A copy after the commit: 200 with the core's body, and the handler does not run.
    let id = next_id();
    let d = delivery(preset, &[old], &event(&id), &id);
    expect(&d.send(addr), 200, "-", &what("first delivery"));
    let before = calls();
    let copy = d.send(addr);
    expect(&copy, 200, "ERR_DUPLICATE_DELIVERY", &what("duplicate after commit"));
    assert_eq!(calls(), before, "{name}: the handler ran for a duplicate");
    if preset.signs_timestamp() {
        // Where the id is signed (header or body), a retry signed anew (here with the other
        // secret) is the same delivery.
        let resigned = delivery(preset, &[new], &event(&id), &id).send(addr);
        expect(&resigned, 200, "ERR_DUPLICATE_DELIVERY", &what("the copy signed anew with the other secret"));
        assert_eq!(calls(), before, "{name}: the handler ran for a re-signed duplicate");
    }

    // In flight: a copy while the first is held is 409 with Retry-After; once the first
    // committed, copies are duplicates.
    GATE.reset();
    let id = next_id();
    let mut held = delivery(preset, &[old], &event(&id), &id);
    held.headers.push(("X-Hold".into(), "1".into()));
    let raw = held.bytes(addr, false);
    let first = std::thread::spawn(move || send_raw(addr, &raw));
    GATE.wait_entered(1);
    let copy = header_removed(held, "X-Hold");
    let busy = copy.send(addr);
    expect(&busy, 409, "ERR_DELIVERY_IN_PROGRESS", &what("copy in flight"));
    let retry_after: u32 = busy.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(retry_after > 0, "{name}: Retry-After on the 409: {busy:?}");
    GATE.open();
    expect(&first.join().unwrap(), 200, "-", &what("the held delivery"));
    expect(&copy.send(addr), 200, "ERR_DUPLICATE_DELIVERY", &what("copy after the held one committed"));
    GATE.reset();

    // Handler failure: released, so the provider's retry runs the handler.
    let id = next_id();
    let mut failing = delivery(preset, &[old], &event(&id), &id);
    failing.headers.push(("X-Fail".into(), "1".into()));
    let before = calls();
    assert_eq!(failing.send(addr).status, 500, "{name}: the handler failed");
    let retry = header_removed(failing, "X-Fail");
    expect(&retry.send(addr), 200, "-", &what("the retry after a failed handler"));
    assert_eq!(calls(), before + 2, "{name}: the retry ran the handler");

    // The handler panicked: no answer, released, the retry runs the handler.
    let id = next_id();
    let mut panicking = delivery(preset, &[old], &event(&id), &id);
    panicking.headers.push(("X-Panic".into(), "1".into()));
    let reply = send_raw_any(addr, &panicking.bytes(addr, false));
    assert!(reply.as_ref().is_none_or(|r| r.status == 500), "{name}: a panicking handler: {reply:?}");
    expect(&header_removed(panicking, "X-Panic").send(addr), 200, "-", &what("the retry after a panic"));

    // The client went away while the handler ran. Where the server drops the request (hyper),
    // the reservation is released and the retry runs the handler; where it lets the handler
    // finish (actix-web), its 2xx commits the delivery and the retry is a duplicate. Either way
    // the copy sees 409 while the delivery is in flight, and no event is lost.
    GATE.reset();
    let id = next_id();
    let mut held = delivery(preset, &[old], &event(&id), &id);
    held.headers.push(("X-Hold".into(), "1".into()));
    let mut gone = TcpStream::connect(addr).unwrap();
    gone.write_all(&held.bytes(addr, false)).unwrap();
    GATE.wait_entered(1);
    drop(gone);
    let retry = header_removed(held, "X-Hold");
    if client_gone == ClientGone::HandlerFinishes {
        GATE.open();
    }
    let started = std::time::Instant::now();
    let reply = loop {
        let reply = retry.send(addr);
        if reply.status != 409 || started.elapsed() > Duration::from_secs(5) {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    GATE.open();
    match client_gone {
        ClientGone::Released => expect(&reply, 200, "-", &what("the retry after the client went away")),
        ClientGone::HandlerFinishes => {
            expect(&reply, 200, "ERR_DUPLICATE_DELIVERY", &what("the retry after the client went away"));
        }
    }
    GATE.reset();

    // A body that is not UTF-8, signed correctly: accepted, bytes intact, not JSON.
    let binary: Vec<u8> = (0..=255u8).chain([0xff, 0xfe, 0x80, 0xc3]).chain(next_id().bytes()).collect();
    let r = delivery(preset, &[old], &binary, &next_id()).send(addr);
    expect(&r, 200, "-", &what("non-UTF-8 body"));
    assert_eq!((r.json()["sum"].as_u64(), r.json()["json"].as_bool()), (Some(checksum(&binary)), Some(false)), "{name}: {r:?}");

    // Malformed headers: 400, never 500; the signature header twice, and a timestamp that is not one.
    let id = next_id();
    let d = delivery(preset, &[old], &event(&id), &id);
    let sig = preset.signature_header();
    let mut twice = delivery(preset, &[old], &event(&id), &id);
    let value = twice.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(sig)).map(|(_, v)| v.clone()).unwrap();
    twice.headers.push((sig.into(), value));
    let reply = twice.send(addr);
    assert_eq!(reply.status, 400, "{name}: signature header twice: {reply:?}");
    if preset.signs_timestamp() {
        let mut bad = delivery(preset, &[old], &event(&id), &id);
        for (n, v) in &mut bad.headers {
            if n.eq_ignore_ascii_case(sig) && preset == Preset::Stripe {
                *v = "t=12x,v1=00".into();
            } else if n.to_ascii_lowercase().ends_with("timestamp") {
                *v = "12x".into();
            }
        }
        let reply = bad.send(addr);
        assert_eq!(reply.status, 400, "{name}: malformed timestamp: {reply:?}");
    }

    // Missing signature: 401.
    expect(&header_removed(d, sig).send(addr), 401, "ERR_MISSING_SIGNATURE", &what("missing signature"));
    // Signed with a secret the endpoint does not have: 401.
    let stranger = match preset {
        Preset::StandardWebhooks | Preset::Svix => "whsec_c3RyYW5nZXItd2ViaG9vay1rZXktMDEyMzQ1Njc4OQ==",
        _ => "a-stranger-secret-0123456789abcdef0123",
    };
    let id = next_id();
    let r = delivery(preset, &[stranger], &event(&id), &id).send(addr);
    expect(&r, 401, "ERR_SIGNATURE_MISMATCH", &what("unknown secret"));
}

/// Two servers whose webhook receivers share one Redis store: a delivery committed on one is a
/// duplicate on the other, one in flight on one is 409 on the other, and one that failed on one
/// runs on the other.
pub fn webhooks_across_servers(a: SocketAddr, b: SocketAddr) {
    let _one_at_a_time = WEBHOOK_SCENARIOS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for preset in Preset::ALL {
        let (name, [old, new]) = (preset.name(), webhook_secrets(preset));
        let what = |s: &str| format!("{name} across servers: {s}");
        let id = next_id();
        let d = delivery(preset, &[old], &event(&id), &id);
        expect(&d.send(a), 200, "-", &what("delivered to the first"));
        let before = calls();
        expect(&d.send(b), 200, "ERR_DUPLICATE_DELIVERY", &what("a copy to the second"));
        if preset.signs_timestamp() {
            let resigned = delivery(preset, &[new], &event(&id), &id);
            expect(&resigned.send(b), 200, "ERR_DUPLICATE_DELIVERY", &what("signed anew, to the second"));
        }
        assert_eq!(calls(), before, "{name}: the handler ran for a duplicate");

        GATE.reset();
        let id = next_id();
        let mut held = delivery(preset, &[old], &event(&id), &id);
        held.headers.push(("X-Hold".into(), "1".into()));
        let raw = held.bytes(a, false);
        let first = std::thread::spawn(move || send_raw(a, &raw));
        GATE.wait_entered(1);
        let copy = header_removed(held, "X-Hold");
        let busy = copy.send(b);
        expect(&busy, 409, "ERR_DELIVERY_IN_PROGRESS", &what("a copy while the first runs"));
        assert!(busy.header("retry-after").is_some_and(|v| v.parse::<u32>().is_ok()), "{busy:?}");
        GATE.open();
        expect(&first.join().unwrap(), 200, "-", &what("the held delivery"));
        expect(&copy.send(b), 200, "ERR_DUPLICATE_DELIVERY", &what("the copy once it committed"));
        GATE.reset();

        let id = next_id();
        let mut failing = delivery(preset, &[old], &event(&id), &id);
        failing.headers.push(("X-Fail".into(), "1".into()));
        assert_eq!(failing.send(a).status, 500, "{name}: the handler failed");
        expect(&header_removed(failing, "X-Fail").send(b), 200, "-", &what("the retry, on the second"));
    }
}

/// Oversize: 413 before the body (Content-Length) and mid-stream (chunked), connection closed.
pub fn webhook_oversize(addr: SocketAddr, preset: Preset) {
    let (name, [old, _]) = (preset.name(), webhook_secrets(preset));
    let what = |s: &str| format!("{name}: {s}");
    let big = vec![b'a'; 2 * 1024 * 1024];
    let d = delivery(preset, &[old], &big, &next_id());
    let reply = send_raw(addr, &d.bytes(addr, false));
    expect(&reply, 413, "ERR_BODY_TOO_LARGE", &what("oversize, Content-Length"));
    assert_eq!(reply.header("connection"), Some("close"), "{name}: {reply:?}");
    let reply = send_until_answered(addr, &d.bytes(addr, true));
    expect(&reply, 413, "ERR_BODY_TOO_LARGE", &what("oversize, chunked"));
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
