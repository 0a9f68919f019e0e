//! `explain`: what the server computes for a request, check by check, as a JS object.

use hmac_guard::{Explanation, Outcome};
use napi_derive::napi;

use crate::errors::ErrorValue;
use crate::verified::CoveredComponent;

/// One check of an explanation: its name, `passed`/`failed`/`skipped`, the error code when
/// failed, and why it failed or was skipped.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplainCheck {
    pub name: String,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
}

/// The explanation of a request, as the core's `Explanation` (`text`: its readable report).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ExplanationResult {
    pub ok: bool,
    pub scheme: String,
    pub label: Option<String>,
    pub key_id: Option<String>,
    pub covered: Vec<CoveredComponent>,
    pub signature_base: Option<String>,
    pub checks: Vec<ExplainCheck>,
    pub error: Option<ErrorValue>,
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
