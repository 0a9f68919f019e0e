//! `runCli(argv)`: the `hmac-guard` command-line tool (`bin/hmac-guard.js`). The tool itself is
//! `hmac_guard_cli::run`, shared with the cargo binary and the Python console script; this only
//! hands it the process's real stdin, stdout and stderr.

use std::io::Write as _;

use napi_derive::napi;

use crate::errors::guarded;

/// Runs `hmac-guard` with `argv` (the arguments after the script name) on the process's stdin,
/// stdout and stderr, and returns the exit code (0 ok, 1 rejected, 2 usage or input error,
/// 3 `explain` without a key: the signature was not checked).
/// Synchronous: it blocks the calling thread while it reads stdin, so it is for the `hmac-guard`
/// bin, not for a server. Output is flushed before it returns; a panic is caught and reported
/// as exit code 2, never unwound into Node.
#[napi(js_name = "runCli")]
pub fn run_cli(argv: Vec<String>) -> i32 {
    let result = guarded(|| Ok(hmac_guard_cli::run_with_process_io(&argv)));
    result.unwrap_or_else(|_| {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "hmac-guard: error: internal error (caught in the native addon)");
        let _ = stderr.flush();
        hmac_guard_cli::EXIT_USAGE
    })
}
