//! "Why doesn't my signature match?": what the server computed, check by check.
//!
//! Runs the verifier's own checks (the same code, with an observer) and reports the signature
//! base, the covered components and each check's outcome. It never reports a secret or the
//! expected MAC, and never claims a nonce.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::digest::BodyHasher;
use crate::error::{Error, ErrorCode, Result, fail};
use crate::keyring::Algorithm;
use crate::request::RequestHead;
use crate::scheme::{BodyBinding, MacInput, Prepared};
use crate::verifier::{Guard, Observer, Policy, check_declared_len, check_nonce, check_window};

/// One check and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed.
    Passed,
    /// The check failed with this error.
    Failed(Error),
    /// The check was not run (an earlier one failed, or explain never runs it).
    NotRun(&'static str),
}

/// The report.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Scheme name.
    pub scheme: &'static str,
    /// Signature label.
    pub label: Option<String>,
    /// Key id the request names.
    pub key_id: Option<String>,
    /// Covered components and their values as the server sees them.
    pub covered: Vec<(String, String)>,
    /// The exact bytes the MAC runs over (body shown as `<body>` where the MAC covers it).
    pub signature_base: Option<String>,
    /// Signature creation time (Unix seconds), as the request states it.
    pub created: Option<i64>,
    /// Signature expiry (Unix seconds), as the request states it.
    pub expires: Option<i64>,
    /// The nonce the request carries.
    pub nonce: Option<String>,
    /// The algorithm the request names (`alg`), if any.
    pub algorithm: Option<Algorithm>,
    /// Application tag (RFC 9421 `tag`).
    pub tag: Option<String>,
    /// Checks in the order the verifier runs them.
    pub checks: Vec<(&'static str, Outcome)>,
    /// The first failure, if any.
    pub error: Option<Error>,
}

impl Explanation {
    /// Whether every check that ran passed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// Records a check's result (the first failure becomes [`Explanation::error`]); whether it passed.
    fn record(&mut self, check: &'static str, result: Result<()>) -> bool {
        match result {
            Ok(()) => {
                self.checks.push((check, Outcome::Passed));
                true
            }
            Err(e) => {
                self.checks.push((check, Outcome::Failed(e.clone())));
                self.error.get_or_insert(e);
                false
            }
        }
    }
}

struct Recorder<'a>(&'a mut Vec<(&'static str, Outcome)>);

impl Observer for Recorder<'_> {
    fn record(&mut self, check: &'static str, result: &Result<()>) {
        let outcome = match result {
            Ok(()) => Outcome::Passed,
            Err(e) => Outcome::Failed(e.clone()),
        };
        self.0.push((check, outcome));
    }
}

impl Guard {
    /// Explains how the server sees a request. With `body`, the body checks run too.
    #[must_use]
    pub fn explain(&self, head: &RequestHead, body: Option<&[u8]>) -> Explanation {
        let (mut ex, parsed) = self.explain_parse(head);
        let Some((head, prepared)) = parsed else { return ex };
        let started = self.begin_prepared(&head, prepared, &mut Recorder(&mut ex.checks), &mut None);
        let mut verification = match started {
            Ok(v) => v,
            Err(e) => {
                ex.error = Some(e);
                return ex;
            }
        };
        let Some(body) = body else {
            ex.checks.push(("body", Outcome::NotRun("no body given to explain")));
            ex.checks.push(("replay", Outcome::NotRun("explain never claims a nonce")));
            return ex;
        };
        let webhook = verification.prepared.webhook.is_some();
        let result = verification.update(body).and_then(|()| verification.finish_body()).map(|pending| {
            // A webhook names no key: the one whose MAC matched is known now.
            if webhook {
                ex.key_id = Some(pending.prepared.key_id.clone());
            }
        });
        ex.record("body", result);
        ex.checks.push(("replay", Outcome::NotRun("explain never claims a nonce")));
        ex
    }

    /// Explains a request without a key, for tools that hold no secret: the same parse, signature
    /// base and checks as [`Guard::explain`], except that the key checks and the MAC are reported
    /// as not run (so an `ok` here says nothing about the signature). With `body`, the body's
    /// length and signed digest are checked, which needs no key.
    #[must_use]
    pub fn explain_without_key(&self, head: &RequestHead, body: Option<&[u8]>) -> Explanation {
        const NO_KEY: &str = "no key given";
        let (mut ex, parsed) = self.explain_parse(head);
        let Some((head, prepared)) = parsed else { return ex };
        let head = &*head;
        let policy = self.policy();
        let now = self.clock().now_secs();
        if !ex.record("nonce format", check_nonce(&prepared, policy)) {
            return ex;
        }
        for check in ["key known", "key valid now", "algorithm agrees"] {
            ex.checks.push((check, Outcome::NotRun(NO_KEY)));
        }
        if !ex.record("timestamp window", check_window(&prepared, policy, now))
            || !ex.record("content-length within limit", check_declared_len(head, policy).map(|_| ()))
        {
            return ex;
        }
        let mac_covers_body = matches!(prepared.body, BodyBinding::InMac);
        ex.checks.push(("signature", Outcome::NotRun("no key given: the MAC cannot be checked")));
        match body {
            None => ex.checks.push(("body", Outcome::NotRun("no body given to explain"))),
            Some(_) if mac_covers_body => ex.checks.push(("body", Outcome::NotRun("the MAC covers the body: needs the key"))),
            Some(body) => {
                let r = body_without_key(head, &prepared, policy, body);
                ex.record("body", r);
            }
        }
        ex.checks.push(("replay", Outcome::NotRun("explain never claims a nonce")));
        ex
    }

    /// The target check and the scheme's parse, with what they reveal about the request, and the
    /// head as the verifier reads it.
    fn explain_parse<'h>(&self, head: &'h RequestHead) -> (Explanation, Option<(Cow<'h, RequestHead>, Prepared)>) {
        let mut ex = Explanation {
            scheme: self.scheme().name(),
            label: None,
            key_id: None,
            covered: Vec::new(),
            signature_base: None,
            created: None,
            expires: None,
            nonce: None,
            algorithm: None,
            tag: None,
            checks: Vec::new(),
            error: None,
        };
        let (prepared, head) = match self.effective_head(head).and_then(|h| Ok((self.prepare(&h)?, h))) {
            Ok(p) => p,
            Err(e) => {
                ex.record("headers parse", Err(e));
                return (ex, None);
            }
        };
        ex.checks.push(("headers parse", Outcome::Passed));
        ex.label.clone_from(&prepared.label);
        ex.key_id = prepared.webhook.is_none().then(|| prepared.key_id.clone());
        ex.covered = prepared.covered.to_vec();
        ex.created = prepared.created;
        ex.expires = prepared.expires;
        ex.nonce.clone_from(&prepared.nonce);
        ex.algorithm = prepared.algorithm;
        ex.tag.clone_from(&prepared.tag);
        ex.signature_base = Some(match &prepared.mac_input {
            MacInput::Base => prepared.covered.text().to_string(),
            MacInput::BodyAppended { prefix, suffix } => {
                format!("{}<body>{}", String::from_utf8_lossy(prefix), String::from_utf8_lossy(suffix))
            }
        });
        (ex, Some((head, prepared)))
    }
}

/// The body checks of `update`/`finish_body`, in their order, for a body the MAC does not cover.
fn body_without_key(head: &RequestHead, prepared: &Prepared, policy: &Policy, body: &[u8]) -> Result<()> {
    let declared = check_declared_len(head, policy)?;
    let seen = body.len() as u64;
    if seen > policy.body_limit {
        return fail(ErrorCode::BodyTooLarge, format!("body exceeds the limit of {} bytes", policy.body_limit));
    }
    if let Some(declared) = declared
        && seen > declared
    {
        return fail(ErrorCode::BodyLengthMismatch, format!("body is longer than Content-Length {declared}"));
    }
    if !body.is_empty() && matches!(prepared.body, BodyBinding::None) {
        return fail(ErrorCode::DigestRequired, "the request has a body but the signature does not bind it");
    }
    if let Some(declared) = declared
        && seen != declared
    {
        return fail(ErrorCode::BodyLengthMismatch, format!("body has {seen} bytes, Content-Length says {declared}"));
    }
    if let BodyBinding::Digest(expected) = &prepared.body {
        let mut hasher = BodyHasher::for_digest(expected);
        hasher.update(body);
        if !hasher.matches_digest(expected) {
            return fail(ErrorCode::DigestMismatch, "body does not match the signed digest");
        }
    }
    Ok(())
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scheme: {}", self.scheme)?;
        if let Some(label) = &self.label {
            writeln!(f, "label: {label}")?;
        }
        if let Some(key_id) = &self.key_id {
            // Bare when unambiguous; otherwise as the sf-string the signature base carries (a
            // space at either end would be invisible, and `"` / `\` read as quoting).
            if key_id.bytes().all(crate::keyring::is_key_id_byte) {
                writeln!(f, "key id: {key_id}")?;
            } else {
                let mut quoted = String::with_capacity(key_id.len() + 8);
                crate::sf::write_string(&mut quoted, key_id);
                writeln!(f, "key id: {quoted}")?;
            }
        }
        if !self.covered.is_empty() {
            writeln!(f, "covered components:")?;
            for (id, value) in &self.covered {
                writeln!(f, "  {id} = {value}")?;
            }
        }
        if let Some(base) = &self.signature_base {
            writeln!(f, "signature base ({} bytes, between the lines, no trailing newline):", base.len())?;
            writeln!(f, "-----")?;
            writeln!(f, "{base}")?;
            writeln!(f, "-----")?;
        }
        writeln!(f, "checks:")?;
        for (name, outcome) in &self.checks {
            let mut line = String::new();
            match outcome {
                Outcome::Passed => {
                    let _ = write!(line, "pass");
                }
                Outcome::Failed(e) => {
                    let _ = write!(line, "FAIL {} ({})", e.code().as_str(), e.reason());
                }
                Outcome::NotRun(why) => {
                    let _ = write!(line, "skip ({why})");
                }
            }
            writeln!(f, "  {name}: {line}")?;
        }
        match &self.error {
            None => write!(f, "verdict: ok"),
            Some(e) => write!(f, "verdict: {} {} — {}", e.status(), e.code().as_str(), e.reason()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Algorithm, KeyRing, KeySpec, ManualClock, Rfc9421, Rfc9421SignOptions, Signer, Simple};

    const SECRET: &[u8] = b"explain-test-secret-0123456789abcdef";

    fn guard(scheme: Arc<dyn crate::Scheme>, keyed: bool) -> Guard {
        let keys = Arc::new(KeyRing::new());
        if keyed {
            keys.upsert(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
        }
        Guard::builder().scheme(scheme).keys(keys).clock(Arc::new(ManualClock::at_secs(1_700_000_000))).build().unwrap()
    }

    fn signed_rfc9421(body: &[u8]) -> RequestHead {
        let head = RequestHead::new("POST", "/orders?id=7", "https", vec![("Host".into(), "api.example.com".into())])
            .with_header("Content-Length", body.len().to_string());
        let opts = Rfc9421SignOptions { created: Some(1_700_000_000), ..Rfc9421SignOptions::default() };
        let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
        let mut head2 = head.clone();
        head2.headers.extend(signer.sign_rfc9421(&head, body, &opts).unwrap());
        head2
    }

    fn outcome<'a>(ex: &'a Explanation, check: &str) -> &'a Outcome {
        &ex.checks.iter().find(|(n, _)| *n == check).unwrap().1
    }

    #[test]
    fn without_a_key_the_mac_is_not_run_and_the_digest_is_checked() {
        let head = signed_rfc9421(b"{\"a\":1}");
        let keyless = guard(Arc::new(Rfc9421::default()), false);
        let ex = keyless.explain_without_key(&head, Some(b"{\"a\":1}"));
        assert!(ex.ok(), "{ex}");
        assert_eq!(ex.signature_base, guard(Arc::new(Rfc9421::default()), true).explain(&head, None).signature_base);
        assert_eq!(ex.created, Some(1_700_000_000));
        assert_eq!(ex.key_id.as_deref(), Some("k1"));
        assert!(matches!(outcome(&ex, "signature"), Outcome::NotRun(_)));
        assert!(matches!(outcome(&ex, "key known"), Outcome::NotRun(_)));
        assert_eq!(outcome(&ex, "body"), &Outcome::Passed);

        // Each failure the keyed explain names, the keyless one names too when it needs no key.
        let keyed = guard(Arc::new(Rfc9421::default()), true);
        for (body, code) in [(&b"{\"a\":2}"[..], ErrorCode::DigestMismatch), (&b"{\"a\":12}"[..], ErrorCode::BodyLengthMismatch)]
        {
            let a = keyless.explain_without_key(&head, Some(body));
            let b = keyed.explain(&head, Some(body));
            assert_eq!(a.error.as_ref().map(Error::code), Some(code), "{a}");
            assert_eq!(b.error.as_ref().map(Error::code), Some(code), "{b}");
        }
        let late = Guard::builder()
            .scheme(Arc::new(Rfc9421::default()))
            .clock(Arc::new(ManualClock::at_secs(1_700_000_000 + 301)))
            .build()
            .unwrap();
        let ex = late.explain_without_key(&head, None);
        assert_eq!(ex.error.as_ref().map(Error::code), Some(ErrorCode::TimestampExpired));
        assert!(!ex.checks.iter().any(|(n, _)| *n == "signature"), "stops at the first failure");
    }

    #[test]
    fn without_a_key_the_simple_scheme_checks_its_content_hash() {
        let signer = Signer::new(KeySpec::new("k1", SECRET, Algorithm::HmacSha256)).unwrap();
        let opts = crate::SimpleSignOptions { timestamp: Some(1_700_000_000), nonce: Some("n0nce-8f3a2c1d".into()) };
        let mut head = RequestHead::new("POST", "/x", "http", vec![("Content-Length".into(), "2".into())]);
        head.headers.extend(signer.sign_simple("POST", "/x", b"{}", &opts).unwrap());
        let g = guard(Arc::new(Simple), false);
        assert!(g.explain_without_key(&head, Some(b"{}")).ok());
        let ex = g.explain_without_key(&head, Some(b"[]"));
        assert_eq!(ex.error.as_ref().map(Error::code), Some(ErrorCode::DigestMismatch));
        assert_eq!(ex.nonce.as_deref(), Some("n0nce-8f3a2c1d"));
    }
}
