//! `hmac-guard`: sign, verify and explain HMAC-signed HTTP requests. See `hmac-guard --help`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(a) => args.push(a),
            Err(_) => {
                eprintln!("hmac-guard: error: arguments must be valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let code = hmac_guard_cli::run_with_process_io(&args);
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
