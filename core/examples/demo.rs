//! `make demo` (core part): signs requests with both schemes and shows what the verifier does with
//! a valid request, a replay, tampering, an old timestamp, an unknown key, an oversize streamed
//! body and a key rotation. Exits non-zero if any verdict differs from the expected one.
#![allow(clippy::unwrap_used)]

use std::process::ExitCode;
use std::sync::Arc;

use hmac_guard::{
    Algorithm, Guard, KeyRing, KeySpec, ManualClock, Policy, RequestHead, Rfc9421, Rfc9421SignOptions, Scheme, Signer, Simple,
    SimpleSignOptions,
};

const NOW: i64 = 1_700_000_000;
const SECRET_V1: &[u8] = b"demo-secret-v1-0123456789abcdef0123456789";
const SECRET_V2: &[u8] = b"demo-secret-v2-0123456789abcdef0123456789";

fn guard(scheme: Arc<dyn Scheme>, clock: &Arc<ManualClock>) -> Guard {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("client-v1", SECRET_V1, Algorithm::HmacSha256).with_subject("billing-service")).unwrap();
    let policy = Policy { body_limit: 64 * 1024, ..Policy::default() };
    Guard::builder().scheme(scheme).keys(keys).clock(clock.clone()).policy(policy).build().unwrap()
}

fn head(method: &str, target: &str, headers: Vec<(String, String)>, body: &[u8]) -> RequestHead {
    let mut h = RequestHead::new(method, target, "https", vec![("Host".into(), "api.example.com".into())]);
    if !body.is_empty() {
        h.headers.push(("Content-Type".into(), "application/json".into()));
    }
    h.headers.extend(headers);
    h
}

struct Table {
    rows: Vec<(String, String, String, bool)>,
}

impl Table {
    fn check(&mut self, scenario: &str, result: Result<String, hmac_guard::Error>, expected: &str) {
        let got = match &result {
            Ok(subject) => format!("200 ok (subject {subject})"),
            Err(e) => format!("{} {}", e.status(), e.code().as_str()),
        };
        let pass = got.contains(expected);
        self.rows.push((scenario.to_string(), got, expected.to_string(), pass));
    }
}

fn main() -> ExitCode {
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let mut table = Table { rows: Vec::new() };
    let signer = Signer::new(KeySpec::new("client-v1", SECRET_V1, Algorithm::HmacSha256)).unwrap().with_clock(clock.clone());
    let body = br#"{"invoice": 42, "amount": "10.00"}"#;

    // RFC 9421
    let g = guard(Arc::new(Rfc9421::default()), &clock);
    let base = head("POST", "/invoices?tenant=acme", vec![], body);
    let sig = signer.sign_rfc9421(&base, body, &Rfc9421SignOptions::default()).unwrap();
    let signed = RequestHead { headers: [base.headers.clone(), sig].concat(), ..base.clone() };
    let subject = |r: Result<hmac_guard::Verified, hmac_guard::Error>| r.map(|v| v.subject.unwrap_or_default());
    table.check("rfc9421: valid request", subject(g.verify(&signed, body)), "200");
    table.check("rfc9421: same request replayed", subject(g.verify(&signed, body)), "ERR_REPLAY");
    let fresh = |target: &str| {
        let b = head("POST", target, vec![], body);
        let s = signer.sign_rfc9421(&b, body, &Rfc9421SignOptions::default()).unwrap();
        RequestHead { headers: [b.headers.clone(), s].concat(), ..b }
    };
    table.check(
        "rfc9421: tampered body",
        subject(g.verify(&fresh("/invoices?tenant=acme"), br#"{"invoice": 42, "amount": "99.00"}"#)),
        "ERR_DIGEST_MISMATCH",
    );
    let mut tampered = fresh("/invoices?tenant=acme");
    tampered.target = "/invoices?tenant=evil".into();
    table.check("rfc9421: tampered query", subject(g.verify(&tampered, body)), "ERR_SIGNATURE_MISMATCH");
    println!("explain for the tampered query:\n{}\n", g.explain(&tampered, Some(body)));
    let old = fresh("/invoices");
    clock.advance_ms(301_000);
    table.check("rfc9421: timestamp 301 s old", subject(g.verify(&old, body)), "ERR_TIMESTAMP_EXPIRED");
    clock.set_secs(NOW);
    let stranger = Signer::new(KeySpec::new("stranger", SECRET_V2, Algorithm::HmacSha256)).unwrap().with_clock(clock.clone());
    let s = stranger.sign_rfc9421(&base, body, &Rfc9421SignOptions::default()).unwrap();
    table.check(
        "rfc9421: unknown key",
        subject(g.verify(&RequestHead { headers: [base.headers.clone(), s].concat(), ..base.clone() }, body)),
        "ERR_UNKNOWN_KEY",
    );
    // An oversize body with no Content-Length: rejected as soon as the streamed bytes pass the cap.
    let big = vec![b'x'; 200 * 1024];
    let b = head("POST", "/upload", vec![], &big);
    let s = signer.sign_rfc9421(&b, &big, &Rfc9421SignOptions::default()).unwrap();
    let big_req = RequestHead { headers: [b.headers.clone(), s].concat(), ..b };
    let mut v = g.begin(&big_req).unwrap();
    let mut fed = 0;
    let mut outcome = Ok(String::new());
    for chunk in big.chunks(16 * 1024) {
        fed += chunk.len();
        if let Err(e) = v.update(chunk) {
            outcome = Err(e);
            break;
        }
    }
    println!("oversize body: stopped after {fed} of {} bytes\n", big.len());
    table.check("rfc9421: 200 KiB body, no Content-Length", outcome, "ERR_BODY_TOO_LARGE");

    // Key rotation: both keys during the overlap, the old one rejected once removed.
    g.keys().upsert(KeySpec::new("client-v2", SECRET_V2, Algorithm::HmacSha256).with_subject("billing-service")).unwrap();
    let signer_v2 = Signer::new(KeySpec::new("client-v2", SECRET_V2, Algorithm::HmacSha256)).unwrap().with_clock(clock.clone());
    let sign_with = |s: &Signer| {
        let b = head("GET", "/invoices/42", vec![], b"");
        let sig = s.sign_rfc9421(&b, b"", &Rfc9421SignOptions::default()).unwrap();
        RequestHead { headers: [b.headers.clone(), sig].concat(), ..b }
    };
    table.check("rotation: old key during overlap", subject(g.verify(&sign_with(&signer), b"")), "200");
    table.check("rotation: new key during overlap", subject(g.verify(&sign_with(&signer_v2), b"")), "200");
    g.keys().remove("client-v1");
    table.check("rotation: old key after removal", subject(g.verify(&sign_with(&signer), b"")), "ERR_UNKNOWN_KEY");

    // Simple scheme
    let g = guard(Arc::new(Simple), &clock);
    let sig = signer.sign_simple("POST", "/invoices?tenant=acme", body, &SimpleSignOptions::default()).unwrap();
    let req = head("POST", "/invoices?tenant=acme", sig, body);
    table.check("simple: valid request", subject(g.verify(&req, body)), "200");
    table.check("simple: replayed", subject(g.verify(&req, body)), "ERR_REPLAY");
    let sig = signer.sign_simple("POST", "/invoices?tenant=acme", body, &SimpleSignOptions::default()).unwrap();
    let req = head("POST", "/invoices?tenant=acme", sig, body);
    table.check("simple: tampered body", subject(g.verify(&req, b"{}")), "ERR_DIGEST_MISMATCH");

    let width = table.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    println!("{:width$}  {:40}  expected", "scenario", "verdict");
    let mut failures = 0;
    for (scenario, got, expected, pass) in &table.rows {
        println!("{scenario:width$}  {got:40}  {expected}{}", if *pass { "" } else { "   <-- MISMATCH" });
        failures += usize::from(!pass);
    }
    if failures > 0 {
        println!("{failures} scenario(s) did not give the expected verdict");
        return ExitCode::FAILURE;
    }
    println!("all {} scenarios gave the expected verdict", table.rows.len());
    ExitCode::SUCCESS
}
