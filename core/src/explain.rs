//! "Why doesn't my signature match?": what the server computed, check by check.
//!
//! Runs the verifier's own checks (the same code, with an observer) and reports the signature
//! base, the covered components and each check's outcome. It never reports a secret or the
//! expected MAC, and never claims a nonce.

use std::fmt::{self, Write as _};

use crate::error::Error;
use crate::request::RequestHead;
use crate::scheme::MacInput;
use crate::verifier::{Guard, Observer};

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
}

struct Recorder<'a>(&'a mut Vec<(&'static str, Outcome)>);

impl Observer for Recorder<'_> {
    fn record(&mut self, check: &'static str, result: &crate::Result<()>) {
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
        let mut ex = Explanation {
            scheme: self.scheme().name(),
            label: None,
            key_id: None,
            covered: Vec::new(),
            signature_base: None,
            checks: Vec::new(),
            error: None,
        };
        let prepared = match self.prepare(head) {
            Ok(p) => p,
            Err(e) => {
                ex.checks.push(("headers parse", Outcome::Failed(e.clone())));
                ex.error = Some(e);
                return ex;
            }
        };
        ex.checks.push(("headers parse", Outcome::Passed));
        ex.label.clone_from(&prepared.label);
        ex.key_id = Some(prepared.key_id.clone());
        ex.covered = prepared.covered.to_vec();
        ex.signature_base = Some(match &prepared.mac_input {
            MacInput::Base => prepared.covered.text().to_string(),
            MacInput::BodyAppended { prefix, suffix } => {
                format!("{}<body>{}", String::from_utf8_lossy(prefix), String::from_utf8_lossy(suffix))
            }
        });
        let started = self.begin_prepared(head, prepared, &mut Recorder(&mut ex.checks));
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
        let result = verification.update(body).and_then(|()| verification.finish_body().map(|_| ()));
        match result {
            Ok(()) => ex.checks.push(("body", Outcome::Passed)),
            Err(e) => {
                ex.checks.push(("body", Outcome::Failed(e.clone())));
                ex.error = Some(e);
            }
        }
        ex.checks.push(("replay", Outcome::NotRun("explain never claims a nonce")));
        ex
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scheme: {}", self.scheme)?;
        if let Some(label) = &self.label {
            writeln!(f, "label: {label}")?;
        }
        if let Some(key_id) = &self.key_id {
            writeln!(f, "key id: {key_id}")?;
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
