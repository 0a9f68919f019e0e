//! `hmac-guard verify`: the core verifier's verdict on a raw request. Everything taken from the
//! request is escaped for the terminal (`show`).

use crate::args::CheckArgs;
use crate::secret::Secret;
use crate::show::line;
use crate::{EXIT_OK, EXIT_REJECTED, Failure, Io, Outcome, check};

pub(crate) fn run(a: &CheckArgs, io: &mut Io<'_>) -> Outcome {
    // The secret first: a missing one is reported before anything waits on stdin.
    let guard = match (a.preset, a.key.key_id.as_deref()) {
        (Some(preset), _) => {
            let secret = Secret::load(&a.key, io)?.into_text()?;
            check::webhook_guard(a, preset, Some(&secret), "verify")?
        }
        (None, Some(key_id)) => {
            let spec = Secret::load(&a.key, io)?.into_spec(&a.key, key_id, a.subject.as_deref())?;
            check::guard(a, Some(spec), "verify")?
        }
        (None, None) => return Err(Failure::usage(Some("verify"), "--key-id is required")),
    };
    let (head, body, _) = check::load_request(a, io)?;
    let now = guard.clock().now_secs();
    let out = &mut *io.stdout;
    match guard.verify(&head, &body) {
        Ok(v) => {
            writeln!(out, "verdict: ok")?;
            writeln!(out, "scheme: {}", line(v.scheme))?;
            if let Some(label) = &v.label {
                writeln!(out, "label: {}", line(label))?;
            }
            writeln!(out, "key id: {}", line(&v.key_id))?;
            if let Some(d) = &v.webhook {
                // A delivery: what the receiver's handler gets (no nonce: a delivery is
                // deduplicated under its id, or its MAC).
                writeln!(out, "provider: {}", d.provider)?;
                writeln!(out, "delivery id: {}", line(d.id.as_deref().unwrap_or("(none)")))?;
                writeln!(out, "event type: {}", line(d.event_type.as_deref().unwrap_or("(none)")))?;
                writeln!(out, "json: {}", d.json)?;
                writeln!(out, "deduplicated by: {}", d.dedupe.name())?;
                if let Some(created) = v.created {
                    check::write_time(out, "timestamp", created, now)?;
                }
                writeln!(out, "body: {} bytes", v.body_len)?;
                return Ok(EXIT_OK);
            }
            writeln!(out, "subject: {}", line(v.subject.as_deref().unwrap_or("(none)")))?;
            writeln!(out, "algorithm: {}", v.algorithm.name())?;
            if let Some(created) = v.created {
                check::write_time(out, "created", created, now)?;
            }
            if let Some(expires) = v.expires {
                check::write_time(out, "expires", expires, now)?;
            }
            writeln!(out, "nonce: {}", line(v.nonce.as_deref().unwrap_or("(none)")))?;
            if let Some(tag) = &v.tag {
                writeln!(out, "tag: {}", line(tag))?;
            }
            writeln!(out, "body: {} bytes", v.body_len)?;
            check::write_covered(out, v.covered.iter())?;
            Ok(EXIT_OK)
        }
        Err(e) => {
            writeln!(out, "verdict: rejected {} ({})", e.code().as_str(), e.status())?;
            writeln!(out, "message: {}", line(e.message()))?;
            writeln!(out, "reason: {}", line(e.reason()))?;
            io.note("`hmac-guard explain` with the same options shows the signature base and the failing check");
            Ok(EXIT_REJECTED)
        }
    }
}
