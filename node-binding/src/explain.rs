//! `explain`: what the server computes for a request, check by check, as a JS object.

use hmac_guard::{Explanation, Outcome};
use napi_derive::napi;

use crate::errors::ErrorValue;
use crate::verified::CoveredComponent;

/// One check of an explanation.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplainCheck {
    /// Check name, e.g. `timestamp window`.
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub outcome: String,
    /// The error code when failed.
    pub code: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

/// The explanation of a request.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplanationResult {
    /// Whether every check that ran passed.
    pub ok: bool,
    /// Scheme name.
    pub scheme: String,
    /// Signature label.
    pub label: Option<String>,
    /// Key id the request names.
    pub key_id: Option<String>,
    /// Covered components and their values as the server sees them.
    pub covered: Vec<CoveredComponent>,
    /// The exact bytes the MAC runs over.
    pub signature_base: Option<String>,
    /// The checks in the verifier's order.
    pub checks: Vec<ExplainCheck>,
    /// The first failure.
    pub error: Option<ErrorValue>,
    /// A human-readable report.
    pub text: String,
}

impl From<Explanation> for ExplanationResult {
    fn from(ex: Explanation) -> Self {
        let text = ex.to_string();
        ExplanationResult {
            ok: ex.ok(),
            scheme: ex.scheme.to_string(),
            label: ex.label,
            key_id: ex.key_id,
            covered: ex.covered.into_iter().map(|(id, value)| CoveredComponent { id, value }).collect(),
            signature_base: ex.signature_base,
            checks: ex
                .checks
                .into_iter()
                .map(|(name, outcome)| {
                    let (outcome, code, reason) = match outcome {
                        Outcome::Passed => ("passed", None, None),
                        Outcome::Failed(e) => ("failed", Some(e.code().as_str().to_string()), Some(e.reason().to_string())),
                        Outcome::NotRun(why) => ("skipped", None, Some(why.to_string())),
                    };
                    ExplainCheck { name: name.to_string(), outcome: outcome.to_string(), code, reason }
                })
                .collect(),
            error: ex.error.as_ref().map(ErrorValue::from),
            text,
        }
    }
}
