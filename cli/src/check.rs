//! What `verify` and `explain` share: the request from the input, and a verifier built from the
//! options with a fresh in-memory replay store.

use std::io::Write;
use std::sync::Arc;

use hmac_guard::{
    Clock, Guard, KeyRing, KeySpec, ManualClock, MemoryStore, MemoryStoreConfig, Policy, RequestHead, Rfc9421, Rfc9421Config,
    Scheme, Simple, SystemClock,
};

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
    Ok((RequestHead::new(req.method, req.target, a.url_scheme.clone(), headers), req.body, req.framing))
}

/// A verifier for the options: the scheme, the window, the body limit, the clock (`--at`), the
/// one key (if any), and a fresh in-memory replay store.
pub(crate) fn guard(a: &CheckArgs, key: Option<KeySpec>, cmd: &'static str) -> Result<Guard, Failure> {
    let scheme: Arc<dyn Scheme> = match a.scheme {
        SchemeKind::Rfc9421 => {
            let config = Rfc9421Config {
                accepted_labels: if a.labels.is_empty() { None } else { Some(a.labels.clone()) },
                required_tag: a.tag.clone(),
                ..Rfc9421Config::default()
            };
            Arc::new(Rfc9421::new(config).map_err(|e| Failure::input(e.reason().to_string()))?)
        }
        SchemeKind::Simple => {
            if !a.labels.is_empty() || a.tag.is_some() {
                return Err(Failure::usage(Some(cmd), "--label and --tag apply to --scheme rfc9421 only"));
            }
            Arc::new(Simple)
        }
    };
    let defaults = Policy::default();
    let policy = Policy {
        max_age_secs: a.max_age.unwrap_or(defaults.max_age_secs),
        max_future_skew_secs: a.max_skew.unwrap_or(defaults.max_future_skew_secs),
        body_limit: a.body_limit.unwrap_or(defaults.body_limit),
        ..defaults
    };
    if policy.max_age_secs == 0 {
        return Err(Failure::usage(Some(cmd), "--max-age must be at least 1"));
    }
    let clock: Arc<dyn Clock> = match a.at {
        Some(at) => Arc::new(ManualClock::at_secs(at)),
        None => Arc::new(SystemClock),
    };
    let keys = Arc::new(KeyRing::new());
    if let Some(spec) = key {
        keys.upsert(spec).map_err(|e| Failure::input(format!("the key is not usable: {}", e.reason())))?;
    }
    let store = MemoryStore::new(MemoryStoreConfig { capacity: 16, per_key_quota: None, shards: Some(1) })
        .map_err(|e| Failure::input(e.reason().to_string()))?;
    Guard::builder()
        .scheme(scheme)
        .keys(keys)
        .store(Arc::new(store))
        .clock(clock)
        .policy(policy)
        .build()
        .map_err(|e| Failure::input(format!("bad verifier options: {}", e.reason())))
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
