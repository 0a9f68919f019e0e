//! What `verify` and `explain` share: the request from the input, and a verifier built from the
//! options with a fresh in-memory replay store.

use std::io::Write;
use std::sync::Arc;

use hmac_guard::config::{Env, field};
use hmac_guard::webhook::Preset;
use hmac_guard::{Guard, GuardConfig, KeySpec, ManualClock, RequestHead, Spelling, Value};

use crate::args::{CheckArgs, SchemeKind};
use crate::raw::{self, Framing, MAX_INPUT};
use crate::{Failure, Io, input};

/// Reads and parses the raw request named by the options (a file, or stdin).
pub(crate) fn load_request(a: &CheckArgs, io: &mut Io<'_>) -> Result<(RequestHead, Vec<u8>, Framing), Failure> {
    // Never the path in a message: it came from the command line (a secret pasted in its place).
    let bytes = input::read_source(a.input.as_deref(), "the input file", io.stdin, MAX_INPUT).map_err(Failure::input)?;
    let req = raw::parse(&bytes).map_err(|e| match a.input.as_deref() {
        None | Some("-") => Failure::input(format!("stdin: {e}")),
        Some(_) => Failure::input(format!("the input file: {e}")),
    })?;
    for note in &req.notes {
        io.note(note);
    }
    let mut headers = req.headers;
    if let Some(host) = &a.host {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        headers.push(("Host".into(), host.clone()));
    }
    Ok((RequestHead::new(req.method, req.target, a.url_scheme.clone().unwrap_or_default(), headers), req.body, req.framing))
}

/// A verifier for the options: the scheme, the window, the body limit, the clock (`--at`), the
/// one key (if any), and a fresh, small in-memory replay store. The options go through the
/// core's configuration contract, which names a bad one by its flag.
pub(crate) fn guard(a: &CheckArgs, key: Option<KeySpec>, cmd: &'static str) -> Result<Guard, Failure> {
    guard_with(a, key, None, cmd)
}

/// A webhook preset's verifier with the endpoint's secret (as the provider's dashboard shows
/// it), or, for `explain` without one, a placeholder that no check uses
/// (`Guard::explain_without_key` never reaches a key).
pub(crate) fn webhook_guard(a: &CheckArgs, preset: Preset, secret: Option<&str>, cmd: &'static str) -> Result<Guard, Failure> {
    let placeholder = match preset {
        Preset::StandardWebhooks | Preset::Svix => "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        _ => "00000000000000000000000000000000",
    };
    let secret = secret.unwrap_or(placeholder);
    guard_with(a, None, Some((preset, secret)), cmd)
}

fn guard_with(a: &CheckArgs, key: Option<KeySpec>, webhook: Option<(Preset, &str)>, cmd: &'static str) -> Result<Guard, Failure> {
    let scheme = match (webhook, a.scheme) {
        (Some((preset, _)), _) => preset.name(),
        (None, SchemeKind::Rfc9421) => "rfc9421",
        (None, SchemeKind::Simple) => "simple",
    };
    let mut options = vec![
        ("scheme", Value::str(scheme)),
        // The CLI's own process environment must not move its throwaway store to Redis.
        ("redis_url", Value::str("")),
        ("replay_store.capacity", Value::Int(16)),
    ];
    let mut number = |id, n: Option<i64>| {
        if let Some(n) = n {
            options.push((id, Value::Int(n)));
        }
    };
    number("policy.max_age_secs", a.max_age.map(i64::from));
    number("policy.max_future_skew_secs", a.max_skew.map(i64::from));
    number("policy.body_limit", a.body_limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX)));
    if !a.labels.is_empty() {
        options.push(("policy.accepted_labels", Value::List(a.labels.iter().map(|l| Value::str(l.as_str())).collect())));
    }
    if let Some(tag) = &a.tag {
        options.push(("policy.required_tag", Value::str(tag.as_str())));
    }
    if let Some(at) = a.at {
        options.push(("clock", Value::Clock(Arc::new(ManualClock::at_secs(at)))));
    }
    if let Some((_, secret)) = webhook {
        options.push(("webhook.secrets", Value::List(vec![Value::str(secret)])));
    }
    if let Some(tolerance) = a.tolerance {
        options.push(("webhook.tolerance_secs", Value::Int(i64::from(tolerance))));
    }
    // Canonical ids, spelled as the CLI spells them (its flags), so errors name the flag.
    let options = Value::map(options.into_iter().map(|(id, v)| (field(id).name(Spelling::Cli), v)));
    let config = GuardConfig::from_options_in(&options, Spelling::Cli, &Env::fixed(&[]))
        .map_err(|e| Failure::usage(Some(cmd), e.reason().to_string()))?;
    let built = config.build().map_err(|e| Failure::input(format!("bad verifier options: {}", e.reason())))?;
    if let Some(spec) = key {
        built.guard.keys().upsert(spec).map_err(|e| Failure::input(format!("the key is not usable: {}", e.reason())))?;
    }
    Ok(built.guard)
}

/// The signature base (or HG1 canonical string) between two rules, as `explain` and
/// `sign --print-base` show it, so the two can be diffed.
pub(crate) fn write_base(out: &mut dyn Write, scheme: &str, base: &str) -> std::io::Result<()> {
    let what = match scheme {
        "simple" => "canonical string",
        s if Preset::from_name(s).is_some() => "signed string",
        _ => "signature base",
    };
    writeln!(out, "{what} ({} bytes, between the lines, no trailing newline):", base.len())?;
    writeln!(out, "-----")?;
    // Line by line: the base's own line breaks are kept, anything else unprintable escaped.
    writeln!(out, "{}", crate::show::lines(base))?;
    writeln!(out, "-----")
}

/// `  "@method": POST` lines.
pub(crate) fn write_covered<'a>(out: &mut dyn Write, covered: impl Iterator<Item = (&'a str, &'a str)>) -> std::io::Result<()> {
    writeln!(out, "covered components:")?;
    for (id, value) in covered {
        writeln!(out, "  {}: {}", crate::show::line(id), crate::show::line(value))?;
    }
    Ok(())
}

/// `created: 1700000000 (12 s before now)`.
pub(crate) fn write_time(out: &mut dyn Write, name: &str, t: i64, now: i64) -> std::io::Result<()> {
    let delta = now.saturating_sub(t);
    let rel = match delta {
        0 => "now".to_string(),
        d if d > 0 => format!("{d} s before now"),
        d => format!("{} s after now", d.unsigned_abs()),
    };
    writeln!(out, "{name}: {t} ({rel})")
}
