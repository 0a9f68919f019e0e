//! `run_cli(argv)`: the `hmac-guard` console script (`hmac_guard._cli:main`), the CLI crate's
//! tool on the process's real stdin, stdout and stderr, with the GIL released (it may block).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::str_arg;
use crate::errors;

/// Runs `hmac-guard` with `argv` (the arguments after the program name) on the process's stdin,
/// stdout and stderr; returns the exit code (0 ok, 1 rejected, 2 usage or input error, 3 `explain`
/// incomplete: no key, the signature was not checked). Output is flushed before it returns. A
/// Rust panic becomes `InternalError`, and an argument that is not valid Unicode (a byte that is
/// not UTF-8, surrogate-escaped by Python) a `ValueError` naming its position, never its text;
/// `hmac_guard._cli.main` turns both into exit 2, never 1 ("rejected").
#[pyfunction]
pub(crate) fn run_cli(py: Python<'_>, argv: Vec<Bound<'_, PyAny>>) -> PyResult<i32> {
    let arg = |(i, a): (usize, &Bound<'_, PyAny>)| {
        let name = format!("argv[{i}]");
        str_arg(a, &name)?.to_cow().map(String::from).map_err(|_| PyValueError::new_err(format!("{name} is not valid UTF-8")))
    };
    let argv = argv.iter().enumerate().map(arg).collect::<PyResult<Vec<_>>>()?;
    errors::shield(py, || Ok(py.detach(|| hmac_guard_cli::run_with_process_io(&argv))))
}
