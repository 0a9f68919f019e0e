//! `hmac-guard sign --preset`, `verify --preset` and `explain --preset`, run in-process through
//! `hmac_guard_cli::run`: every preset signs and verifies round trip, explain shows the signed
//! string and names the failing check, usage errors, and no secret in any output.
#![allow(clippy::unwrap_used)]

use hmac_guard::webhook::{Preset, sign};
use hmac_guard_cli::{EXIT_INCOMPLETE, EXIT_OK, EXIT_REJECTED, EXIT_USAGE};
use support::{cli_env as cli, write_file};

mod support;

const T0: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_1","event_id":"Ev1","type":"invoice.paid","event":{"type":"app_mention"}}"#;

/// A secret of each preset's form, as its dashboard shows it.
fn secret(preset: Preset) -> &'static str {
    match preset {
        Preset::StandardWebhooks | Preset::Svix => "whsec_Y2xpLXdlYmhvb2stdGVzdC1rZXktMDEyMzQ1Njc4OQ==",
        Preset::Stripe => "whsec_cli_test_0123456789abcdefXYZ",
        Preset::Github => "cli-github-secret-0123456789",
        Preset::Slack | Preset::Shopify => "cli-signing-secret-0123456789abcdefXYZ",
    }
}

/// `sign --preset` at T0 (where the preset signs a timestamp) with the secret in `WH_SECRET`.
fn sign_args(preset: Preset, body_file: &str) -> Vec<String> {
    let mut args: Vec<String> = ["sign", "--preset", preset.name(), "--secret-env", "WH_SECRET", "--body", body_file]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    if preset.signs_timestamp() {
        args.extend(["--timestamp".into(), T0.to_string()]);
    }
    if matches!(preset, Preset::StandardWebhooks | Preset::Svix) {
        args.extend(["--id".into(), "msg_cli_1".into()]);
    }
    args
}

fn headers(stdout: &str) -> Vec<(String, String)> {
    stdout.lines().map(|l| l.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())).unwrap()).collect()
}

fn raw(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out =
        format!("POST /webhooks HTTP/1.1\r\nHost: hooks.example.com\r\nContent-Length: {}\r\n", body.len()).into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The delivery of BODY for `preset`, as `sign --preset` prints it, as a raw request.
fn delivery(preset: Preset) -> Vec<u8> {
    let body = write_file("event.json", BODY);
    let args = sign_args(preset, &body);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli(&args, &[("WH_SECRET", secret(preset))], b"");
    assert_eq!(out.code, EXIT_OK, "{preset}: {out:?}");
    raw(&headers(&out.stdout), BODY)
}

#[test]
fn every_preset_signs_what_the_core_signs_and_verifies_round_trip() {
    for preset in Preset::ALL {
        let body = write_file("event.json", BODY);
        let args = sign_args(preset, &body);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli(&args, &[("WH_SECRET", secret(preset))], b"");
        assert_eq!((out.code, out.stderr.as_str()), (EXIT_OK, ""), "{preset}: {out:?}");
        let printed = headers(&out.stdout);
        let ts = preset.signs_timestamp().then_some(T0);
        let expected = sign(preset, &[secret(preset)], BODY, ts, Some("msg_cli_1")).unwrap();
        let lower: Vec<(String, String)> = printed.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        assert_eq!(lower, expected.headers, "{preset}");

        let req = raw(&printed, BODY);
        let out = cli(
            &["verify", "--preset", preset.name(), "--secret-env", "WH_SECRET", "--at", "1700000005"],
            &[("WH_SECRET", secret(preset))],
            &req,
        );
        assert_eq!(out.code, EXIT_OK, "{preset}: {out:?}");
        for line in [
            "verdict: ok\n".to_string(),
            format!("provider: {}\n", preset.name()),
            "key id: secret-0\n".into(),
            "json: true\n".into(),
        ] {
            assert!(out.stdout.contains(&line), "{preset}: {line:?} in\n{}", out.stdout);
        }
        // The same delivery with one byte of the body changed: rejected.
        let mut tampered = req.clone();
        let last = tampered.len() - 1;
        tampered[last] = b' ';
        let out = cli(
            &["verify", "--preset", preset.name(), "--secret-env", "WH_SECRET", "--at", "1700000005"],
            &[("WH_SECRET", secret(preset))],
            &tampered,
        );
        assert_eq!(out.code, EXIT_REJECTED, "{preset}: {out:?}");
        assert!(out.stdout.contains("verdict: rejected ERR_SIGNATURE_MISMATCH (401)"), "{preset}: {}", out.stdout);
    }
    // The ids and types the receiver would hand its handler.
    let out = cli(
        &["verify", "--preset", "stripe", "--secret-env", "WH_SECRET", "--at", "1700000005"],
        &[("WH_SECRET", secret(Preset::Stripe))],
        &delivery(Preset::Stripe),
    );
    assert!(out.stdout.contains("delivery id: evt_1\nevent type: invoice.paid\n"), "{}", out.stdout);
    assert!(out.stdout.contains("deduplicated by: body-id\ntimestamp: 1700000000 (5 s before now)\n"), "{}", out.stdout);
    // A body that is not UTF-8 is signed and verified as the bytes it is.
    let binary: Vec<u8> = (0..=255u8).collect();
    let file = write_file("binary.bin", &binary);
    let out = cli(
        &["sign", "--preset", "github", "--secret-env", "WH_SECRET", "--body", &file],
        &[("WH_SECRET", secret(Preset::Github))],
        b"",
    );
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let req = raw(&headers(&out.stdout), &binary);
    let out = cli(&["verify", "--preset", "github", "--secret-env", "WH_SECRET"], &[("WH_SECRET", secret(Preset::Github))], &req);
    assert!(out.code == EXIT_OK && out.stdout.contains("json: false\n"), "{out:?}");
    // The body from stdin.
    let out = cli(
        &["sign", "--preset", "shopify", "--secret-env", "WH_SECRET", "--body", "-"],
        &[("WH_SECRET", secret(Preset::Shopify))],
        BODY,
    );
    let expected = sign(Preset::Shopify, &[secret(Preset::Shopify)], BODY, None, None).unwrap();
    assert_eq!(out.stdout, format!("X-Shopify-Hmac-Sha256: {}\n", expected.headers[0].1), "{out:?}");
}

#[test]
fn sign_preset_prints_curl_and_the_signed_string() {
    let body = write_file("event.json", BODY);
    let env = [("WH_SECRET", secret(Preset::Stripe))];
    let args = ["sign", "--preset", "stripe", "--secret-env", "WH_SECRET", "--body", &body, "--timestamp", "1700000000"];
    let mut curl = args.to_vec();
    curl.extend(["--curl", "http://127.0.0.1:3000/webhooks/stripe"]);
    let out = cli(&curl, &env, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let expected = sign(Preset::Stripe, &[secret(Preset::Stripe)], BODY, Some(T0), None).unwrap();
    assert!(out.stdout.starts_with("curl --silent --show-error --path-as-is --globoff \\\n"), "{}", out.stdout);
    for part in [
        "--header 'Content-Type: application/json'".to_string(),
        format!("--header 'Stripe-Signature: {}'", expected.headers[0].1),
        format!("--data-binary @{body}"),
        "  http://127.0.0.1:3000/webhooks/stripe\n".into(),
    ] {
        assert!(out.stdout.contains(&part), "{part:?} in\n{}", out.stdout);
    }
    // -H Content-Type replaces the default.
    let mut typed = curl.clone();
    typed.extend(["-H", "Content-Type: application/x-www-form-urlencoded"]);
    let out = cli(&typed, &env, b"");
    assert!(!out.stdout.contains("application/json") && out.stdout.contains("x-www-form-urlencoded"), "{}", out.stdout);

    // --print-base: the signed string on stderr, as explain shows it.
    let mut base = args.to_vec();
    base.push("--print-base");
    let out = cli(&base, &env, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let block = "signed string (17 bytes, between the lines, no trailing newline):\n-----\n1700000000.<body>\n-----\n";
    assert_eq!(out.stderr, block);
    let explained = cli(
        &["explain", "--preset", "stripe", "--secret-env", "WH_SECRET", "--at", "1700000005"],
        &env,
        &raw(&headers(&out.stdout), BODY),
    );
    assert!(explained.stdout.contains(block), "{}", explained.stdout);
    // Standard Webhooks signs id and timestamp; Slack its own prefix.
    let out = cli(
        &[
            "sign",
            "--preset",
            "standard-webhooks",
            "--secret-env",
            "WH_SECRET",
            "--body",
            &body,
            "--timestamp",
            "1700000000",
            "--id",
            "msg_1",
            "--print-base",
        ],
        &[("WH_SECRET", secret(Preset::StandardWebhooks))],
        b"",
    );
    assert!(out.stderr.contains("\nmsg_1.1700000000.<body>\n"), "{out:?}");
    let out = cli(
        &["sign", "--preset", "slack", "--secret-env", "WH_SECRET", "--body", &body, "--timestamp", "1700000000", "--print-base"],
        &[("WH_SECRET", secret(Preset::Slack))],
        b"",
    );
    assert!(out.stderr.contains("\nv0:1700000000:<body>\n"), "{out:?}");
}

#[test]
fn explain_preset_shows_the_signed_string_and_names_the_failing_check() {
    let env = [("WH_SECRET", secret(Preset::Stripe))];
    let keyed = ["explain", "--preset", "stripe", "--secret-env", "WH_SECRET", "--at", "1700000005"];
    let req = delivery(Preset::Stripe);
    let out = cli(&keyed, &env, &req);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    for part in [
        "scheme: stripe\n",
        "key id: secret-0\n",
        "created: 1700000000 (5 s before now)\n",
        "\n1700000000.<body>\n",
        "  body: pass\n",
        "\nverdict: ok\n",
    ] {
        assert!(out.stdout.contains(part), "{part:?} in\n{}", out.stdout);
    }

    // The body changed: the MAC check over the body fails.
    let tampered = String::from_utf8(req.clone()).unwrap().replace("invoice.paid", "invoice.PAID");
    let out = cli(&keyed, &env, tampered.as_bytes());
    assert_eq!(out.code, EXIT_REJECTED, "{out:?}");
    assert!(out.stdout.contains("failing check: body\nverdict: rejected ERR_SIGNATURE_MISMATCH (401)\n"), "{}", out.stdout);

    // Too old for the tolerance; a wider --tolerance accepts it.
    let late = ["explain", "--preset", "stripe", "--secret-env", "WH_SECRET", "--at", "1700000400"];
    let out = cli(&late, &env, &req);
    assert!(
        out.stdout.contains("failing check: timestamp window\nverdict: rejected ERR_TIMESTAMP_EXPIRED (401)\n"),
        "{}",
        out.stdout
    );
    let mut wide = late.to_vec();
    wide.extend(["--tolerance", "600"]);
    assert_eq!(cli(&wide, &env, &req).code, EXIT_OK);

    // A malformed signature header: the headers parse fails with 400.
    let malformed = String::from_utf8(req.clone()).unwrap().replace("Stripe-Signature: t=", "Stripe-Signature: garbage,t=");
    let out = cli(&keyed, &env, malformed.as_bytes());
    assert!(
        out.stdout.contains("failing check: headers parse\nverdict: rejected ERR_MALFORMED_SIGNATURE (400)\n"),
        "{}",
        out.stdout
    );
    // No signature header at all.
    let missing = String::from_utf8(req.clone()).unwrap().replace("Stripe-Signature", "X-Other");
    let out = cli(&keyed, &env, missing.as_bytes());
    assert!(out.stdout.contains("verdict: rejected ERR_MISSING_SIGNATURE (401)\n"), "{}", out.stdout);

    // Without the secret: the signed string and the keyless checks, never success.
    let out = cli(&["explain", "--preset", "stripe", "--at", "1700000005"], &env, &req);
    assert_eq!(out.code, EXIT_INCOMPLETE, "{out:?}");
    assert!(out.stdout.contains("secret: none (no --secret-env or --secret-file)"), "{}", out.stdout);
    assert!(out.stdout.contains("\n1700000000.<body>\n") && out.stdout.contains("verdict: incomplete ("), "{}", out.stdout);
    assert!(!out.stdout.contains("key id:"), "{}", out.stdout);
    // Standard Webhooks with the secret in a file, signed with another secret: the MAC fails.
    let file = write_file("secret.txt", format!("{}\n", secret(Preset::Svix)).as_bytes());
    let other = sign(Preset::Svix, &["whsec_b3RoZXItd2ViaG9vay1rZXktMDEyMzQ1Njc4OQ=="], BODY, Some(T0), Some("msg_x")).unwrap();
    let out =
        cli(&["explain", "--preset", "svix", "--secret-file", &file, "--at", "1700000005"], &[], &raw(&other.headers, BODY));
    assert_eq!(out.code, EXIT_REJECTED, "{out:?}");
    assert!(out.stdout.contains("\nmsg_x.1700000000.<body>\n") && out.stdout.contains("failing check: body\n"), "{}", out.stdout);
}

#[test]
fn preset_usage_errors() {
    let body = write_file("event.json", BODY);
    let env = [("WH_SECRET", secret(Preset::Stripe)), ("GH", secret(Preset::Github))];
    for (args, needle) in [
        (
            vec!["sign", "--preset", "paypal", "--secret-env", "WH_SECRET", "--body", &body],
            "--preset must be one of standard-webhooks, svix, stripe",
        ),
        (vec!["sign", "--preset", "stripe", "--secret-env", "WH_SECRET"], "--preset needs the delivery's body"),
        (vec!["sign", "--preset", "stripe", "--key-id", "k1", "--body", &body], "--key-id does not apply with --preset"),
        (vec!["sign", "--preset", "stripe", "--scheme", "simple", "--body", &body], "--scheme does not apply with --preset"),
        (vec!["sign", "--preset", "stripe", "--secret-encoding", "hex", "--body", &body], "--secret-encoding does not apply"),
        (
            vec!["sign", "--preset", "github", "--secret-env", "GH", "--body", &body, "--timestamp", "1"],
            "github signs no timestamp",
        ),
        (
            vec!["sign", "--preset", "stripe", "--secret-env", "WH_SECRET", "--body", &body, "--id", "x"],
            "--id applies to standard-webhooks and svix",
        ),
        (
            vec!["sign", "--preset", "stripe", "--secret-env", "WH_SECRET", "--body", &body, "--curl"],
            "--curl needs the receiver's URL",
        ),
        (
            vec!["sign", "--preset", "stripe", "--secret-env", "WH_SECRET", "--body", "-", "--curl", "http://h/"],
            "--curl needs the body in a file",
        ),
        (vec!["verify", "--preset", "stripe", "--key-id", "k1"], "--key-id does not apply with --preset"),
        (vec!["verify", "--preset", "stripe", "--max-age", "5"], "--max-age does not apply with --preset"),
        (vec!["explain", "--tolerance", "5"], "--tolerance applies with --preset"),
        (vec!["sign", "--key-id", "k1", "--id", "x", "http://h/"], "--id applies with --preset"),
        (vec!["sign", "--preset", "stripe", "--body", &body], "HMAC_GUARD_SECRET is not set"),
    ] {
        let out = cli(&args, &env, b"");
        assert_eq!(out.code, EXIT_USAGE, "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {needle:?} in {}", out.stderr);
    }
    // Secrets the preset refuses: named by position, never by value.
    for (preset, bad) in [("standard-webhooks", "not-base64-but-long-enough-secret!!"), ("slack", "short-slack-secret")] {
        let out = cli(&["sign", "--preset", preset, "--secret-env", "BAD", "--body", &body], &[("BAD", bad)], b"");
        assert_eq!(out.code, EXIT_USAGE, "{out:?}");
        assert!(out.stderr.contains("secrets[0]") && !out.all().contains(bad), "{out:?}");
    }
    let out = cli(&["verify", "--preset", "github", "--secret-env", "GH", "--tolerance", "60"], &env, &delivery(Preset::Github));
    assert_eq!(out.code, EXIT_USAGE, "{out:?}");
    assert!(out.stderr.contains("github signs no timestamp"), "{out:?}");
    let help = cli(&["sign", "--help"], &[], b"").stdout;
    for needle in ["--preset NAME", "--body PATH", "--timestamp SECS", "--id ID"] {
        assert!(help.contains(needle), "{needle:?}");
    }
}

/// No form of a webhook secret, nor the MAC a receiver expects for a tampered delivery, reaches
/// any output of sign, verify or explain.
#[test]
fn no_webhook_secret_in_any_output() {
    let body = write_file("event.json", BODY);
    for preset in Preset::ALL {
        let s = secret(preset);
        let req = delivery(preset);
        let tampered_body = br#"{"id":"evt_1","event_id":"Ev1","type":"invoice.PAID","event":{"type":"app_mention"}}"#;
        let tampered = String::from_utf8(req.clone()).unwrap().replace("invoice.paid", "invoice.PAID").into_bytes();
        let ts = preset.signs_timestamp().then_some(T0);
        let expected = sign(preset, &[s], tampered_body, ts, Some("msg_cli_1")).unwrap();
        let expected_sig = expected.headers.last().unwrap().1.clone();
        let file = write_file("secret.txt", s.as_bytes());
        let name = preset.name();
        let env = [("WH_SECRET", s), ("HMAC_GUARD_SECRET", s)];
        let cases: Vec<(Vec<&str>, &[u8])> = vec![
            (vec!["sign", "--preset", name, "--secret-env", "WH_SECRET", "--body", &body, "--print-base"], b""),
            (vec!["sign", "--preset", name, "--secret-file", &file, "--body", &body, "--curl", "http://h/x"], b""),
            (vec!["sign", "--preset", name, "--body", &body], b""),
            (vec!["sign", "--preset", name, "--secret-env", s, "--body", &body], b""),
            (vec!["sign", "--preset", name, "--secret", s, "--body", &body], b""),
            (vec!["sign", "--preset", name, "--secret-file", &file, "--body", s], b""),
            (vec!["verify", "--preset", name, "--secret-env", "WH_SECRET", "--at", "1700000005"], &req),
            (vec!["verify", "--preset", name, "--secret-env", "WH_SECRET", "--at", "1700000005"], &tampered),
            (vec!["explain", "--preset", name, "--secret-env", "WH_SECRET", "--at", "1700000005"], &req),
            (vec!["explain", "--preset", name, "--secret-file", &file, "--at", "1700000005"], &tampered),
            (vec!["explain", "--preset", name, "--at", "1700000005"], &tampered),
            (vec!["explain", "--preset", name, s], &req),
        ];
        for (args, stdin) in cases {
            let out = cli(&args, &env, stdin);
            let all = out.all();
            assert!(!all.is_empty(), "{args:?} printed nothing");
            assert!(!all.contains(s), "{args:?} printed the secret:\n{all}");
            let tail = s.trim_start_matches("whsec_");
            assert!(!all.contains(&tail[..12]), "{args:?} printed part of the secret:\n{all}");
            if args[0] != "sign" {
                assert!(!all.contains(&expected_sig), "{args:?} printed the expected signature:\n{all}");
            }
        }
    }
}
