//! `Explanation`: the report of `Guard.explain`, check by check.

use hmac_guard::{Explanation, Outcome};
use pyo3::prelude::*;

use crate::convert::{py_opt, py_str};

/// The report of `Guard.explain`. `str(explanation)` is a readable multi-line report.
#[pyclass(frozen, module = "hmac_guard._native", name = "Explanation")]
#[derive(Debug)]
pub(crate) struct PyExplanation {
    /// Scheme name.
    #[pyo3(get)]
    scheme: &'static str,
    /// Signature label (RFC 9421).
    #[pyo3(get)]
    label: Option<String>,
    /// Key id the request names.
    #[pyo3(get)]
    key_id: Option<String>,
    /// Covered components and their values as the server sees them.
    #[pyo3(get)]
    covered: Vec<(String, String)>,
    /// The exact bytes the MAC runs over (`<body>` where the MAC covers the body itself).
    #[pyo3(get)]
    signature_base: Option<String>,
    /// `(check, outcome, detail)`: outcome `pass`, `fail` (detail = error code) or `skip`.
    #[pyo3(get)]
    checks: Vec<(String, String, Option<String>)>,
    /// The first failure's code, or `None`.
    #[pyo3(get)]
    error_code: Option<String>,
    /// The first failure's internal reason, or `None`.
    #[pyo3(get)]
    error_reason: Option<String>,
    text: String,
}

impl From<Explanation> for PyExplanation {
    fn from(ex: Explanation) -> Self {
        let check = |(name, outcome): &(&str, Outcome)| {
            let (kind, detail) = match outcome {
                Outcome::Passed => ("pass", None),
                Outcome::Failed(e) => ("fail", Some(e.code().as_str().to_string())),
                Outcome::NotRun(why) => ("skip", Some((*why).to_string())),
            };
            ((*name).to_string(), kind.to_string(), detail)
        };
        PyExplanation {
            text: ex.to_string(),
            checks: ex.checks.iter().map(check).collect(),
            error_code: ex.error.as_ref().map(|e| e.code().as_str().to_string()),
            error_reason: ex.error.as_ref().map(|e| e.reason().to_string()),
            scheme: ex.scheme,
            label: ex.label,
            key_id: ex.key_id,
            covered: ex.covered,
            signature_base: ex.signature_base,
        }
    }
}

#[pymethods]
impl PyExplanation {
    /// Whether every check that ran passed.
    #[getter]
    fn ok(&self) -> bool {
        self.error_code.is_none()
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Explanation(scheme={}, key_id={}, error_code={})",
            py_str(self.scheme),
            py_opt(self.key_id.as_deref()),
            py_opt(self.error_code.as_deref())
        )
    }
}
