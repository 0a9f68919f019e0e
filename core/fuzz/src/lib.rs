//! Shared input types and oracles for the fuzz targets.
//!
//! Every target checks more than "no panic" where an invariant holds for any input:
//! - `explain` runs the verifier's own checks, so its verdict must equal `verify`'s;
//! - streaming a body in any chunks gives the same verdict as one-shot `verify`;
//! - an unmodified signed request verifies.

use std::sync::{Arc, OnceLock};

use hmac_guard::{
    Algorithm, DigestAlgorithm, ErrorCode, Guard, KeyRing, KeySpec, ManualClock, Policy, RequestHead, Rfc9421, Rfc9421Config,
    Rfc9421SignOptions, Scheme, Signer, Simple, SimpleSignOptions, Verified,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};

/// The verifier's "now" (Unix seconds).
pub const NOW: i64 = 1_700_000_000;

/// Header names the verifier reads, picked by index so the fuzzer reaches them quickly.
pub const KNOWN_HEADERS: [&str; 16] = [
    "Signature",
    "Signature-Input",
    "Content-Digest",
    "Content-Length",
    "Host",
    "Transfer-Encoding",
    "X-HMAC-Key-Id",
    "X-HMAC-Timestamp",
    "X-HMAC-Nonce",
    "X-HMAC-Content-SHA256",
    "X-HMAC-Signature",
    "x-a",
    "x-dict",
    "content-type",
    "signature",
    "host",
];

/// A header name: one the verifier reads, or anything.
#[derive(Debug, Clone, Arbitrary)]
pub enum HeaderName {
    /// `KNOWN_HEADERS[i % len]`.
    Known(u8),
    /// Any string.
    Other(String),
}

impl HeaderName {
    /// The name as a string.
    #[must_use]
    pub fn resolve(&self) -> String {
        match self {
            HeaderName::Known(i) => KNOWN_HEADERS[usize::from(*i) % KNOWN_HEADERS.len()].to_string(),
            HeaderName::Other(s) => s.clone(),
        }
    }
}

/// A request head from fuzz input.
#[derive(Debug, Clone, Arbitrary)]
pub struct FuzzHead {
    /// Method; `None` for `POST`.
    pub method: Option<String>,
    /// Request target.
    pub target: String,
    /// `false`: `https`, `true`: `http`, or any string.
    pub scheme: Result<bool, String>,
    /// Headers in order.
    pub headers: Vec<(HeaderName, String)>,
}

impl FuzzHead {
    /// The head.
    #[must_use]
    pub fn head(&self) -> RequestHead {
        let scheme = match &self.scheme {
            Ok(false) => "https".to_string(),
            Ok(true) => "http".to_string(),
            Err(s) => s.clone(),
        };
        let headers = self.headers.iter().map(|(n, v)| (n.resolve(), v.clone())).collect();
        RequestHead::new(self.method.clone().unwrap_or_else(|| "POST".into()), self.target.clone(), scheme, headers)
    }
}

/// One of a few policies, from tiny limits to the defaults.
#[must_use]
pub fn policy(selector: u8) -> Policy {
    let mut p = Policy::default();
    match selector % 4 {
        0 => {}
        1 => {
            p.body_limit = 16;
            p.header_limits.max_header_len = 64;
            p.header_limits.max_components = 3;
        }
        2 => {
            p.require_nonce = false;
            p.header_limits.min_nonce_len = 0;
        }
        _ => {
            p.max_age_secs = 1;
            p.max_future_skew_secs = 0;
            p.body_limit = 0;
        }
    }
    p
}

fn secret(byte: u8, len: usize) -> Vec<u8> {
    vec![byte; len]
}

/// The keys every target's guard knows.
#[must_use]
pub fn keys() -> Arc<KeyRing> {
    let keys = KeyRing::new();
    for (id, byte, alg) in [("k1", 1, Algorithm::HmacSha256), ("k5", 5, Algorithm::HmacSha512)] {
        keys.upsert(KeySpec::new(id, secret(byte, 32), alg)).expect("valid key");
    }
    Arc::new(keys)
}

/// Which scheme a guard runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum SchemeChoice {
    /// RFC 9421 with the default policy.
    Rfc9421,
    /// RFC 9421 requiring nothing but `keyid`.
    Rfc9421Relaxed,
    /// The simple scheme.
    Simple,
}

impl SchemeChoice {
    /// The scheme.
    #[must_use]
    pub fn scheme(self) -> Arc<dyn Scheme> {
        match self {
            SchemeChoice::Rfc9421 => Arc::new(Rfc9421::default()),
            SchemeChoice::Rfc9421Relaxed => Arc::new(relaxed_rfc9421()),
            SchemeChoice::Simple => Arc::new(Simple),
        }
    }
}

/// RFC 9421 without required components or parameters (beyond `keyid`).
#[must_use]
pub fn relaxed_rfc9421() -> Rfc9421 {
    Rfc9421::new(Rfc9421Config {
        required_components: Vec::new(),
        required_params: Vec::new(),
        accepted_labels: None,
        required_tag: None,
    })
    .expect("valid config")
}

/// A fresh guard (own replay store) at `NOW`.
#[must_use]
pub fn guard(scheme: SchemeChoice, policy: Policy) -> Guard {
    Guard::builder()
        .scheme(scheme.scheme())
        .keys(keys())
        .clock(Arc::new(ManualClock::at_secs(NOW)))
        .policy(policy)
        .build()
        .expect("valid guard")
}

/// Streams `body` cut at `cuts` (each taken modulo the body length, then sorted).
///
/// # Errors
/// The verifier's verdict.
pub fn verify_chunked(guard: &Guard, head: &RequestHead, body: &[u8], cuts: &[u16]) -> hmac_guard::Result<Verified> {
    let mut cuts: Vec<usize> = cuts.iter().take(16).map(|c| usize::from(*c) % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut v = guard.begin(head)?;
    let mut first_err = None;
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(body.len())) {
        let r = v.update(&body[start..cut]);
        match (&first_err, r) {
            (None, Err(e)) => first_err = Some(e),
            (Some(first), r) => assert_eq!(r.as_ref().err(), Some(first), "a failed verification must stay failed"),
            (None, Ok(())) => {}
        }
        start = cut;
    }
    let out = v.finish();
    if let Some(e) = first_err {
        assert_eq!(out.as_ref().err(), Some(&e), "finish must report the streaming failure");
    }
    out
}

fn code<T>(r: &hmac_guard::Result<T>) -> Option<ErrorCode> {
    r.as_ref().err().map(hmac_guard::Error::code)
}

/// Runs every oracle on one request: `explain` vs `verify` on one guard, one-shot vs chunked on
/// two fresh guards. Returns the one-shot verdict.
pub fn check_request(scheme: SchemeChoice, policy: Policy, head: &RequestHead, body: &[u8], cuts: &[u16]) -> Option<ErrorCode> {
    let g = guard(scheme, policy);
    let _ = g.explain(head, None).to_string();
    let ex = g.explain(head, Some(body));
    let _ = ex.to_string();
    let one_shot = g.verify(head, body);
    match (&ex.error, &one_shot) {
        (None, Ok(v)) => {
            // The verified values are readable and name the covered components.
            for (id, value) in v.covered.iter() {
                assert_eq!(v.component(id), Some(value), "component {id:?}");
            }
        }
        (None, Err(e)) => panic!("explain passed, verify failed: {e:?}\n{ex}"),
        (Some(a), Err(b)) => assert_eq!(a.code(), b.code(), "explain and verify disagree\n{ex}"),
        (Some(a), Ok(_)) => panic!("explain failed ({a:?}) but verify passed\n{ex}"),
    }
    let chunked = verify_chunked(&guard(scheme, policy), head, body, cuts);
    assert_eq!(one_shot.is_ok(), chunked.is_ok(), "one-shot {one_shot:?} vs chunked {chunked:?}");
    let overrun = [ErrorCode::BodyTooLarge, ErrorCode::BodyLengthMismatch];
    let (a, b) = (code(&one_shot), code(&chunked));
    if !(a.is_some_and(|a| overrun.contains(&a)) && b.is_some_and(|b| overrun.contains(&b))) {
        assert_eq!(a, b, "one-shot vs chunked");
    }
    a
}

/// A signed request to start mutating from.
#[derive(Debug, Clone)]
pub struct Template {
    /// Scheme that verifies it.
    pub scheme: SchemeChoice,
    /// Signed head.
    pub head: RequestHead,
    /// Body.
    pub body: Vec<u8>,
}

/// A few signed requests covering the features: both algorithms, both digests, derived
/// components, `sf`/`key`/`bs` fields, multi-valued headers, the simple scheme.
pub fn templates() -> &'static [Template] {
    static T: OnceLock<Vec<Template>> = OnceLock::new();
    T.get_or_init(|| {
        let base = |body: &[u8]| {
            RequestHead::new("POST", "/v1/orders/42?expand=items&sp=a+b&enc=%2Fx", "https", Vec::new())
                .with_header("Host", "API.example.com:443")
                .with_header("Content-Type", "application/json")
                .with_header("Content-Length", body.len().to_string())
                .with_header("x-a", " one ")
                .with_header("X-A", "two\r\n  three")
                .with_header("x-dict", "a=1, b=(x y);p, c=\"s\"")
        };
        let body = br#"{"hello": "world"}"#.to_vec();
        let mut out = Vec::new();
        let rfc = |key: &str, byte: u8, alg: Algorithm, opts: Rfc9421SignOptions, body: &[u8], head: RequestHead| {
            let signer = Signer::new(KeySpec::new(key, secret(byte, 32), alg)).expect("valid key");
            let mut head = head;
            let added = signer.sign_rfc9421(&head, body, &opts).expect("template signs");
            head.headers.extend(added);
            head
        };
        let opts = |components: Option<Vec<&str>>| Rfc9421SignOptions {
            components: components.map(|c| c.into_iter().map(String::from).collect()),
            created: Some(NOW - 5),
            nonce: Some("template-nonce-1".into()),
            ..Rfc9421SignOptions::default()
        };
        out.push(Template {
            scheme: SchemeChoice::Rfc9421,
            head: rfc("k1", 1, Algorithm::HmacSha256, opts(None), &body, base(&body)),
            body: body.clone(),
        });
        let full = Rfc9421SignOptions {
            expires_in: Some(60),
            tag: Some("app".into()),
            include_alg: true,
            digest: DigestAlgorithm::Sha512,
            label: "sig-b".into(),
            ..opts(Some(vec![
                "@method",
                "@authority",
                "@path",
                "@query",
                "@target-uri",
                "@scheme",
                "@request-target",
                "\"@query-param\";name=\"sp\"",
                "content-digest",
                "content-type",
                "x-a",
                "\"x-a\";bs",
                "\"x-dict\";sf",
                "\"x-dict\";key=\"b\"",
            ]))
        };
        out.push(Template {
            scheme: SchemeChoice::Rfc9421,
            head: rfc("k5", 5, Algorithm::HmacSha512, full, &body, base(&body)),
            body: body.clone(),
        });
        // A GET without a body: nothing binds a body, so any body byte is refused.
        let get = RequestHead::new("GET", "/status", "http", vec![("Host".into(), "h.example".into())]);
        out.push(Template {
            scheme: SchemeChoice::Rfc9421Relaxed,
            head: rfc("k1", 1, Algorithm::HmacSha256, opts(Some(vec!["@method", "@path"])), &[], get),
            body: Vec::new(),
        });
        let signer = Signer::new(KeySpec::new("k1", secret(1, 32), Algorithm::HmacSha256)).expect("valid key");
        let simple_opts = SimpleSignOptions { timestamp: Some(NOW - 5), nonce: Some("template-nonce-2".into()) };
        let mut head = base(&body);
        head.headers.extend(
            signer.sign_simple("POST", "/v1/orders/42?expand=items&sp=a+b&enc=%2Fx", &body, &simple_opts).expect("signs"),
        );
        out.push(Template { scheme: SchemeChoice::Simple, head, body });
        out
    })
}

/// An edit to a signed request.
#[derive(Debug, Clone, Arbitrary)]
pub enum Mutation {
    /// Replace header `i`'s value.
    SetValue(u8, String),
    /// Insert text into header `i`'s value at a position.
    Insert(u8, u16, String),
    /// Delete up to `n` bytes of header `i`'s value from a position.
    Delete(u8, u16, u8),
    /// Rename header `i`.
    Rename(u8, HeaderName),
    /// Add a header at a position.
    Add(u8, HeaderName, String),
    /// Remove header `i`.
    Remove(u8),
    /// Repeat header `i`.
    Duplicate(u8),
    /// Replace the method.
    Method(String),
    /// Replace the target.
    Target(String),
    /// Replace the scheme.
    Scheme(String),
    /// Flip bits of a body byte.
    FlipBody(u16, u8),
    /// Append to the body.
    AppendBody(Vec<u8>),
    /// Truncate the body.
    TruncateBody(u16),
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Mutation {
    /// Applies the edit.
    pub fn apply(&self, head: &mut RequestHead, body: &mut Vec<u8>) {
        let n = head.headers.len();
        let pick = |i: &u8| if n == 0 { None } else { Some(usize::from(*i) % n) };
        match self {
            Mutation::SetValue(i, v) => {
                if let Some(i) = pick(i) {
                    head.headers[i].1.clone_from(v);
                }
            }
            Mutation::Insert(i, at, s) => {
                if let Some(i) = pick(i) {
                    let v = &mut head.headers[i].1;
                    let at = floor_boundary(v, usize::from(*at) % (v.len() + 1));
                    v.insert_str(at, s);
                }
            }
            Mutation::Delete(i, at, len) => {
                if let Some(i) = pick(i) {
                    let v = &mut head.headers[i].1;
                    let start = floor_boundary(v, usize::from(*at) % (v.len() + 1));
                    let end = floor_boundary(v, start + usize::from(*len));
                    v.replace_range(start..end.max(start), "");
                }
            }
            Mutation::Rename(i, name) => {
                if let Some(i) = pick(i) {
                    head.headers[i].0 = name.resolve();
                }
            }
            Mutation::Add(at, name, v) => {
                let at = usize::from(*at) % (n + 1);
                head.headers.insert(at, (name.resolve(), v.clone()));
            }
            Mutation::Remove(i) => {
                if let Some(i) = pick(i) {
                    head.headers.remove(i);
                }
            }
            Mutation::Duplicate(i) => {
                if let Some(i) = pick(i) {
                    let h = head.headers[i].clone();
                    head.headers.push(h);
                }
            }
            Mutation::Method(m) => head.method.clone_from(m),
            Mutation::Target(t) => head.target.clone_from(t),
            Mutation::Scheme(s) => head.scheme.clone_from(s),
            Mutation::FlipBody(at, x) => {
                if !body.is_empty() {
                    let at = usize::from(*at) % body.len();
                    body[at] ^= *x;
                }
            }
            Mutation::AppendBody(extra) => body.extend_from_slice(extra),
            Mutation::TruncateBody(len) => {
                let len = usize::from(*len) % (body.len() + 1);
                body.truncate(len);
            }
        }
    }
}
