//! Order-of-checks, fail-fast, no-leak and extensibility properties of the verifier.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine as _;
use hmac_guard::digest::{from_hex, to_hex};
use hmac_guard::scheme::{BodyBinding, Covered, HeaderLimits, MacInput, Prepared, Scheme};
use hmac_guard::{
    Algorithm, ErrorCode, Guard, KeyRing, KeySpec, ManualClock, Policy, ReplayMode, RequestHead, Rfc9421, Rfc9421SignOptions,
    Signer,
};

const NOW: i64 = 1_700_000_000;
const SECRET: &[u8] = b"tests-secret-0123456789abcdef-0123456789";

fn setup(policy: Policy) -> (Guard, Signer, Arc<ManualClock>) {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("k1", SECRET, Algorithm::HmacSha256).with_subject("svc:billing")).unwrap();
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let guard =
        Guard::builder().scheme(Arc::new(Rfc9421::default())).keys(keys).clock(clock.clone()).policy(policy).build().unwrap();
    let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap().with_clock(clock.clone());
    (guard, signer, clock)
}

fn signed(signer: &Signer, target: &str, body: &[u8], nonce: &str) -> RequestHead {
    let mut head = RequestHead::new("POST", target, "https", vec![("Host".into(), "api.example.com".into())]);
    head.headers.push(("Content-Length".into(), body.len().to_string()));
    let opts = Rfc9421SignOptions { nonce: Some(nonce.into()), ..Rfc9421SignOptions::default() };
    let sig = signer.sign_rfc9421(&head, body, &opts).unwrap();
    head.headers.extend(sig);
    head
}

#[test]
fn failed_body_check_does_not_burn_the_nonce() {
    let (guard, signer, _) = setup(Policy::default());
    let head = signed(&signer, "/a", b"hello world!", "nonce-burn-0001");
    // Same length, different bytes: the digest check fails in finish().
    assert_eq!(guard.verify(&head, b"hello WORLD!").unwrap_err().code(), ErrorCode::DigestMismatch);
    // The genuine request still goes through: the nonce was not claimed by the forgery.
    let v = guard.verify(&head, b"hello world!").unwrap();
    assert_eq!(v.subject.as_deref(), Some("svc:billing"));
    assert_eq!(guard.verify(&head, b"hello world!").unwrap_err().code(), ErrorCode::Replay);
}

#[test]
fn bad_signature_does_not_burn_the_nonce() {
    let (guard, signer, _) = setup(Policy::default());
    let good = signed(&signer, "/a", b"x", "nonce-burn-0002");
    let mut forged = good.clone();
    forged.target = "/b".into();
    assert_eq!(guard.verify(&forged, b"x").unwrap_err().code(), ErrorCode::SignatureMismatch);
    guard.verify(&good, b"x").unwrap();
}

#[test]
fn header_problems_fail_before_the_body() {
    let (guard, signer, clock) = setup(Policy { body_limit: 100, ..Policy::default() });
    let head = signed(&signer, "/a", &[b'x'; 101], "nonce-early-0001");
    // Declared length over the limit: refused in begin(), before a body byte.
    assert_eq!(guard.begin(&head).unwrap_err().code(), ErrorCode::BodyTooLarge);
    let head = signed(&signer, "/a", b"x", "nonce-early-0002");
    clock.advance_ms(301_000);
    assert_eq!(guard.begin(&head).unwrap_err().code(), ErrorCode::TimestampExpired);
}

#[test]
fn streaming_stops_at_the_cap_and_stays_failed() {
    let (guard, signer, _) = setup(Policy { body_limit: 1000, ..Policy::default() });
    let body = vec![7u8; 5000];
    let mut head = signed(&signer, "/up", &body, "nonce-stream-001");
    head.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
    head.headers.push(("Transfer-Encoding".into(), "chunked".into()));
    let mut v = guard.begin(&head).unwrap();
    let mut accepted = 0;
    let mut err = None;
    for chunk in body.chunks(300) {
        match v.update(chunk) {
            Ok(()) => accepted += chunk.len(),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert_eq!(err.unwrap().code(), ErrorCode::BodyTooLarge);
    assert_eq!(accepted, 900, "fails on the chunk that crosses the cap");
    assert_eq!(v.update(b"more").unwrap_err().code(), ErrorCode::BodyTooLarge);
    assert_eq!(v.finish().unwrap_err().code(), ErrorCode::BodyTooLarge);
}

#[test]
fn body_without_binding_is_refused_even_without_announcement() {
    let (guard, signer, _) = setup(Policy::default());
    let mut head = RequestHead::new("GET", "/a", "https", vec![("Host".into(), "api.example.com".into())]);
    let sig = signer.sign_rfc9421(&head, b"", &Rfc9421SignOptions::default()).unwrap();
    head.headers.extend(sig);
    // No Content-Length or Transfer-Encoding, so begin() accepts; the first body byte is refused.
    let mut v = guard.begin(&head).unwrap();
    assert_eq!(v.update(b"smuggled").unwrap_err().code(), ErrorCode::DigestRequired);
}

#[test]
fn split_finish_claims_the_nonce_only_at_claim() {
    let (guard, signer, _) = setup(Policy::default());
    let head = signed(&signer, "/a", b"body", "nonce-split-0001");
    let mut v = guard.begin(&head).unwrap();
    v.update(b"body").unwrap();
    let pending = v.finish_body().unwrap();
    // Not yet claimed: a second copy can still be verified up to the claim.
    let mut v2 = guard.begin(&head).unwrap();
    v2.update(b"body").unwrap();
    let pending2 = v2.finish_body().unwrap();
    assert!(pending.claim().is_ok());
    assert_eq!(pending2.claim().unwrap_err().code(), ErrorCode::Replay);
}

#[test]
fn two_phase_reservation_commit_and_release() {
    let (guard, signer, clock) = setup(Policy { replay: ReplayMode::Reserve { hold_secs: 30 }, ..Policy::default() });
    let head = signed(&signer, "/hook", b"{}", "delivery-0000001");
    let first = guard.verify(&head, b"{}").unwrap();
    // A concurrent duplicate while the handler runs is rejected.
    assert_eq!(guard.verify(&head, b"{}").unwrap_err().code(), ErrorCode::Replay);
    // The handler failed: release, and the provider's retry succeeds.
    first.replay_ticket.as_ref().unwrap().release().unwrap();
    let retry = guard.verify(&head, b"{}").unwrap();
    retry.replay_ticket.as_ref().unwrap().commit().unwrap();
    // Committed: rejected for the rest of the window, also after the hold would have lapsed.
    clock.advance_ms(60_000);
    assert_eq!(guard.verify(&head, b"{}").unwrap_err().code(), ErrorCode::Replay);
}

#[test]
fn identity_comes_from_the_key_not_the_request() {
    let (guard, signer, _) = setup(Policy::default());
    let mut head = signed(&signer, "/a", b"", "nonce-ident-0001");
    head.headers.push(("X-User".into(), "admin".into()));
    let v = guard.verify(&head, b"").unwrap();
    assert_eq!(v.subject.as_deref(), Some("svc:billing"));
    assert_eq!(v.component("@path"), Some("/a"));
    assert_eq!(v.component("x-user"), None);
}

#[test]
fn secrets_and_expected_macs_never_leak() {
    let (guard, signer, _) = setup(Policy::default());
    let head = signed(&signer, "/a", b"x", "nonce-leak-00001");
    let mut forged = head.clone();
    forged.target = "/b".into();
    let expected_mac_for_forgery = {
        // What the server computes for the forged request: must not appear anywhere.
        let ex = guard.explain(&forged, Some(b"x"));
        let key = hmac_guard::Key::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
        key.mac(ex.signature_base.as_ref().unwrap().as_bytes())
    };
    let secret_text = String::from_utf8_lossy(SECRET).into_owned();
    let forbidden = [
        secret_text.clone(),
        to_hex(SECRET),
        base64::engine::general_purpose::STANDARD.encode(SECRET),
        to_hex(&expected_mac_for_forgery),
        base64::engine::general_purpose::STANDARD.encode(&expected_mac_for_forgery),
    ];
    let err = guard.verify(&forged, b"x").unwrap_err();
    // Configuration with the secret in the wrong field: the error names the problem, not the value.
    let config_errors = [
        // id and secret swapped
        KeyRing::new().upsert(KeySpec::new(secret_text.clone(), &b"k1"[..], Algorithm::HmacSha256)).unwrap_err(),
        // the secret as an id that is not a valid key id
        KeyRing::new().upsert(KeySpec::new(format!("{secret_text}\n"), SECRET, Algorithm::HmacSha256)).unwrap_err(),
        KeyRing::new().upsert(KeySpec::new(secret_text.repeat(4), SECRET, Algorithm::HmacSha256)).unwrap_err(),
        // the secret as an id with inverted validity bounds
        KeyRing::new()
            .upsert(KeySpec::new(secret_text.clone(), SECRET, Algorithm::HmacSha256).with_validity(Some(NOW), Some(NOW)))
            .unwrap_err(),
        // the secret as an algorithm name or a required parameter
        Algorithm::from_name(&secret_text).unwrap_err(),
        Rfc9421::new(hmac_guard::Rfc9421Config { required_params: vec![secret_text.clone()], ..Default::default() }).unwrap_err(),
    ];
    let mut outputs = vec![
        format!("{guard:?}"),
        format!("{signer:?}"),
        format!("{err} {err:?}"),
        guard.explain(&forged, Some(b"x")).to_string(),
        format!("{:?}", guard.explain(&forged, Some(b"x"))),
        format!("{:?}", KeySpec::new("k1", SECRET, Algorithm::HmacSha256)),
    ];
    outputs.extend(config_errors.iter().map(|e| format!("{e} {e:?}")));
    for out in &outputs {
        for f in &forbidden {
            assert!(!out.contains(f.as_str()), "leak in {out}");
        }
    }
}

/// A GitHub-style webhook scheme written outside the crate: the MAC runs over the raw body and
/// the key is named by configuration. The verifier handles it unchanged.
#[derive(Debug)]
struct HubSignature;

impl Scheme for HubSignature {
    fn name(&self) -> &'static str {
        "hub"
    }

    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> hmac_guard::Result<Prepared> {
        let value = head
            .single("x-hub-signature-256", limits.max_header_len, ErrorCode::MalformedSignature)?
            .ok_or_else(|| hmac_guard::Error::new(ErrorCode::MissingSignature, "no X-Hub-Signature-256"))?;
        let hex = value
            .strip_prefix("sha256=")
            .ok_or_else(|| hmac_guard::Error::new(ErrorCode::MalformedSignature, "expected sha256=<hex>"))?;
        let signature = from_hex(hex).ok_or_else(|| hmac_guard::Error::new(ErrorCode::MalformedSignature, "not hex"))?;
        let delivery = head.single("x-delivery", limits.max_header_len, ErrorCode::MalformedSignature)?.map(String::from);
        Ok(Prepared {
            scheme: "hub",
            label: None,
            key_id: "hub-endpoint".into(),
            created: None,
            expires: None,
            nonce: delivery,
            algorithm: Some(Algorithm::HmacSha256),
            tag: None,
            covered: Covered::default(),
            mac_input: MacInput::BodyAppended { prefix: Vec::new(), suffix: Vec::new() },
            signature,
            body: BodyBinding::InMac,
            webhook: None,
        })
    }
}

#[test]
fn a_body_mac_scheme_plugs_into_the_same_verifier() {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("hub-endpoint", SECRET, Algorithm::HmacSha256)).unwrap();
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let guard = Guard::builder().scheme(Arc::new(HubSignature)).keys(keys).clock(clock).build().unwrap();
    let body = br#"{"action":"opened"}"#;
    let key = hmac_guard::Key::new(KeySpec::new("x", SECRET, Algorithm::HmacSha256)).unwrap();
    let head = RequestHead::new("POST", "/hook", "https", vec![])
        .with_header("X-Hub-Signature-256", format!("sha256={}", to_hex(&key.mac(body))))
        .with_header("X-Delivery", "delivery-guid-0001")
        .with_header("Content-Length", body.len().to_string());
    let mut v = guard.begin(&head).unwrap();
    for c in body.chunks(5) {
        v.update(c).unwrap();
    }
    assert_eq!(v.finish().unwrap().nonce.as_deref(), Some("delivery-guid-0001"));
    assert_eq!(guard.verify(&head, body).unwrap_err().code(), ErrorCode::Replay);
    let tampered = head.clone();
    let mut other = br#"{"action":"closed"}"#.to_vec();
    other.truncate(body.len());
    assert_eq!(guard.verify(&tampered, &other).unwrap_err().code(), ErrorCode::SignatureMismatch);
}

#[test]
fn a_claim_after_the_window_is_refused_even_if_begin_was_inside() {
    let (guard, signer, clock) = setup(Policy::default());
    let head = signed(&signer, "/slow", b"payload", "nonce-slow-00001");
    guard.verify(&head, b"payload").unwrap();
    // A replay whose head arrives in the window's last second…
    clock.set_secs(NOW + 300);
    clock.advance_ms(900);
    let mut v = guard.begin(&head).unwrap();
    v.update(b"payload").unwrap();
    // …and whose body completes after it: refused, not claimed against an expired entry.
    clock.advance_ms(300);
    assert_eq!(v.finish().unwrap_err().code(), ErrorCode::TimestampExpired);
    // Inside the window the original's entry is still there.
    clock.set_secs(NOW + 299);
    assert_eq!(guard.verify(&head, b"payload").unwrap_err().code(), ErrorCode::Replay);
}

#[test]
fn a_nonce_without_created_is_refused() {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
    let config = hmac_guard::Rfc9421Config { required_params: vec!["nonce".into(), "keyid".into()], ..Default::default() };
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let guard = Guard::builder().scheme(Arc::new(Rfc9421::new(config).unwrap())).keys(keys).clock(clock).build().unwrap();
    let input = r#"sig1=("@method" "@authority" "@path" "@query");nonce="nonce-no-created1";keyid="k1";expires=1700003600"#;
    let head = RequestHead::new("GET", "/", "https", vec![("Host".into(), "h".into())])
        .with_header("Signature-Input", input)
        .with_header("Signature", "sig1=:AAAA:");
    assert_eq!(guard.verify(&head, b"").unwrap_err().code(), ErrorCode::MissingParameter);
}

#[test]
fn signer_and_verifier_share_the_default_url_scheme() {
    let (guard, signer, _) = setup(Policy::default());
    let components = ["@method", "@scheme", "@target-uri", "@authority", "@path", "@query"].map(String::from).to_vec();
    let opts = Rfc9421SignOptions {
        nonce: Some("nonce-scheme-0001".into()),
        components: Some(components),
        ..Rfc9421SignOptions::default()
    };
    let unknown = RequestHead::new("GET", "/a", "", vec![("Host".into(), "api.example.com".into())]);
    let mut head = unknown.clone();
    head.headers.extend(signer.sign_rfc9421(&unknown, b"", &opts).unwrap());
    let v = guard.verify(&head, b"").unwrap();
    assert_eq!(v.component("@scheme"), Some("https"));
    let mut over_http = head.clone();
    over_http.scheme = "http".into();
    assert_eq!(guard.verify(&over_http, b"").unwrap_err().code(), ErrorCode::SignatureMismatch);
}

#[test]
fn accept_signature_answers_401s_of_rfc9421_only() {
    let (guard, _, _) = setup(Policy::default());
    let value = guard.accept_signature(ErrorCode::SignatureMismatch, true).unwrap();
    assert_eq!(value, r#"sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce;keyid"#);
    assert!(guard.accept_signature(ErrorCode::MissingSignature, false).is_some());
    assert_eq!(guard.accept_signature(ErrorCode::MalformedSignature, false), None, "400s say what is wrong instead");
    assert_eq!(guard.accept_signature(ErrorCode::ReplayStoreUnavailable, false), None);
    let simple = Guard::builder().scheme(Arc::new(hmac_guard::Simple)).build().unwrap();
    assert_eq!(simple.accept_signature(ErrorCode::SignatureMismatch, false), None);
    let no_nonce = Guard::builder()
        .scheme(Arc::new(Rfc9421::default()))
        .policy(Policy { require_nonce: false, ..Policy::default() })
        .build()
        .unwrap();
    assert!(
        no_nonce.accept_signature(ErrorCode::UnknownKey, false).unwrap().ends_with(";created;nonce;keyid"),
        "the scheme's own params still name nonce"
    );
}
