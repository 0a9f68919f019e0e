//! `runCli(argv)`: the `hmac-guard` tool of `bin/hmac-guard.js` (the CLI crate's, shared with the
//! cargo binary and the Python console script) on the process's real stdin, stdout and stderr.

use std::io::Write as _;

use napi_derive::napi;

use crate::errors::guarded;

/// Runs `hmac-guard` with `argv` (after the script name); returns the exit code (0 ok, 1 rejected,
/// 2 usage or input error or a caught panic, 3 `explain` without a key). Blocks while it reads
/// stdin: for the bin, not a server. Output is flushed before it returns.
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
