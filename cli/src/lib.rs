//! The `hmac-guard` command-line tool: `sign`, `verify` and `explain` HMAC-signed HTTP requests.
//!
//! One entry point, [`run`], serves the cargo binary and both language packages (the npm `bin`
//! and the Python console script call it through their bindings). It only parses arguments,
//! reads input and formats output: every signing and verification decision is the core's
//! (`hmac_guard::Signer`, `hmac_guard::Guard::verify`, `Guard::explain`).
//!
//! Secrets come only from an environment variable or a file, never from an argument, and never
//! appear in any output; nor does a file path or other value given on the command line in an
//! error message. Text taken from a request is escaped before it is printed (`show`). Exit codes:
//! [`EXIT_OK`], [`EXIT_REJECTED`], [`EXIT_USAGE`], [`EXIT_INCOMPLETE`].

#![forbid(unsafe_code)]

mod args;
mod check;
mod explain;
mod help;
mod input;
mod key;
mod raw;
mod secret;
mod show;
mod sign;
mod verify;
mod webhook;

use std::fmt;
use std::io::{Read, Write};

use args::Command;

/// Success: signed, verified, or explained with a key and every check passing (MAC included).
pub const EXIT_OK: i32 = 0;
/// The request was rejected (`verify`), or a check failed (`explain`); the code is printed.
pub const EXIT_REJECTED: i32 = 1;
/// Usage or input error: bad flags, no secret, unreadable file, malformed raw request.
pub const EXIT_USAGE: i32 = 2;
/// `explain` without a key: every check that needs no key passed, but the signature (MAC) was
/// never checked — the request is not known to be authentic. Never a success: a script that
/// tests for exit 0 must not accept such a request.
pub const EXIT_INCOMPLETE: i32 = 3;

/// Why a command could not run (exit [`EXIT_USAGE`]). Messages never contain a secret.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad command line; the message is followed by a pointer to `--help`.
    Usage { message: String, command: Option<&'static str> },
    /// Unreadable or malformed input, missing secret, bad configuration.
    Input(String),
}

impl Failure {
    pub(crate) fn usage(command: Option<&'static str>, message: impl Into<String>) -> Self {
        Failure::Usage { message: message.into(), command }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Failure::Input(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage { message, command: Some(c) } => {
                write!(f, "{message}\nRun 'hmac-guard {c} --help' for the options.")
            }
            Failure::Usage { message, command: None } => write!(f, "{message}\nRun 'hmac-guard --help' for the commands."),
            Failure::Input(message) => f.write_str(message),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Input(format!("cannot write the output: {e}"))
    }
}

pub(crate) type Outcome = Result<i32, Failure>;

/// Where a command reads and writes; the secret source is `env` or a file named on the command line.
pub(crate) struct Io<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

impl Io<'_> {
    /// A note on stderr (`hmac-guard: note: …`); stdout stays the verdict alone.
    pub(crate) fn note(&mut self, message: &str) {
        let _ = writeln!(self.stderr, "hmac-guard: note: {}", show::line(message));
    }
}

/// [`run`] on the process's own environment, stdin, stdout and stderr (flushed before it
/// returns): what the cargo binary, the npm bin and the Python console script all call.
pub fn run_with_process_io(args: &[String]) -> i32 {
    let env = |name: &str| std::env::var(name).ok();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let code = run(args, &env, &mut std::io::stdin().lock(), &mut stdout, &mut stderr);
    let _ = stdout.flush();
    let _ = stderr.flush();
    code
}

/// Runs the tool with `args` (without the program name) and returns the exit code:
/// [`EXIT_OK`], [`EXIT_REJECTED`], [`EXIT_USAGE`] or (`explain` without a key) [`EXIT_INCOMPLETE`]. Never panics on any input; output is
/// written to `stdout`/`stderr` and flushed before it returns.
pub fn run(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let mut io = Io { env, stdin, stdout, stderr };
    let result = args::parse(args).and_then(|command| match command {
        Command::Help(topic) => {
            io.stdout.write_all(help::text(topic).as_bytes())?;
            Ok(EXIT_OK)
        }
        Command::Version => {
            writeln!(io.stdout, "hmac-guard {}", env!("CARGO_PKG_VERSION"))?;
            Ok(EXIT_OK)
        }
        Command::Sign(a) => sign::run(&a, &mut io),
        Command::Verify(a) => verify::run(&a, &mut io),
        Command::Explain(a) => explain::run(&a, &mut io),
    });
    let code = match result {
        Ok(code) => code,
        Err(failure) => {
            let message = show::redact_args(&failure.to_string(), args);
            let _ = writeln!(io.stderr, "hmac-guard: error: {}", show::lines(&message));
            EXIT_USAGE
        }
    };
    let _ = io.stdout.flush();
    let _ = io.stderr.flush();
    code
}
