//! `hmac-guard sign --preset NAME`: a webhook provider's headers for a body, as the provider
//! would send them (`hmac_guard::webhook::sign`), to test a receiver; and the display names of
//! those headers. The secret is given as the provider's dashboard shows it.

use hmac_guard::webhook::{Preset, sign};

use crate::args::SignArgs;
use crate::raw::MAX_BODY;
use crate::secret::Secret;
use crate::{EXIT_OK, Failure, Io, Outcome, input};

pub(crate) fn run(a: &SignArgs, preset: Preset, io: &mut Io<'_>) -> Outcome {
    if a.curl && a.body_file.as_deref() == Some("-") {
        return Err(Failure::usage(Some("sign"), "--curl needs the body in a file curl can read again (--body PATH, not -)"));
    }
    let url = if a.url.is_empty() { None } else { Some(crate::sign::parse_url(&a.url)?) };
    let secret = Secret::load(&a.key, io)?.into_text()?;
    let body = match &a.body_file {
        Some(path) => input::read_source(Some(path), "the --body file", io.stdin, MAX_BODY).map_err(Failure::input)?,
        None => Vec::new(),
    };
    let signed = sign(preset, &[secret.as_str()], &body, a.created, a.webhook_id.as_deref())
        .map_err(|e| Failure::input(format!("cannot sign: {} ({})", e.reason(), e.code().as_str())))?;
    drop(secret);
    if a.print_base {
        // On stderr: stdout stays the headers (or the curl command) a script consumes.
        // As `explain` shows it: what precedes the body, then `<body>`.
        let prefix = &signed.signed[..signed.signed.len() - body.len()];
        let base = format!("{}<body>", String::from_utf8_lossy(prefix));
        crate::check::write_base(io.stderr, preset.name(), &base)?;
    }
    let headers: Vec<(String, String)> = signed.headers.into_iter().map(|(n, v)| (display_name(&n), v)).collect();
    let out = &mut *io.stdout;
    match url {
        Some(url) if a.curl => {
            let mut extra = a.headers.clone();
            if !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                // curl's default for --data-binary is a form; providers send JSON.
                extra.push(("Content-Type".into(), "application/json".into()));
            }
            let a = SignArgs { headers: extra, ..a.clone() };
            out.write_all(crate::sign::curl_command(&a, "POST", &url, &headers).as_bytes())?;
        }
        _ => {
            for (name, value) in &headers {
                writeln!(out, "{name}: {value}")?;
            }
        }
    }
    Ok(EXIT_OK)
}

/// The providers' own spelling of their headers (the core's names are lowercase; Standard
/// Webhooks and Svix spell theirs lowercase too).
pub(crate) fn display_name(name: &str) -> String {
    match name {
        "stripe-signature" => "Stripe-Signature".into(),
        "x-hub-signature-256" => "X-Hub-Signature-256".into(),
        "x-slack-signature" => "X-Slack-Signature".into(),
        "x-slack-request-timestamp" => "X-Slack-Request-Timestamp".into(),
        "x-shopify-hmac-sha256" => "X-Shopify-Hmac-Sha256".into(),
        other => other.to_string(),
    }
}
