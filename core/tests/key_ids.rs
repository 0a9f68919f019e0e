//! Key ids that need sf-string escaping (space, `"`, `\`): signed, verified and explained with the
//! escapes RFC 8941 requires, and refused by `HG1`, whose header cannot carry them.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hmac_guard::{
    Algorithm, ErrorCode, Guard, KeyRing, KeySpec, ManualClock, RequestHead, Rfc9421, Rfc9421SignOptions, Signer, Simple,
    SimpleSignOptions,
};

const NOW: i64 = 1_700_000_000;
const SECRET: &[u8] = b"key-id-test-secret-0123456789abcdef";
/// Space, quote and backslash: `ops "blue" \ team`.
const ODD_ID: &str = r#"ops "blue" \ team"#;
const ODD_ID_SF: &str = r#""ops \"blue\" \\ team""#;

fn guard(scheme: Arc<dyn hmac_guard::Scheme>, id: &str) -> Guard {
    let keys = Arc::new(KeyRing::new());
    keys.upsert(KeySpec::new(id, SECRET, Algorithm::HmacSha256)).unwrap();
    Guard::builder().scheme(scheme).keys(keys).clock(Arc::new(ManualClock::at_secs(NOW))).build().unwrap()
}

fn signed_rfc9421(id: &str, body: &[u8]) -> RequestHead {
    let mut head = RequestHead::new("POST", "/orders?id=7", "https", vec![("Host".into(), "api.example.com".into())])
        .with_header("Content-Length", body.len().to_string());
    let opts = Rfc9421SignOptions { created: Some(NOW), nonce: Some("nonce-keyid-0001".into()), ..Default::default() };
    let signer = Signer::new(KeySpec::new(id, SECRET, Algorithm::HmacSha256)).unwrap();
    let sig = signer.sign_rfc9421(&head, body, &opts).unwrap();
    head.headers.extend(sig);
    head
}

#[test]
fn escaped_key_ids_verify_and_are_serialized_as_sf_strings() {
    for (id, serialized) in [(ODD_ID, ODD_ID_SF), ("a b", r#""a b""#), (" padded ", r#"" padded ""#), ("k1", r#""k1""#)] {
        let head = signed_rfc9421(id, b"{}");
        let input = head.values("signature-input").next().unwrap();
        assert!(input.contains(&format!(";keyid={serialized}")), "{input}");
        let g = guard(Arc::new(Rfc9421::default()), id);
        let ex = g.explain(&head, Some(b"{}"));
        assert!(ex.ok(), "{ex}");
        assert_eq!(ex.key_id.as_deref(), Some(id));
        let base = ex.signature_base.as_deref().unwrap();
        assert!(base.ends_with(&format!(";keyid={serialized}")), "{base}");
        let v = g.verify(&head, b"{}").unwrap();
        assert_eq!(v.key_id, id);
    }
}

#[test]
fn explain_text_quotes_a_key_id_only_when_bare_text_would_be_ambiguous() {
    let text = guard(Arc::new(Rfc9421::default()), ODD_ID).explain(&signed_rfc9421(ODD_ID, b""), None).to_string();
    assert!(text.contains(&format!("\nkey id: {ODD_ID_SF}\n")), "{text}");
    let text = guard(Arc::new(Rfc9421::default()), "k1").explain(&signed_rfc9421("k1", b""), None).to_string();
    assert!(text.contains("\nkey id: k1\n"), "{text}");
}

#[test]
fn a_base_with_an_unescaped_key_id_does_not_verify() {
    // A signer that wrote the key id into the base without escapes computed another MAC.
    let head = signed_rfc9421(ODD_ID, b"");
    let g = guard(Arc::new(Rfc9421::default()), ODD_ID);
    let base = g.explain(&head, None).signature_base.unwrap();
    let naive = base.replace(ODD_ID_SF, &format!("\"{ODD_ID}\""));
    assert_ne!(naive, base);
    let key = hmac_guard::Key::new(KeySpec::new(ODD_ID, SECRET, Algorithm::HmacSha256)).unwrap();
    let mac = base64_encode(&key.mac(naive.as_bytes()));
    let mut forged = head.clone();
    forged.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("signature"));
    forged.headers.push(("Signature".into(), format!("sig1=:{mac}:")));
    assert_eq!(g.verify(&forged, b"").unwrap_err().code(), ErrorCode::SignatureMismatch);
}

#[test]
fn hg1_refuses_a_key_id_its_header_cannot_carry() {
    for id in [ODD_ID, "a b", "quo\"te", "back\\slash"] {
        // The signer refuses to write it...
        let signer = Signer::new(KeySpec::new(id, SECRET, Algorithm::HmacSha256)).unwrap();
        let opts = SimpleSignOptions { timestamp: Some(NOW), nonce: Some("nonce-keyid-0002".into()) };
        let err = signer.sign_simple("GET", "/x", b"", &opts).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig, "{id:?}: {err}");
        // ...and the verifier refuses a request that carries it anyway.
        let head = RequestHead::new("GET", "/x", "https", vec![("Host".into(), "h".into())])
            .with_header("X-HMAC-Key-Id", id)
            .with_header("X-HMAC-Timestamp", NOW.to_string())
            .with_header("X-HMAC-Nonce", "nonce-keyid-0002")
            .with_header("X-HMAC-Content-SHA256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .with_header("X-HMAC-Signature", "00".repeat(32));
        let err = guard(Arc::new(Simple), id).verify(&head, b"").unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedSignature, "{id:?}: {err}");
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
