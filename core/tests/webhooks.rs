//! Webhook presets through the public API: the shared vectors (`tests/vectors/webhooks.json`),
//! then what one delivery does in the replay store (commit, duplicate, in flight, release), rotation,
//! the signer and the configuration contract.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac_guard::config::{Env, Spelling, Value as ConfigValue, rotate_secrets};
use hmac_guard::webhook::{Preset, sign};
use hmac_guard::{ErrorCode, Guard, GuardConfig, ManualClock, RequestHead};
use serde_json::Value;

fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/webhooks.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn options(preset: &str, secrets: &[&str], now: i64, extra: Vec<(&str, ConfigValue)>) -> ConfigValue {
    let mut o = vec![
        ("scheme".to_string(), ConfigValue::str(preset)),
        ("secrets".into(), ConfigValue::List(secrets.iter().map(|s| ConfigValue::str(*s)).collect())),
        ("clock".into(), ConfigValue::Clock(Arc::new(ManualClock::at_secs(now)))),
    ];
    o.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    ConfigValue::Map(o)
}

fn guard(preset: &str, secrets: &[&str], now: i64) -> Guard {
    let o = options(preset, secrets, now, Vec::new());
    GuardConfig::from_options_in(&o, Spelling::Python, &Env::fixed(&[])).unwrap().build().unwrap().guard
}

fn head(headers: &[(String, String)]) -> RequestHead {
    RequestHead::new("POST", "/hooks", "https", headers.to_vec())
}

#[test]
fn shared_vectors() {
    let doc = vectors();
    assert_eq!(doc["kind"], "webhook");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut presets = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let preset = case["preset"].as_str().unwrap();
        presets.insert(preset.to_string());
        let secrets: Vec<&str> = case["secrets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        let g = guard(preset, &secrets, case["now"].as_i64().unwrap());
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().to_string()))
            .collect();
        let body = B64.decode(case["body_b64"].as_str().unwrap()).unwrap();
        let h = head(&headers);
        let explained = g.explain(&h, Some(&body));
        // Streamed in small chunks: the same verdict as all at once.
        let streamed = g.begin(&h).and_then(|mut v| {
            for chunk in body.chunks(3) {
                v.update(chunk)?;
            }
            v.finish_body()
        });
        let result = g.verify(&h, &body);
        let expect = &case["expect"];
        match expect["error"].as_str() {
            Some(code) => {
                let e = result.err().unwrap_or_else(|| panic!("{name}: accepted, expected {code}"));
                assert_eq!(e.code().as_str(), code, "{name}: {e}");
                assert_eq!(streamed.unwrap_err().code(), e.code(), "{name}: streamed");
                assert_eq!(
                    explained.error.map(|e| e.code()).or_else(|| explained.checks.iter().find_map(|(_, o)| match o {
                        hmac_guard::Outcome::Failed(e) => Some(e.code()),
                        _ => None,
                    })),
                    Some(e.code()),
                    "{name}: explain"
                );
            }
            None => {
                let v = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(streamed.is_ok(), "{name}: streamed");
                let d = v.webhook.as_ref().unwrap();
                assert_eq!(d.provider, preset, "{name}");
                assert_eq!(v.key_id, format!("secret-{}", expect["secret_index"].as_u64().unwrap()), "{name}");
                assert_eq!(d.id.as_deref(), expect["id"].as_str(), "{name}: id");
                assert_eq!(d.event_type.as_deref(), expect["type"].as_str(), "{name}: type");
                assert!(explained.ok(), "{name}: explain {explained}");
                assert_eq!(explained.key_id, Some(v.key_id.clone()), "{name}: explain key");
                if let Some(signed) = case["signed_b64"].as_str() {
                    let signed = B64.decode(signed).unwrap();
                    let base = explained.signature_base.unwrap();
                    let prefix = base.strip_suffix("<body>").unwrap();
                    assert_eq!([prefix.as_bytes(), &body].concat(), signed, "{name}: signed bytes");
                    // The signer produces the same bytes (and a signature the guard accepts).
                    let ts = v.created;
                    let id = d.id.as_deref().filter(|_| matches!(preset, "standard-webhooks" | "svix"));
                    let secret = secrets[usize::try_from(expect["secret_index"].as_u64().unwrap()).unwrap()];
                    let made = sign(Preset::from_name(preset).unwrap(), &[secret], &body, ts, id).unwrap();
                    assert_eq!(made.signed, signed, "{name}: signer");
                    let fresh = guard(preset, &secrets, case["now"].as_i64().unwrap());
                    fresh.verify(&head(&made.headers), &body).unwrap_or_else(|e| panic!("{name}: signed by us: {e}"));
                }
            }
        }
    }
    let all: std::collections::BTreeSet<String> = Preset::ALL.iter().map(|p| p.name().to_string()).collect();
    assert_eq!(presets, all, "every preset has vectors");
}

const STRIPE: &str = "whsec_0123456789abcdefghijklmnopqrstuv";
const NOW: i64 = 1_800_000_000;

fn stripe_delivery(body: &[u8], ts: i64) -> RequestHead {
    head(&sign(Preset::Stripe, &[STRIPE], body, Some(ts), None).unwrap().headers)
}

#[test]
fn a_delivery_is_claimed_under_its_signed_event_id_in_two_phases() {
    let g = guard("stripe", &[STRIPE], NOW);
    let body = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    let first = g.verify(&stripe_delivery(body, NOW), body).unwrap();
    let ticket = first.replay_ticket.clone().unwrap();
    assert_eq!(first.webhook.as_ref().unwrap().dedupe.name(), "body-id");
    // Stripe's retry: the same event re-signed with a new timestamp, while the first is in flight.
    let retry = stripe_delivery(body, NOW + 60);
    let e = g.verify(&retry, body).unwrap_err();
    assert_eq!((e.code(), e.status()), (ErrorCode::DeliveryInProgress, 409));
    let refusal = g.refusal(&e, true, true, false);
    assert_eq!((refusal.status, refusal.retry_after), (409, Some(60)));
    // The handler failed: released, the retry runs.
    ticket.release().unwrap();
    let second = g.verify(&retry, body).unwrap();
    second.replay_ticket.unwrap().commit().unwrap();
    // Committed: every later copy is a duplicate, answered 200 without the handler.
    let e = g.verify(&stripe_delivery(body, NOW + 120), body).unwrap_err();
    assert_eq!((e.code(), e.status()), (ErrorCode::DuplicateDelivery, 200));
    assert_eq!(g.refusal(&e, true, true, false).retry_after, None);
    // Another event is another delivery.
    let other = br#"{"id":"evt_2","type":"invoice.paid"}"#;
    g.verify(&stripe_delivery(other, NOW), other).unwrap();
}

#[test]
fn the_dedupe_horizon_outlives_the_timestamp_tolerance() {
    let clock = Arc::new(ManualClock::at_secs(NOW));
    let o = ConfigValue::map([
        ("scheme", ConfigValue::str("stripe")),
        ("secrets", ConfigValue::str(STRIPE)),
        ("clock", ConfigValue::Clock(Arc::clone(&clock))),
        ("dedupe_secs", ConfigValue::Int(7200)),
    ]);
    let g = GuardConfig::from_options_in(&o, Spelling::Python, &Env::fixed(&[])).unwrap().build().unwrap().guard;
    let body = br#"{"id":"evt_9"}"#;
    g.verify(&stripe_delivery(body, NOW), body).unwrap().replay_ticket.unwrap().commit().unwrap();
    // An hour later (the tolerance is 5 minutes) a retry with a fresh timestamp is still a duplicate.
    clock.set_secs(NOW + 3600);
    assert_eq!(g.verify(&stripe_delivery(body, NOW + 3600), body).unwrap_err().code(), ErrorCode::DuplicateDelivery);
    // Past the horizon it is new again.
    clock.set_secs(NOW + 7300);
    assert!(g.verify(&stripe_delivery(body, NOW + 7300), body).is_ok());
}

#[test]
fn github_deliveries_are_deduplicated_by_their_mac_not_the_unsigned_delivery_header() {
    let secret = "a-github-secret";
    let g = guard("github", &[secret], NOW);
    let body = br#"{"action":"opened"}"#;
    let mut headers = sign(Preset::Github, &[secret], body, None, None).unwrap().headers;
    headers.push(("X-GitHub-Delivery".into(), "72d3162e-cc78-11e3-81ab-4c9367dc0958".into()));
    headers.push(("X-GitHub-Event".into(), "issues".into()));
    let v = g.verify(&head(&headers), body).unwrap();
    let d = v.webhook.as_ref().unwrap();
    assert_eq!(
        (d.id.as_deref(), d.event_type.as_deref(), d.dedupe.name()),
        (Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"), Some("issues"), "signature")
    );
    v.replay_ticket.unwrap().commit().unwrap();
    // A replay with another delivery id is still the same delivery.
    headers[1].1 = "00000000-0000-0000-0000-000000000000".into();
    assert_eq!(g.verify(&head(&headers), body).unwrap_err().code(), ErrorCode::DuplicateDelivery);
}

#[test]
fn rotation_swaps_every_secret_at_once() {
    let (old, new) = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dGhpcyBpcyB0aGUgbmV4dCBzZWNyZXQga2V5IQ==");
    let g = guard("standard-webhooks", &[old], NOW);
    let body = b"{}";
    let by_old = head(&sign(Preset::StandardWebhooks, &[old], body, Some(NOW), Some("msg_1")).unwrap().headers);
    let by_new = head(&sign(Preset::StandardWebhooks, &[new], body, Some(NOW), Some("msg_2")).unwrap().headers);
    assert!(g.verify(&by_old, body).is_ok());
    assert_eq!(g.verify(&by_new, body).unwrap_err().code(), ErrorCode::SignatureMismatch);
    // During the overlap both verify; the matching one is named by position.
    rotate_secrets(&g, &ConfigValue::List(vec![ConfigValue::str(old), ConfigValue::str(new)]), Spelling::Node).unwrap();
    assert_eq!(g.verify(&by_new, body).unwrap().key_id, "secret-1");
    rotate_secrets(&g, &ConfigValue::List(vec![ConfigValue::str(new)]), Spelling::Node).unwrap();
    let by_old_again = head(&sign(Preset::StandardWebhooks, &[old], body, Some(NOW), Some("msg_3")).unwrap().headers);
    assert_eq!(g.verify(&by_old_again, body).unwrap_err().code(), ErrorCode::SignatureMismatch);
    // A bad list leaves the ring as it was, and the error names the position only.
    let e =
        rotate_secrets(&g, &ConfigValue::List(vec![ConfigValue::str(new), ConfigValue::str("whsec_c2hvcnQ=")]), Spelling::Node)
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig);
    assert!(e.reason().starts_with("secrets[1] "), "{e}");
    assert!(!e.reason().contains("c2hvcnQ"), "{e}");
    assert_eq!(
        g.verify(&head(&sign(Preset::StandardWebhooks, &[new], body, Some(NOW), Some("msg_4")).unwrap().headers), body)
            .unwrap()
            .key_id,
        "secret-0"
    );
}

#[test]
fn configuration_errors_name_the_option_and_never_echo_a_secret() {
    let build = |o: ConfigValue, spelling| GuardConfig::from_options_in(&o, spelling, &Env::fixed(&[])).map(|_| ());
    let reason = |o, spelling| build(o, spelling).unwrap_err().reason().to_string();
    let short = "short-secret";
    assert_eq!(
        reason(options("slack", &[short], NOW, Vec::new()), Spelling::Node),
        "secrets[0] is 12 bytes; a slack secret has at least 32"
    );
    assert_eq!(
        reason(options("standard-webhooks", &["whsec_not base64!"], NOW, Vec::new()), Spelling::Python),
        "secrets[0] is not a Standard Webhooks secret (whsec_ followed by base64)"
    );
    assert_eq!(reason(options("github", &[], NOW, Vec::new()), Spelling::Python), "secrets must hold at least one secret");
    let nine: Vec<&str> = std::iter::repeat_n("a-github-secret", 9).collect();
    assert_eq!(reason(options("github", &nine, NOW, Vec::new()), Spelling::Python), "secrets may hold at most 8 secrets");
    assert_eq!(
        reason(options("github", &["a-github-secret"], NOW, vec![("tolerance_secs", ConfigValue::Int(60))]), Spelling::Python),
        "tolerance_secs does not apply: github signs no timestamp"
    );
    assert_eq!(
        reason(options("stripe", &[STRIPE], NOW, vec![("max_age_secs", ConfigValue::Int(60))]), Spelling::Python),
        "max_age_secs does not apply to the stripe preset (the clock tolerance is tolerance_secs)"
    );
    let with_keys = ConfigValue::map([("scheme", ConfigValue::str("stripe")), ("keys", ConfigValue::List(Vec::new()))]);
    assert_eq!(
        reason(with_keys, Spelling::Node),
        "keys does not apply to the stripe preset (give the endpoint's secrets as secrets)"
    );
    let secrets_on_rfc = ConfigValue::map([("secrets", ConfigValue::List(vec![ConfigValue::str(STRIPE)]))]);
    assert_eq!(reason(secrets_on_rfc, Spelling::Node), "secrets applies to the webhook presets only");
    let missing = ConfigValue::map([("scheme", ConfigValue::str("shopify"))]);
    assert_eq!(reason(missing, Spelling::Python), "secrets is required by the shopify preset");
    let unknown = ConfigValue::map([("scheme", ConfigValue::str("paypal"))]);
    assert!(
        reason(unknown, Spelling::Python)
            .contains("must be one of rfc9421, simple, standard-webhooks, svix, stripe, github, slack, shopify")
    );
}

#[test]
fn settings_show_the_preset_defaults() {
    let o = options("svix", &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], NOW, Vec::new());
    let settings = GuardConfig::from_options_in(&o, Spelling::Python, &Env::fixed(&[])).unwrap().settings_json();
    for part in [
        r#""scheme":"svix""#,
        r#""policy.replay":"reserve""#,
        r#""policy.reserve_hold_secs":60"#,
        r#""policy.body_limit":1048576"#,
        r#""webhook.tolerance_secs":300"#,
        r#""webhook.dedupe_secs":345600"#,
        r#""webhook.min_secret_len":24"#,
        r#""keys":1"#,
    ] {
        assert!(settings.contains(part), "{part} in {settings}");
    }
    assert!(!settings.contains("MfKQ9r8"), "{settings}");
}

#[test]
fn a_body_over_the_cap_fails_while_streaming_and_debug_output_holds_no_secret() {
    let o = options("github", &["a-github-secret"], NOW, vec![("body_limit", ConfigValue::Int(16))]);
    let g = GuardConfig::from_options_in(&o, Spelling::Python, &Env::fixed(&[])).unwrap().build().unwrap().guard;
    let body = [b'x'; 40];
    let signed = sign(Preset::Github, &["a-github-secret"], &body, None, None).unwrap();
    let mut v = g.begin(&head(&signed.headers)).unwrap();
    v.update(&body[..10]).unwrap();
    assert_eq!(v.update(&body[10..]).unwrap_err().code(), ErrorCode::BodyTooLarge);
    let debug = format!("{g:?} {signed:?} {v:?}");
    assert!(!debug.contains("a-github-secret"), "{debug}");
    assert!(!debug.contains(&signed.headers[0].1[7..]), "no signature in {debug}");
}

#[test]
fn no_variant_of_the_request_line_makes_a_copy_new() {
    let g = guard("github", &["a-github-secret"], NOW);
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let headers = sign(Preset::Github, &["a-github-secret"], body, None, None).unwrap().headers;
    let at = |target: &str| RequestHead::new("POST", target, "https", headers.clone());
    g.verify(&at("/hooks/github"), body).unwrap().replay_ticket.unwrap().commit().unwrap();
    // Paths a router sends to the same handler (case, trailing slash, percent-encoding, query).
    for target in ["/hooks/github/", "/HOOKS/github", "/hooks/%67ithub", "/hooks/github?x=1", "/other"] {
        assert_eq!(g.verify(&at(target), body).unwrap_err().code(), ErrorCode::DuplicateDelivery, "{target}");
    }
}

/// A Stripe receiver on `store`, deduplicating under `endpoint`.
fn stripe_on(store: &Arc<hmac_guard::MemoryStore>, secret: &str, endpoint: &str) -> Guard {
    let ring = hmac_guard::KeyRing::with_min_secret_len(Preset::Stripe.min_secret_len());
    ring.upsert(hmac_guard::KeySpec::new("secret-0", secret.as_bytes().to_vec(), hmac_guard::Algorithm::HmacSha256)).unwrap();
    let policy = hmac_guard::Policy {
        require_nonce: false,
        replay: hmac_guard::ReplayMode::Reserve { hold_secs: 60 },
        dedupe_secs: 3600,
        ..hmac_guard::Policy::default()
    };
    Guard::builder()
        .scheme(Arc::new(hmac_guard::WebhookScheme::new(Preset::Stripe, endpoint)))
        .keys(Arc::new(ring))
        .store(Arc::clone(store) as Arc<dyn hmac_guard::ReplayStore>)
        .policy(policy)
        .clock(Arc::new(ManualClock::at_secs(NOW)))
        .build()
        .unwrap()
}

#[test]
fn two_receivers_sharing_a_store_each_run_an_event_once() {
    let store = Arc::new(hmac_guard::MemoryStore::new(hmac_guard::MemoryStoreConfig::default()).unwrap());
    let other = "whsec_the-other-endpoint-secret-0123";
    let (a, b) = (stripe_on(&store, STRIPE, "service-a"), stripe_on(&store, other, "service-b"));
    let body = br#"{"id":"evt_shared"}"#;
    let delivery = |secret: &str| head(&sign(Preset::Stripe, &[secret], body, Some(NOW), None).unwrap().headers);
    a.verify(&delivery(STRIPE), body).unwrap().replay_ticket.unwrap().commit().unwrap();
    b.verify(&delivery(other), body).unwrap().replay_ticket.unwrap().commit().unwrap();
    assert_eq!(a.verify(&delivery(STRIPE), body).unwrap_err().code(), ErrorCode::DuplicateDelivery);
    assert_eq!(b.verify(&delivery(other), body).unwrap_err().code(), ErrorCode::DuplicateDelivery);
    // Two workers of one receiver (the same name) share its deliveries.
    let a2 = stripe_on(&store, STRIPE, "service-a");
    assert_eq!(a2.verify(&delivery(STRIPE), body).unwrap_err().code(), ErrorCode::DuplicateDelivery);
}

#[test]
fn the_bindings_signer_checks_its_arguments_as_the_options_are_checked() {
    use hmac_guard::config::sign_webhook;
    let one = ConfigValue::str(STRIPE);
    let made = sign_webhook("stripe", &one, Spelling::Node, b"{}", Some(NOW), None).unwrap();
    guard("stripe", &[STRIPE], NOW).verify(&head(&made.headers), b"{}").unwrap();
    let e = sign_webhook("paypal", &one, Spelling::Node, b"{}", None, None).unwrap_err();
    assert_eq!(e.reason(), "preset must be one of standard-webhooks, svix, stripe, github, slack, shopify");
    let e = sign_webhook("stripe", &ConfigValue::Int(5), Spelling::Python, b"{}", None, None).unwrap_err();
    assert_eq!(e.reason(), "secrets must be a list of strings, not a number");
    let short = ConfigValue::List(vec![one.clone(), ConfigValue::str("whsec_short")]);
    let e = sign_webhook("stripe", &short, Spelling::Node, b"{}", None, None).unwrap_err();
    assert_eq!(e.reason(), "secrets[1] is 11 bytes; a stripe secret has at least 24");
    // Two secrets: two v1 signatures, each verifies alone.
    let two = ConfigValue::List(vec![one, ConfigValue::str("whsec_another-secret-of-enough-length")]);
    let made = sign_webhook("stripe", &two, Spelling::Node, b"{}", Some(NOW), None).unwrap();
    assert_eq!(made.headers[0].1.matches("v1=").count(), 2);
    guard("stripe", &["whsec_another-secret-of-enough-length"], NOW).verify(&head(&made.headers), b"{}").unwrap();
}
