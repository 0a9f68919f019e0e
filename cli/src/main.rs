//! `hmac-guard`: sign, verify and explain HMAC-signed HTTP requests. See `hmac-guard --help`.

#![forbid(unsafe_code)]

use std::io::Write as _;
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
    let env = |name: &str| std::env::var(name).ok();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let code = hmac_guard_cli::run(&args, &env, &mut std::io::stdin().lock(), &mut stdout, &mut stderr);
    let _ = stdout.flush();
    let _ = stderr.flush();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
