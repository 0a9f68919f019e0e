//! The `hmac-guard` tool, run in-process through `hmac_guard_cli::run`: sign → raw request →
//! verify round trips, rejections with their codes, explain, secrets, exit codes, input parsing,
//! and the shared vectors fed through as raw requests.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac_guard::{Algorithm, KeySpec, RequestHead, Rfc9421SignOptions, Signer};
use hmac_guard_cli::{EXIT_INCOMPLETE, EXIT_OK, EXIT_REJECTED, EXIT_USAGE};
use support::{Out, cli_env, temp_dir, write_file};

mod support;

const SECRET: &str = "cli-test-secret-0123456789abcdef-XYZ";
const OTHER_SECRET: &str = "another-secret-for-the-cli-tests-0123456789";
const T0: i64 = 1_700_000_000;
const BODY: &[u8] = b"{\"amount\": 10}";

/// With `HMAC_GUARD_SECRET=SECRET`.
fn cli(args: &[&str], stdin: &[u8]) -> Out {
    cli_env(args, &[("HMAC_GUARD_SECRET", SECRET)], stdin)
}

/// A fresh directory under cargo's `target/tmp` (kept out of the system temp dir).
/// `Name: value` lines from `sign` → pairs.
fn header_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap_or_else(|| panic!("not a header line: {l:?}"));
            (n.to_string(), v.to_string())
        })
        .collect()
}

/// A raw HTTP/1.1 request.
fn raw(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Signs POST http://api.example.com/orders?id=7 with `BODY` at T0 and returns the raw request.
fn signed_request(scheme: &str, extra: &[&str]) -> Vec<u8> {
    let body = write_file("body.json", BODY);
    let mut args = vec!["sign", "--key-id", "k1", "--scheme", scheme, "--created", "1700000000", "--body-file", &body];
    args.extend_from_slice(extra);
    args.push("http://api.example.com/orders?id=7");
    let out = cli(&args, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let mut headers =
        vec![("Host".to_string(), "api.example.com".to_string()), ("Content-Length".into(), BODY.len().to_string())];
    headers.extend(header_lines(&out.stdout));
    raw("POST", "/orders?id=7", &headers, BODY)
}

fn verify(raw_request: &[u8], extra: &[&str]) -> Out {
    let mut args = vec!["verify", "--key-id", "k1", "--subject", "user:1", "--at", "1700000005"];
    args.extend_from_slice(extra);
    cli(&args, raw_request)
}

fn replace(haystack: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(haystack.to_vec()).unwrap().replacen(from, to, 1).into_bytes()
}

#[test]
fn rfc9421_sign_then_verify_round_trip() {
    let req = signed_request("rfc9421", &[]);
    let text = String::from_utf8_lossy(&req).to_string();
    assert!(text.contains("Signature-Input: sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\");created=1700000000;nonce=\""), "{text}");
    let out = verify(&req, &[]);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    for line in [
        "verdict: ok\n",
        "scheme: rfc9421\n",
        "label: sig1\n",
        "key id: k1\n",
        "subject: user:1\n",
        "algorithm: hmac-sha256\n",
        "created: 1700000000 (5 s before now)\n",
        "body: 14 bytes\n",
        "  \"@authority\": api.example.com\n",
        "  \"@query\": ?id=7\n",
    ] {
        assert!(out.stdout.contains(line), "missing {line:?} in\n{}", out.stdout);
    }
    let nonce = out.stdout.lines().find_map(|l| l.strip_prefix("nonce: ")).unwrap();
    assert!(nonce.len() >= 16 && text.contains(&format!("nonce=\"{nonce}\"")), "the printed nonce is the signed one");
    assert_eq!(out.stderr, "");

    // hmac-sha512, another label, covered content-type, stdin input: still one round trip.
    let body = write_file("b.json", BODY);
    let env = [("MY_KEY", OTHER_SECRET)];
    let args = [
        "sign",
        "--key-id",
        "k9",
        "--alg",
        "hmac-sha512",
        "--secret-env",
        "MY_KEY",
        "--label",
        "app",
        "--created",
        "1700000000",
        "-H",
        "Content-Type: application/json",
        "--components",
        "@method,@path,@query,@authority,content-type,content-digest",
        "--digest",
        "sha-512",
        "--include-alg",
        "--tag",
        "orders",
        "--body-file",
        &body,
        "https://API.example.com:443/p",
    ];
    let out = cli_env(&args, &env, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.starts_with("Content-Digest: sha-512=:"), "{}", out.stdout);
    let mut headers = vec![
        ("Host".to_string(), "api.example.com".to_string()),
        ("Content-Type".into(), "application/json".into()),
        ("Content-Length".into(), "14".into()),
    ];
    headers.extend(header_lines(&out.stdout));
    let req = raw("POST", "/p", &headers, BODY);
    let check = ["verify", "--key-id", "k9", "--alg", "hmac-sha512", "--secret-env", "MY_KEY", "--at", "1700000001"];
    let out = cli_env(&[&check[..], &["--url-scheme", "https", "--label", "app", "--tag", "orders", "-"]].concat(), &env, &req);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(
        out.stdout.contains("label: app\n") && out.stdout.contains("tag: orders\n") && out.stdout.contains("subject: (none)\n")
    );
    assert!(out.stdout.contains("  \"content-type\": application/json\n"), "{}", out.stdout);
    // The same request checked for another tag, or with the wrong algorithm, is rejected.
    let out = cli_env(&[&check[..], &["--tag", "other"]].concat(), &env, &req);
    assert!(out.stdout.starts_with("verdict: rejected ERR_INVALID_PARAMETER (400)\n"), "{out:?}");
    let out = cli_env(&["verify", "--key-id", "k9", "--secret-env", "MY_KEY", "--at", "1700000001"], &env, &req);
    assert!(out.stdout.starts_with("verdict: rejected ERR_ALGORITHM_MISMATCH (401)\n"), "{out:?}");
}

#[test]
fn simple_sign_then_verify_round_trip() {
    let req = signed_request("simple", &["--nonce", "cli-nonce-0001"]);
    let text = String::from_utf8_lossy(&req).to_string();
    assert!(text.contains("X-HMAC-Key-Id: k1\r\n") && text.contains("X-HMAC-Nonce: cli-nonce-0001\r\n"), "{text}");
    let out = verify(&req, &["--scheme", "simple"]);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.contains("scheme: simple\nkey id: k1\nsubject: user:1\n"), "{}", out.stdout);
    assert!(out.stdout.contains("nonce: cli-nonce-0001\n") && out.stdout.contains("  path: /orders?id=7\n"), "{}", out.stdout);
    // Verified with the wrong scheme: not signed as far as RFC 9421 is concerned.
    let out = verify(&req, &[]);
    assert_eq!(out.code, EXIT_REJECTED);
    assert!(out.stdout.starts_with("verdict: rejected ERR_MISSING_SIGNATURE (401)\n"), "{}", out.stdout);
}

/// SPEC.md's worked example: the signature `sign` prints, and the request verifying.
#[test]
fn spec_worked_example() {
    let secret = "hmac-guard-spec-example-secret-0123456789";
    let env = [("HMAC_GUARD_SECRET", secret)];
    let body = write_file("spec.json", BODY);
    let args = [
        "sign",
        "--scheme",
        "simple",
        "--key-id",
        "demo-key",
        "--created",
        "1700000000",
        "--nonce",
        "n0nce-8f3a2c1d",
        "--body-file",
        &body,
        "https://api.example.com/orders?id=7",
    ];
    let out = cli_env(&args, &env, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.contains("X-HMAC-Content-SHA256: 7f8b279ef4be0909382db4442750f8eb84f2874cf43c826a86acffb6dc28c84d\n"));
    assert!(
        out.stdout.contains("X-HMAC-Signature: 6a436e80a6ece88955a49db374c8c821a85e5ce96ec8683cbf0edd34358b4c96\n"),
        "{}",
        out.stdout
    );
    let request = "POST /orders?id=7 HTTP/1.1\nHost: api.example.com\nContent-Type: application/json\nContent-Length: 14\n\
                   X-HMAC-Key-Id: demo-key\nX-HMAC-Timestamp: 1700000000\nX-HMAC-Nonce: n0nce-8f3a2c1d\n\
                   X-HMAC-Content-SHA256: 7f8b279ef4be0909382db4442750f8eb84f2874cf43c826a86acffb6dc28c84d\n\
                   X-HMAC-Signature: 6a436e80a6ece88955a49db374c8c821a85e5ce96ec8683cbf0edd34358b4c96\n\n{\"amount\": 10}\n";
    let args = ["verify", "--scheme", "simple", "--key-id", "demo-key", "--at", "1700000000", "--url-scheme", "https"];
    let out = cli_env(&args, &env, request.as_bytes());
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let out = cli_env(&["explain", "--scheme", "simple", "--at", "1700000000"], &[], request.as_bytes());
    assert!(
        out.stdout.contains(
            "-----\nHG1\nPOST\n/orders?id=7\n1700000000\nn0nce-8f3a2c1d\ndemo-key\n\
             7f8b279ef4be0909382db4442750f8eb84f2874cf43c826a86acffb6dc28c84d\n-----\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn tampering_is_rejected_with_its_code() {
    for scheme in ["rfc9421", "simple"] {
        let req = signed_request(scheme, &[]);
        let s = ["--scheme", scheme];
        let body = replace(&req, "{\"amount\": 10}", "{\"amount\": 99}");
        let out = verify(&body, &s);
        assert_eq!(out.code, EXIT_REJECTED, "{out:?}");
        assert!(
            out.stdout
                .starts_with("verdict: rejected ERR_DIGEST_MISMATCH (401)\nmessage: body does not match the signed digest\n")
        );
        assert!(out.stderr.contains("hmac-guard explain"), "{out:?}");

        let path = replace(&req, "/orders?id=7", "/orders?id=8");
        let out = verify(&path, &s);
        assert_eq!(out.code, EXIT_REJECTED);
        assert!(out.stdout.starts_with("verdict: rejected ERR_SIGNATURE_MISMATCH (401)\n"), "{}", out.stdout);

        let out = cli_env(
            &["verify", "--key-id", "k1", "--scheme", scheme, "--at", "1700000005"],
            &[("HMAC_GUARD_SECRET", OTHER_SECRET)],
            &req,
        );
        assert!(out.stdout.starts_with("verdict: rejected ERR_SIGNATURE_MISMATCH (401)\n"), "{}", out.stdout);
        let out = verify(&req, &["--scheme", scheme, "--body-limit", "4"]);
        assert!(out.stdout.starts_with("verdict: rejected ERR_BODY_TOO_LARGE (413)\n"), "{}", out.stdout);
        let out = cli(&["verify", "--key-id", "k2", "--scheme", scheme, "--at", "1700000005"], &req);
        assert!(out.stdout.starts_with("verdict: rejected ERR_UNKNOWN_KEY (401)\n"), "{}", out.stdout);
    }
}

#[test]
fn the_clock_is_given_with_at() {
    let req = signed_request("rfc9421", &[]);
    for (at, expect) in [
        ("1700000300", "verdict: ok\n"),
        ("1700000301", "verdict: rejected ERR_TIMESTAMP_EXPIRED (401)\n"),
        ("1699999970", "verdict: ok\n"),
        ("1699999969", "verdict: rejected ERR_TIMESTAMP_IN_FUTURE (401)\n"),
    ] {
        let out = cli(&["verify", "--key-id", "k1", "--at", at], &req);
        assert!(out.stdout.starts_with(expect), "at {at}: {}", out.stdout);
    }
    let out = cli(&["verify", "--key-id", "k1", "--at", "1700000400", "--max-age", "600"], &req);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    // Without --at the system clock is years past T0.
    let out = cli(&["verify", "--key-id", "k1"], &req);
    assert!(out.stdout.starts_with("verdict: rejected ERR_TIMESTAMP_EXPIRED (401)\n"), "{}", out.stdout);
    assert!(out.stdout.contains("reason: created 1700000000 is more than 300 s before now"), "{}", out.stdout);
    let out = cli(&["verify", "--key-id", "k1", "--at", "1700000301"], &req);
    assert!(out.stdout.contains("reason: created 1700000000 is more than 300 s before now (1700000301)"));
}

#[test]
fn explain_prints_the_base_and_names_the_failing_check() {
    let req = signed_request("rfc9421", &["--nonce", "explain-nonce-01"]);
    let base = "-----\n\"@method\": POST\n\"@authority\": api.example.com\n\"@path\": /orders\n\"@query\": ?id=7\n\
                \"content-digest\": sha-256=:f4snnvS+CQk4LbREJ1D464Tyh0z0PIJqhqz/ttwoyE0=:\n\"@signature-params\": (\"@method\" \
                \"@authority\" \"@path\" \"@query\" \"content-digest\");created=1700000000;nonce=\"explain-nonce-01\";keyid=\"k1\"\n-----\n";

    // With the key: everything passes.
    let out = cli(&["explain", "--key-id", "k1", "--at", "1700000005"], &req);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.contains(base), "{}", out.stdout);
    assert!(out.stdout.contains("  signature: pass\n  body: pass\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\nverdict: ok\n") && !out.stdout.contains("failing check"));

    // A tampered path: the base shows the server's view and the signature check fails.
    let tampered = replace(&req, "/orders?id=7", "/orders?id=8");
    let out = cli(&["explain", "--key-id", "k1", "--at", "1700000005"], &tampered);
    assert_eq!(out.code, EXIT_REJECTED, "{out:?}");
    assert!(out.stdout.contains("\"@query\": ?id=8\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  signature: FAIL ERR_SIGNATURE_MISMATCH ("), "{}", out.stdout);
    assert!(out.stdout.contains("failing check: signature\nverdict: rejected ERR_SIGNATURE_MISMATCH (401)\n"), "{}", out.stdout);

    // Old: the window check fails and names itself; nothing after it runs.
    let out = cli(&["explain", "--key-id", "k1", "--at", "1700000400"], &req);
    assert!(
        out.stdout.contains("failing check: timestamp window\nverdict: rejected ERR_TIMESTAMP_EXPIRED (401)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("created: 1700000000 (400 s before now)\n") && !out.stdout.contains("signature: pass"));

    // Without a key: no secret is read, the MAC is skipped, the rest still runs, and the exit
    // code is not success (3): `explain req && accept` must not accept an unchecked MAC.
    let out = cli_env(&["explain", "--at", "1700000005"], &[], &req);
    assert_eq!(out.code, EXIT_INCOMPLETE, "{out:?}");
    assert_eq!(EXIT_INCOMPLETE, 3);
    assert!(out.stdout.contains(base), "{}", out.stdout);
    assert!(out.stdout.contains("  signature: skip (no key given: the MAC cannot be checked)\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  body: pass\n") && out.stdout.contains("\nverdict: incomplete ("), "{}", out.stdout);
    assert!(out.stdout.contains("\nnote: the signature was not checked"), "{}", out.stdout);
    // A forgery (a made-up MAC over a request that passes every keyless check) is incomplete too.
    let forged = String::from_utf8(req.clone()).unwrap();
    let sig_line = forged.lines().find(|l| l.starts_with("Signature: ")).unwrap();
    let forged = forged.replacen(sig_line, &format!("Signature: sig1=:{}:", B64.encode([7u8; 32])), 1);
    let out = cli_env(&["explain", "--at", "1700000005"], &[], forged.as_bytes());
    assert_eq!(out.code, EXIT_INCOMPLETE, "{out:?}");
    let out = cli(&["explain", "--key-id", "k1", "--at", "1700000005"], forged.as_bytes());
    assert_eq!(out.code, EXIT_REJECTED, "with the key the forgery is caught: {out:?}");
    // The simple scheme without a key: the MAC covers the body, so it is incomplete as well.
    let simple = signed_request("simple", &[]);
    let out = cli_env(&["explain", "--scheme", "simple", "--at", "1700000005"], &[], &simple);
    assert_eq!(out.code, EXIT_INCOMPLETE, "{out:?}");
    let body = replace(&req, "{\"amount\": 10}", "{\"amount\": 11}");
    let out = cli_env(&["explain", "--at", "1700000005"], &[], &body);
    assert_eq!(out.code, EXIT_REJECTED);
    assert!(out.stdout.contains("failing check: body\nverdict: rejected ERR_DIGEST_MISMATCH (401)\n"), "{}", out.stdout);

    // A header-level problem is the first check.
    let out = cli_env(&["explain"], &[], b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        out.stdout.contains("failing check: headers parse\nverdict: rejected ERR_MISSING_SIGNATURE (401)\n"),
        "{}",
        out.stdout
    );
}

/// Every secret form, and the MAC a server would expect, never reach any output.
#[test]
fn no_secret_in_any_output() {
    let req = signed_request("rfc9421", &["--nonce", "leak-check-nonce"]);
    let tampered = replace(&req, "/orders?id=7", "/orders?id=8");
    // The MAC the server expects for the tampered request: it must not be printed either.
    let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
    let head = RequestHead::new("POST", "/orders?id=8", "http", vec![("Host".into(), "api.example.com".into())])
        .with_header("Content-Length", "14");
    let opts = Rfc9421SignOptions { created: Some(T0), nonce: Some("leak-check-nonce".into()), ..Rfc9421SignOptions::default() };
    let expected = signer.sign_rfc9421(&head, BODY, &opts).unwrap();
    let expected_mac = expected.iter().find(|(n, _)| n == "Signature").unwrap().1.clone();
    let expected_mac = expected_mac.trim_start_matches("sig1=:").trim_end_matches(':').to_string();
    assert!(!String::from_utf8_lossy(&tampered).contains(&expected_mac));

    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let b64 = B64.encode(SECRET);
    let secret_file = write_file("secret.txt", format!("{SECRET}\n").as_bytes());
    let hex_file = write_file("secret.hex", hex.as_bytes());
    let short_file = write_file("short.txt", b"short-secret");
    let body = write_file("body.json", BODY);
    let url = "http://api.example.com/orders?id=7";
    let secret_eq = format!("--secret={SECRET}");
    let secret_flag = format!("--{SECRET}");
    let components = format!("@method {SECRET},@path");
    let spaced = format!("{SECRET} pasted");
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a [u8]);
    let cases: Vec<Case<'_>> = vec![
        (vec!["sign", "--key-id", "k1", url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--curl", "--body-file", &body, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--scheme", "simple", "--secret-file", &secret_file, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--secret-file", &hex_file, "--secret-encoding", "hex", url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--secret-encoding", "base64", url], vec![("HMAC_GUARD_SECRET", &b64)], b""),
        (vec!["sign", "--key-id", "k1", "--secret-encoding", "hex", url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--secret-file", &short_file, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--label", "Bad Label", url], vec![], b""),
        (vec!["sign", "--key-id", "k1", &secret_eq, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--secret", SECRET, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", url, SECRET], vec![], b""),
        (vec![SECRET], vec![], b""),
        (vec!["sign", &secret_flag, url], vec![], b""),
        (vec!["verify", "--key-id", "k1", "--at", "1700000005"], vec![], &req),
        (vec!["verify", "--key-id", "k1", "--at", "1700000005"], vec![], &tampered),
        (vec!["verify", "--key-id", "k1", "--secret-file", &secret_file, "--at", "1700000005"], vec![], &tampered),
        (vec!["verify", "--key-id", "k1"], vec![], b"garbage"),
        (vec!["explain", "--key-id", "k1", "--at", "1700000005"], vec![], &req),
        (vec!["explain", "--key-id", "k1", "--at", "1700000005"], vec![], &tampered),
        (vec!["explain", "--at", "1700000005"], vec![], &tampered),
        (vec!["explain", "--key-id", "k1", "--password", SECRET], vec![], &req),
        // A secret typed where a file name or a variable's name belongs.
        (vec!["verify", "--key-id", "k1", SECRET], vec![], b""),
        (vec!["explain", "--key-id", "k1", SECRET], vec![], b""),
        (vec!["explain", SECRET], vec![], b""),
        (vec!["verify", "--key-id", "k1", "--secret-env", SECRET], vec![], &req),
        (vec!["explain", "--key-id", "k1", "--secret-env", SECRET], vec![], &req),
        (vec!["sign", "--key-id", "k1", "--secret-env", SECRET, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--secret-file", SECRET, url], vec![], b""),
        (vec!["verify", "--key-id", "k1", "--secret-file", SECRET], vec![], &req),
        (vec!["sign", "--key-id", "k1", "--body-file", SECRET, url], vec![], b""),
        (vec!["sign", "--key-id", "k1", "--curl", "--body-file", SECRET, url], vec![], b""),
        // Values the core's error messages would quote.
        (vec!["sign", "--key-id", "k1", "--components", &components, url], vec![], b""),
        (vec!["sign", "--key-id", &spaced, url], vec![], b""),
        (vec!["verify", "--key-id", &spaced], vec![], &req),
    ];
    for (args, mut env, stdin) in cases {
        if !env.iter().any(|(k, _)| *k == "HMAC_GUARD_SECRET") {
            env.push(("HMAC_GUARD_SECRET", SECRET));
        }
        let out = cli_env(&args, &env, stdin);
        let all = out.all();
        assert!(!all.is_empty(), "{args:?} printed nothing");
        for (form, what) in
            [(SECRET, "secret"), (&hex[..], "hex secret"), (&b64[..], "base64 secret"), (&expected_mac[..], "expected MAC")]
        {
            assert!(!all.contains(form), "{args:?} printed the {what}:\n{all}");
        }
        // Part of the secret is no better.
        assert!(!all.contains(&SECRET[..12]), "{args:?} printed part of the secret:\n{all}");
    }

    // A secret that happens to look like a variable name, given to --secret-env (or as a file):
    // accepted as a name, but a variable that long is never named in a message.
    const NAME_LIKE: &str = "HMACGUARDSECRETVALUE_0123456789_ABCDEFGH";
    let env = [("HMAC_GUARD_SECRET", NAME_LIKE)];
    for args in [
        &["sign", "--key-id", "k1", "--secret-env", NAME_LIKE, url][..],
        &["verify", "--key-id", "k1", "--secret-env", NAME_LIKE],
        &["verify", "--key-id", "k1", NAME_LIKE],
        &["sign", "--key-id", "k1", "--secret-file", NAME_LIKE, url],
    ] {
        let out = cli_env(args, &env, &req);
        assert_eq!(out.code, EXIT_USAGE, "{args:?}: {out:?}");
        assert!(!out.all().contains(&NAME_LIKE[..12]), "{args:?} printed the secret:\n{}", out.all());
    }
}

/// What `verify` and `explain` repeat from a request reaches the terminal with its control
/// characters (C0, DEL, C1 such as U+009B, a one-character CSI) and bidi overrides escaped. (The
/// core refuses non-ASCII targets and covered values before it builds a base, so the `request:`
/// line is what carried them; everything else is escaped as well, in case.)
#[test]
fn request_text_is_escaped_for_the_terminal() {
    let bad = |c: char| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
    let target = "/a\u{9b}31m?q=\u{202e}x";
    let shown = "/a\\u{9b}31m?q=\\u{202e}x";
    let sig = format!(
        "Signature-Input: sig1=(\"@method\" \"@authority\");created={T0};nonce=\"escape-test-nonce-1\";keyid=\"k1\"\r\n\
         Signature: sig1=:{}:\r\n",
        B64.encode([1u8; 32])
    );
    let rfc = format!("POST {target} HTTP/1.1\r\nHost: h\r\nX-A: v\u{9b}2J\r\nContent-Length: 0\r\n{sig}\r\n");
    let covered = rfc.replacen("(\"@method\" \"@authority\")", "(\"@method\" \"@path\")", 1);
    let simple = format!(
        "POST {target} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-HMAC-Key-Id: k1\r\nX-HMAC-Timestamp: {T0}\r\n\
         X-HMAC-Nonce: escape-test-nonce-1\r\nX-HMAC-Content-SHA256: {}\r\nX-HMAC-Signature: {}\r\n\r\n",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "00".repeat(32)
    );
    for (req, scheme) in [(&rfc, "rfc9421"), (&covered, "rfc9421"), (&simple, "simple")] {
        for args in [
            &["explain", "--scheme", scheme, "--at", "1700000001"][..],
            &["explain", "--scheme", scheme, "--key-id", "k1", "--at", "1700000001"],
            &["verify", "--scheme", scheme, "--key-id", "k1", "--at", "1700000001"],
        ] {
            let out = cli(args, req.as_bytes());
            assert!(out.code == EXIT_REJECTED || out.code == EXIT_INCOMPLETE, "{args:?}: {out:?}");
            let all = out.all();
            assert!(!all.chars().any(bad), "{args:?}: a control character reached the output:\n{all:?}");
            if args[0] == "explain" {
                assert!(out.stdout.contains(&format!("request: POST {shown} (https;")), "{}", out.stdout);
            }
        }
    }
}

#[test]
fn secret_flags_are_refused() {
    for args in [
        &["sign", "--key-id", "k1", "--secret=abc", "http://h/"][..],
        &["sign", "--key-id", "k1", "--secret", "abc", "http://h/"],
        &["verify", "--key-id", "k1", "--secret-key", "abc"],
        &["explain", "--key", "abc"],
        &["verify", "--password=abc"],
        &["--secret", "abc", "sign"],
    ] {
        let out = cli(args, b"");
        assert_eq!(out.code, EXIT_USAGE, "{args:?}");
        assert_eq!(out.stdout, "");
        assert!(out.stderr.contains("hmac-guard: error: refusing --"), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("ps") && out.stderr.contains("shell history"), "{}", out.stderr);
        assert!(out.stderr.contains("HMAC_GUARD_SECRET") && out.stderr.contains("--secret-file PATH"), "{}", out.stderr);
        assert!(!out.stderr.contains("abc"), "{}", out.stderr);
    }
}

#[test]
fn a_missing_or_unusable_secret_is_a_usage_error() {
    let req = signed_request("rfc9421", &[]);
    let out = cli_env(&["verify", "--key-id", "k1"], &[], &req);
    assert_eq!(out.code, EXIT_USAGE);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("hmac-guard: error: no secret: the environment variable HMAC_GUARD_SECRET is not set."),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--secret-env NAME") && out.stderr.contains("--secret-file PATH"));
    let out = cli(&["sign", "--key-id", "k1", "--secret-env", "OTHER_VAR", "http://h/"], b"");
    assert_eq!(out.code, EXIT_USAGE);
    assert!(out.stderr.contains("the environment variable OTHER_VAR is not set"), "{}", out.stderr);
    let out = cli_env(&["sign", "--key-id", "k1", "http://h/"], &[("HMAC_GUARD_SECRET", "")], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("is empty"), "{out:?}");
    let out = cli_env(&["sign", "--key-id", "k1", "http://h/"], &[("HMAC_GUARD_SECRET", "too-short")], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("at least 32 are required"), "{out:?}");
    let out = cli(&["sign", "--key-id", "k1", "--secret-file", "/nonexistent/secret", "http://h/"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("cannot open the --secret-file file: no such file"), "{out:?}");
    assert!(!out.stderr.contains("/nonexistent"), "{out:?}");
    let out = cli(&["sign", "--key-id", "k1", "--body-file", "/nonexistent/body", "http://h/"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("cannot open the --body-file file: no such file"), "{out:?}");
    assert!(!out.stderr.contains("/nonexistent"), "{out:?}");
    let empty = write_file("empty-secret", b"\n");
    let out = cli(&["sign", "--key-id", "k1", "--secret-file", &empty, "http://h/"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("the secret in the --secret-file file is empty"), "{out:?}");
    // --secret-env takes a variable's name; anything else is refused without being repeated.
    for bad in ["MY-KEY", "1ABC", "", "A=B", "with space", "s3cr3t/base64+value=="] {
        let out = cli(&["sign", "--key-id", "k1", "--secret-env", bad, "http://h/"], b"");
        assert_eq!(out.code, EXIT_USAGE, "{bad:?}: {out:?}");
        assert!(out.stderr.contains("--secret-env takes the NAME of an environment variable"), "{out:?}");
        assert!(bad.len() < 3 || !out.stderr.contains(bad), "{out:?}");
    }
    let out = cli_env(&["sign", "--key-id", "k1", "--secret-env", "_my_key2", "http://h/"], &[("_my_key2", SECRET)], b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let out = cli(&["sign", "--key-id", "k1", "--secret-encoding", "base64", "http://h/"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("not valid base64"), "{out:?}");
    let f = write_file("s", b"x");
    let out = cli(&["sign", "--key-id", "k1", "--secret-file", &f, "--secret-env", "X", "http://h/"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("not both"), "{out:?}");

    // A secret file with a trailing newline (echo > file) holds the same secret.
    let file = write_file("secret-nl", format!("{SECRET}\n").as_bytes());
    let out = cli_env(&["verify", "--key-id", "k1", "--secret-file", &file, "--at", "1700000001"], &[], &req);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let hex: String = SECRET.bytes().map(|b| format!("{b:02x}")).collect();
    let out = cli_env(
        &["verify", "--key-id", "k1", "--secret-encoding", "hex", "--at", "1700000001"],
        &[("HMAC_GUARD_SECRET", &hex)],
        &req,
    );
    assert_eq!(out.code, EXIT_OK, "{out:?}");
}

#[test]
fn malformed_input_is_a_usage_error() {
    let req = signed_request("rfc9421", &[]);
    let text = String::from_utf8(req.clone()).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "empty input"),
        (b"this is not http\r\n\r\n".to_vec(), "malformed request head"),
        (b"GET / HTTP/1.1\r\nHost: a".to_vec(), "the head ends before its blank line"),
        (text.replacen("Content-Length: 14", "Content-Length: ten", 1).into_bytes(), "Content-Length is not a decimal number"),
        (
            text.replacen("Content-Length: 14", "Content-Length: 14\r\nTransfer-Encoding: chunked", 1).into_bytes(),
            "both Transfer-Encoding and Content-Length",
        ),
        (text.replacen("Content-Length: 14", "Content-Length: 99999999999", 1).into_bytes(), "larger than 16 MiB"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_vec(), "malformed chunked body"),
        // RFC 9112 §6.3: a Transfer-Encoding whose last coding is not chunked is a 400, never
        // "read to the end of the input".
        (
            text.replacen("Content-Length: 14", "Transfer-Encoding: chunked, identity", 1).into_bytes(),
            "Transfer-Encoding does not end with chunked",
        ),
        (
            text.replacen("Content-Length: 14", "Transfer-Encoding: identity", 1).into_bytes(),
            "Transfer-Encoding does not end with chunked",
        ),
        (
            text.replacen("Content-Length: 14", "Transfer-Encoding:", 1).into_bytes(),
            "Transfer-Encoding does not end with chunked",
        ),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\n".to_vec(), "a chunk size is over 4 GiB"),
    ];
    for (input, message) in cases {
        for cmd in ["verify", "explain"] {
            let out = cli(&[cmd, "--key-id", "k1"], &input);
            assert_eq!(out.code, EXIT_USAGE, "{cmd} {message}: {out:?}");
            assert_eq!(out.stdout, "", "no verdict for unreadable input");
            assert!(out.stderr.starts_with("hmac-guard: error: stdin: "), "{}", out.stderr);
            assert!(out.stderr.contains(message), "{message:?} not in {}", out.stderr);
        }
    }
    let out = cli(&["verify", "--key-id", "k1", "/nonexistent/request.txt"], b"");
    assert!(out.code == EXIT_USAGE && out.stderr.contains("cannot open the input file: no such file"), "{out:?}");
    assert!(!out.stderr.contains("/nonexistent"), "the path is not repeated: {out:?}");
    let bad = write_file("bad.http", b"this is not http\r\n\r\n");
    let out = cli(&["explain", "--key-id", "k1", &bad], b"");
    assert!(
        out.code == EXIT_USAGE && out.stderr.starts_with("hmac-guard: error: the input file: malformed request head"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("bad.http"), "{out:?}");
    let dir = temp_dir();
    let out = cli(&["verify", "--key-id", "k1", dir.to_str().unwrap()], b"");
    assert_eq!(out.code, EXIT_USAGE, "{out:?}");
    // A body shorter than Content-Length is the core's verdict, with a note.
    let short = &req[..req.len() - 3];
    let out = verify(short, &[]);
    assert_eq!(out.code, EXIT_REJECTED);
    assert!(out.stdout.starts_with("verdict: rejected ERR_BODY_LENGTH_MISMATCH (400)\n"), "{}", out.stdout);
    assert!(out.stderr.contains("note: the input ends 3 bytes before the declared Content-Length"), "{}", out.stderr);
}

#[test]
fn chunked_bodies_are_decoded() {
    let req = signed_request("rfc9421", &[]);
    let text = String::from_utf8(req).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let head = head.replacen("Content-Length: 14", "Transfer-Encoding: chunked", 1);
    let chunked = format!("{head}\r\n\r\n5\r\n{{\"amo\r\n9;ext=1\r\nunt\": 10}}\r\n0\r\nX-Trailer: t\r\n\r\n");
    let out = verify(chunked.as_bytes(), &[]);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.contains("body: 14 bytes\n"));
    let out = cli_env(&["explain", "--at", "1700000005"], &[], chunked.as_bytes());
    assert!(out.stdout.contains("body 14 bytes, chunked)"), "{}", out.stdout);
    let tampered = chunked.replacen("unt\": 10}", "unt\": 11}", 1);
    let out = verify(tampered.as_bytes(), &[]);
    assert!(out.stdout.starts_with("verdict: rejected ERR_DIGEST_MISMATCH (401)\n"), "{}", out.stdout);
    // LF-only line ends, as a hand-written file has them.
    let lf = chunked.replace("\r\n", "\n");
    assert_eq!(verify(lf.as_bytes(), &[]).code, EXIT_OK);
    // Chunk sizes with leading zeros (more than 8 digits in all) are the same sizes.
    let padded =
        chunked.replacen("\r\n5\r\n", "\r\n0000000005\r\n", 1).replacen("\r\n9;ext=1\r\n", "\r\n000000000009;ext=1\r\n", 1);
    assert_ne!(padded, chunked);
    let padded = padded.replacen("\r\n0\r\nX-Trailer", "\r\n0000000000\r\nX-Trailer", 1);
    let out = verify(padded.as_bytes(), &[]);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    assert!(out.stdout.contains("body: 14 bytes\n"));
}

/// The sf-string at the start of `rest` (after its opening quote), unescaped.
fn sf_string_prefix(rest: &str) -> String {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

#[test]
fn host_and_scheme_overrides() {
    let req = signed_request("rfc9421", &[]);
    let proxied = replace(&req, "Host: api.example.com", "Host: backend:8080");
    let out = verify(&proxied, &[]);
    assert!(out.stdout.starts_with("verdict: rejected ERR_SIGNATURE_MISMATCH (401)\n"), "{}", out.stdout);
    let out = verify(&proxied, &["--host", "api.example.com"]);
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    // An absolute-form target must match the request's scheme.
    let absolute = replace(&req, "POST /orders?id=7", "POST http://api.example.com/orders?id=7");
    assert_eq!(verify(&absolute, &["--url-scheme", "http"]).code, EXIT_OK);
    // Without --url-scheme the core's default (https) applies.
    let out = verify(&absolute, &[]);
    assert!(out.stdout.starts_with("verdict: rejected ERR_MALFORMED_HEADER (400)\n"), "{}", out.stdout);
}

#[test]
fn sign_output_forms_and_usage_errors() {
    let dir = temp_dir();
    let body = dir.join("it's a body.json");
    std::fs::write(&body, BODY).unwrap();
    let body = body.to_str().unwrap();
    let args = [
        "sign",
        "--key-id",
        "k1",
        "--created",
        "1700000000",
        "-H",
        "Content-Type: application/json",
        "--body-file",
        body,
        "--curl",
        "http://127.0.0.1:9/x?q=[1]#frag",
    ];
    let out = cli(&args, b"");
    assert_eq!(out.code, EXIT_OK, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "curl --silent --show-error --path-as-is --globoff \\");
    assert_eq!(lines[1], "  --header 'Content-Type: application/json' \\");
    assert!(lines[2].starts_with("  --header 'Content-Digest: sha-256=:"), "{}", out.stdout);
    assert!(lines[3].starts_with("  --header 'Signature-Input: sig1=(\"@method\" "), "{}", out.stdout);
    assert!(lines[4].starts_with("  --header 'Signature: sig1=:"), "{}", out.stdout);
    assert_eq!(lines[5], format!("  --data-binary '@{}' \\", body.replace('\'', "'\\''")));
    assert_eq!(lines[6], "  'http://127.0.0.1:9/x?q=[1]'");
    assert!(!out.stdout.contains("--request"), "POST is what curl infers from --data-binary");
    let out = cli(&["sign", "--key-id", "k1", "-X", "PUT", "--body-file", body, "--curl", "http://h/"], b"");
    assert!(out.stdout.contains("  --request PUT \\\n"), "{}", out.stdout);
    let out = cli(&["sign", "--key-id", "k1", "http://h/"], b"");
    assert_eq!(header_lines(&out.stdout).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["Signature-Input", "Signature"]);
    // The body from stdin.
    let out = cli(&["sign", "--key-id", "k1", "--body-file", "-", "http://h/"], BODY);
    assert!(out.stdout.starts_with("Content-Digest: sha-256=:f4snnvS+CQk4LbREJ1D464Tyh0z0PIJqhqz/ttwoyE0=:\n"), "{out:?}");

    for (args, message) in [
        (&["sign", "http://h/"][..], "--key-id is required"),
        (&["sign", "--key-id", "k1"], "the URL to sign is required"),
        (&["sign", "--key-id", "k1", "/relative"], "is not absolute"),
        (&["sign", "--key-id", "k1", "http://h/", "http://i/"], "exactly one URL"),
        (
            &["sign", "--key-id", "k1", "--scheme", "simple", "--label", "x", "http://h/"],
            "--label applies to --scheme rfc9421 only",
        ),
        (&["sign", "--key-id", "k1", "--scheme", "nope", "http://h/"], "--scheme must be rfc9421 or simple"),
        (&["sign", "--key-id", "k1", "-H", "Signature: x", "http://h/"], "sign writes this header itself"),
        (&["sign", "--key-id", "k1", "-H", "no colon", "http://h/"], "'Name: value'"),
        (&["sign", "--key-id", "k1", "--created", "soon", "http://h/"], "--created must be a whole number"),
        (&["sign", "--key-id", "k1", "--curl", "--body-file", "-", "http://h/"], "a file curl can read again"),
        (&["sign", "--key-id", "k1", "--curl=yes", "http://h/"], "--curl takes no value"),
        (&["sign", "--key-id", "k1", "--nonce", "bad nonce!", "--scheme", "simple", "http://h/"], "cannot sign"),
        (&["sign", "--key-id", "k1", "--components", "@method @nope", "http://h/"], "cannot sign"),
        (&["verify"], "--key-id is required"),
        (&["verify", "--key-id", "k1", "a", "b"], "one FILE"),
        (&["verify", "--key-id", "k1", "--url-scheme", "ftp"], "--url-scheme must be http or https"),
        (&["explain", "--subject", "s"], "--subject needs --key-id"),
        (&["nope"], "unknown command"),
        (&[], "a command is required"),
    ] {
        let out = cli(args, b"");
        assert_eq!(out.code, EXIT_USAGE, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {message:?} not in {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
    }
}

#[test]
fn help_for_the_tool_and_each_command() {
    for (args, first) in [
        (&["--help"][..], "hmac-guard: sign, verify and explain"),
        (&["-h"], "hmac-guard: sign, verify and explain"),
        (&["help"], "hmac-guard: sign, verify and explain"),
        (&["sign", "--help"], "hmac-guard sign: "),
        (&["help", "sign"], "hmac-guard sign: "),
        (&["verify", "-h"], "hmac-guard verify: "),
        (&["verify", "--key-id", "k1", "--help"], "hmac-guard verify: "),
        (&["explain", "--help"], "hmac-guard explain: "),
    ] {
        let out = cli_env(args, &[], b"");
        assert_eq!(out.code, EXIT_OK, "{args:?}");
        assert!(out.stdout.starts_with(first), "{args:?}: {}", out.stdout);
        assert!(out.stdout.contains("Usage: hmac-guard") || out.stdout.contains("Usage:\n"), "{args:?}");
        assert_eq!(out.stderr, "");
    }
    let main = cli(&["--help"], b"").stdout;
    for needle in
        ["Exit codes:", "HMAC_GUARD_SECRET", "--secret-file PATH", "  2  usage or input error", "  3  explain without --key-id"]
    {
        assert!(main.contains(needle), "{needle:?}");
    }
    let sign = cli(&["sign", "--help"], b"").stdout;
    for needle in
        ["--curl", "--body-file PATH", "--components LIST", "--created SECS", "--nonce NONCE", "--scheme S", "--label L"]
    {
        assert!(sign.contains(needle), "{needle:?}");
    }
    let verify = cli(&["verify", "--help"], b"").stdout;
    for needle in ["--at SECS", "--max-age SECS", "--url-scheme S", "verdict: rejected ERR_CODE (STATUS)"] {
        assert!(verify.contains(needle), "{needle:?}");
    }
    let out = cli(&["--version"], b"");
    assert_eq!(out.stdout, format!("hmac-guard {}\n", env!("CARGO_PKG_VERSION")));
}

/// The shared request vectors, each written out as a raw HTTP/1.1 request and verified by the
/// tool with the vector's key, clock and policy. Cases the tool cannot express (several keys
/// needed at once, key validity bounds, custom required components, values a raw request cannot
/// carry) are skipped; the count run is checked so this cannot pass vacuously.
#[test]
fn shared_vectors_through_raw_requests() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut ran = 0;
    for file in ["rfc9421.json", "simple.json", "negative.json"] {
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            if run_vector(case) {
                ran += 1;
            }
        }
    }
    assert!(ran >= 60, "only {ran} vectors could be fed through the CLI");
    eprintln!("{ran} shared vectors verified through raw requests");
}

fn run_vector(case: &serde_json::Value) -> bool {
    let name = case["name"].as_str().unwrap();
    let policy = case["policy"].as_object().cloned().unwrap_or_default();
    let supported = ["max_age_secs", "max_future_skew_secs", "body_limit", "accepted_labels", "required_tag"];
    if policy.keys().any(|k| !supported.contains(&k.as_str())) || case["attempts"].as_u64().unwrap_or(1) > 1 {
        return false;
    }
    let req = &case["request"];
    let headers: Vec<(String, String)> = req["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().to_string()))
        .collect();
    let body = B64.decode(req["body_b64"].as_str().unwrap_or("")).unwrap();
    let method = req["method"].as_str().unwrap();
    let target = req["target"].as_str().unwrap();
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t');
    let carried = token(method)
        && !target.is_empty()
        && target.bytes().all(|b| b.is_ascii_graphic())
        && headers.iter().all(|(n, v)| token(n) && printable(v) && v.trim() == v);
    let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
    let lengths: Vec<&str> =
        headers.iter().filter(|(h, _)| h.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.as_str()).collect();
    let framing_ok = if has("transfer-encoding") {
        false
    } else if lengths.is_empty() {
        body.is_empty() || !body.iter().all(|b| *b == b'\r' || *b == b'\n')
    } else {
        lengths.iter().all(|v| v.parse::<usize>() == Ok(body.len()))
    };
    if !carried || !framing_ok {
        return false;
    }
    // One key: the one the request names, else the first (an unknown key id stays unknown).
    let keys = case["keys"].as_array().unwrap();
    if keys.iter().any(|k| k.get("not_before").is_some() || k.get("not_after").is_some()) {
        return false;
    }
    let mut named: Vec<String> = Vec::new();
    for (n, v) in &headers {
        if n.eq_ignore_ascii_case("x-hmac-key-id") {
            named.push(v.clone());
        } else if n.eq_ignore_ascii_case("signature-input") {
            named.extend(v.split("keyid=\"").skip(1).map(sf_string_prefix));
        }
    }
    named.dedup();
    if named.len() > 1 {
        return false; // which key the verifier picks depends on the label policy
    }
    let named = named.pop().unwrap_or_default();
    let key = keys.iter().find(|k| k["id"].as_str() == Some(named.as_str())).unwrap_or(&keys[0]);
    let secret = key["secret_b64"].as_str().unwrap().to_string();
    let now = case["now"].as_i64().unwrap().to_string();
    let mut args: Vec<String> = [
        "verify",
        "--key-id",
        key["id"].as_str().unwrap(),
        "--alg",
        key["algorithm"].as_str().unwrap(),
        "--secret-encoding",
        "base64",
        "--scheme",
        case["scheme"].as_str().unwrap(),
        "--at",
        &now,
    ]
    .map(String::from)
    .to_vec();
    if let Some(subject) = key["subject"].as_str() {
        args.extend(["--subject".into(), subject.into()]);
    }
    // An empty scheme is one the caller cannot tell: the CLI then leaves the core's default.
    match req["scheme"].as_str().unwrap() {
        "" => {}
        scheme => args.extend(["--url-scheme".into(), scheme.into()]),
    }
    for (k, flag) in [("max_age_secs", "--max-age"), ("max_future_skew_secs", "--max-skew"), ("body_limit", "--body-limit")] {
        if let Some(v) = policy.get(k) {
            args.extend([flag.into(), v.to_string()]);
        }
    }
    for label in policy.get("accepted_labels").and_then(|l| l.as_array()).into_iter().flatten() {
        args.extend(["--label".into(), label.as_str().unwrap().into()]);
    }
    if let Some(tag) = policy.get("required_tag").and_then(|t| t.as_str()) {
        args.extend(["--tag".into(), tag.into()]);
    }
    let raw_request = raw(method, target, &headers, &body);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli_env(&arg_refs, &[("HMAC_GUARD_SECRET", &secret)], &raw_request);
    let expect = &case["expect"];
    if expect["ok"].as_bool() == Some(true) {
        assert_eq!(out.code, EXIT_OK, "{name}: {out:?}");
        assert!(out.stdout.contains(&format!("key id: {}\n", expect["key_id"].as_str().unwrap())), "{name}");
        if let Some(subject) = expect["subject"].as_str() {
            assert!(out.stdout.contains(&format!("subject: {subject}\n")), "{name}");
        }
        if let Some(nonce) = expect["nonce"].as_str() {
            assert!(out.stdout.contains(&format!("nonce: {nonce}\n")), "{name}");
        }
        if let Some(base) = expect["signature_base"].as_str() {
            let mut explain = arg_refs.clone();
            explain[0] = "explain";
            let ex = cli_env(&explain, &[("HMAC_GUARD_SECRET", &secret)], &raw_request);
            assert_eq!(ex.code, EXIT_OK, "{name}: {ex:?}");
            assert!(ex.stdout.contains(&format!("-----\n{base}\n-----\n")), "{name}: base differs:\n{}", ex.stdout);
        }
    } else {
        let code = expect["error"].as_str().unwrap();
        if code == "ERR_INVALID_CONFIG" {
            // A key the verifier cannot hold is the tool's configuration error, not a verdict.
            assert_eq!(out.code, EXIT_USAGE, "{name}: {out:?}");
            assert!(out.stderr.contains("the key is not usable"), "{name}: {out:?}");
            return true;
        }
        assert_eq!(out.code, EXIT_REJECTED, "{name}: {out:?}");
        assert!(out.stdout.starts_with(&format!("verdict: rejected {code} (")), "{name}: expected {code}: {}", out.stdout);
    }
    true
}

/// The `-----` block of a `sign --print-base` or `explain` output.
fn base_block(text: &str) -> &str {
    let start = text.find("-----\n").expect("a base block") + 6;
    let len = text[start..].find("\n-----").expect("its end");
    &text[start..start + len]
}

#[test]
fn sign_prints_the_base_that_explain_reports() {
    for scheme in ["rfc9421", "simple"] {
        let body = write_file("print-base.json", BODY);
        let args =
            ["sign", "--key-id", "k1", "--scheme", scheme, "--created", "1700000000", "--body-file", &body, "--print-base"];
        let out = cli(&[&args[..], &["http://api.example.com/orders?id=7"]].concat(), b"");
        assert_eq!(out.code, EXIT_OK, "{out:?}");
        assert!(!out.stdout.contains("-----"), "stdout stays the headers: {}", out.stdout);
        let signed_base = base_block(&out.stderr).to_string();
        let mut headers =
            vec![("Host".to_string(), "api.example.com".to_string()), ("Content-Length".into(), BODY.len().to_string())];
        headers.extend(header_lines(&out.stdout));
        let req = raw("POST", "/orders?id=7", &headers, BODY);
        let explained =
            cli(&["explain", "--scheme", scheme, "--key-id", "k1", "--url-scheme", "http", "--at", "1700000005"], &req);
        assert_eq!(base_block(&explained.stdout), signed_base, "{scheme}: {}", explained.stdout);
        // A request changed in transit: the bases differ, which is what the diff is for.
        let tampered = replace(&req, "POST /orders?id=7", "POST /orders?id=8");
        let explained = cli(&["explain", "--scheme", scheme, "--url-scheme", "http", "--at", "1700000005"], &tampered);
        assert_ne!(base_block(&explained.stdout), signed_base, "{scheme}");
    }
}
