//! `hmac-guard explain`: the signature base / canonical string the server builds, the covered
//! components and parameters, and each check's outcome (`hmac_guard::Guard::explain`). Without a
//! key the MAC cannot be checked; everything else still is, and the exit code is
//! [`EXIT_INCOMPLETE`], never success. Never prints a secret or a MAC; everything taken from the
//! request is escaped for the terminal (`show`).

use hmac_guard::Outcome as Check;

use crate::args::CheckArgs;
use crate::raw::Framing;
use crate::secret::Secret;
use crate::show::line;
use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_REJECTED, Io, Outcome, check};

pub(crate) fn run(a: &CheckArgs, io: &mut Io<'_>) -> Outcome {
    let (guard, keyed) = match a.preset {
        // A provider names no key: the secret is read when its source is given.
        Some(preset) => {
            let keyed = a.key.secret_env.is_some() || a.key.secret_file.is_some();
            let secret = if keyed { Some(Secret::load(&a.key, io)?.into_text()?) } else { None };
            (check::webhook_guard(a, preset, secret.as_deref().map(String::as_str), "explain")?, keyed)
        }
        None => {
            let spec = match a.key.key_id.as_deref() {
                Some(key_id) => Some(Secret::load(&a.key, io)?.into_spec(&a.key, key_id, a.subject.as_deref())?),
                None => None,
            };
            let keyed = spec.is_some();
            (check::guard(a, spec, "explain")?, keyed)
        }
    };
    let (head, body, framing) = check::load_request(a, io)?;
    let ex = if keyed { guard.explain(&head, Some(&body)) } else { guard.explain_without_key(&head, Some(&body)) };
    let now = guard.clock().now_secs();
    let out = &mut *io.stdout;

    writeln!(out, "scheme: {}", line(ex.scheme))?;
    let framing = match framing {
        Framing::ContentLength => "by Content-Length",
        Framing::Chunked => "chunked",
        Framing::ToEof => "to the end of the input",
    };
    writeln!(
        out,
        "request: {} {} ({}; body {} bytes, {framing})",
        line(&head.method),
        line(&head.target),
        // The scheme the verifier used: the one given with --url-scheme, else the core's default.
        line(head.url_scheme()),
        body.len()
    )?;
    match a.at {
        Some(at) => writeln!(out, "now: {at} (--at)")?,
        None => writeln!(out, "now: {now} (system clock)")?,
    }
    match (&a.key.key_id, a.preset) {
        (_, Some(_)) if keyed => writeln!(out, "secret: the endpoint's secret (secret-0; never printed)")?,
        (_, Some(_)) => {
            writeln!(out, "secret: none (no --secret-env or --secret-file): the secret checks and the MAC are not run")?;
        }
        (Some(id), None) => writeln!(out, "key: {} ({})", line(id), a.key.algorithm.name())?,
        (None, None) => writeln!(out, "key: none (no --key-id): the key checks and the MAC are not run")?,
    }
    if let Some(label) = &ex.label {
        writeln!(out, "label: {}", line(label))?;
    }
    if let Some(key_id) = &ex.key_id {
        writeln!(out, "key id: {}", line(key_id))?;
    }
    if let Some(created) = ex.created {
        check::write_time(out, "created", created, now)?;
    }
    if let Some(expires) = ex.expires {
        check::write_time(out, "expires", expires, now)?;
    }
    if let Some(nonce) = &ex.nonce {
        writeln!(out, "nonce: {}", line(nonce))?;
    }
    if let Some(alg) = ex.algorithm {
        writeln!(out, "alg: {}", alg.name())?;
    }
    if let Some(tag) = &ex.tag {
        writeln!(out, "tag: {}", line(tag))?;
    }
    if !ex.covered.is_empty() {
        check::write_covered(out, ex.covered.iter().map(|(i, v)| (i.as_str(), v.as_str())))?;
    }
    if let Some(base) = &ex.signature_base {
        check::write_base(out, ex.scheme, base)?;
    }
    writeln!(out, "checks:")?;
    let mut failing = None;
    for (name, outcome) in &ex.checks {
        match outcome {
            Check::Passed => writeln!(out, "  {name}: pass")?,
            Check::Failed(e) => {
                failing.get_or_insert(*name);
                writeln!(out, "  {name}: FAIL {} ({})", e.code().as_str(), line(e.reason()))?;
            }
            Check::NotRun(why) => writeln!(out, "  {name}: skip ({why})")?,
        }
    }
    match &ex.error {
        Some(e) => {
            writeln!(out, "failing check: {}", failing.unwrap_or("headers parse"))?;
            writeln!(out, "verdict: rejected {} ({})", e.code().as_str(), e.status())?;
            writeln!(out, "reason: {}", line(e.reason()))?;
            Ok(EXIT_REJECTED)
        }
        None if !keyed => {
            // Not a success: the MAC was never checked, so the request may well be forged (a
            // script running `hmac-guard explain req && accept` must not accept it).
            let how = if a.preset.is_some() { "give the endpoint's secret" } else { "give --key-id and the secret" };
            writeln!(out, "verdict: incomplete (every check without the key passed; {how} to check the MAC)")?;
            writeln!(out, "note: the signature was not checked: this request is not known to be authentic (exit 3)")?;
            Ok(EXIT_INCOMPLETE)
        }
        None => {
            writeln!(out, "verdict: ok")?;
            if a.preset.is_some() {
                writeln!(out, "note: explain does not look for duplicates (a server remembers deliveries; this tool cannot)")?;
            } else {
                writeln!(out, "note: explain does not look for replays (a server remembers nonces; this tool cannot)")?;
            }
            Ok(EXIT_OK)
        }
    }
}
