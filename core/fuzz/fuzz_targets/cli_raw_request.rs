//! The CLI's `verify` and `explain` on arbitrary stdin (a raw HTTP request, as captured or typed):
//! never a panic, always one of the documented exit codes, and never the secret in any output.
#![no_main]

use hmac_guard_cli::{EXIT_INCOMPLETE, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, run};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

fuzz_target!(|input: (bool, bool, &[u8])| {
    let (explain, simple, request) = input;
    let mut args: Vec<String> = vec![if explain { "explain" } else { "verify" }.into(), "--key-id".into(), "k1".into()];
    if simple {
        args.extend(["--scheme".into(), "simple".into()]);
    }
    args.extend(["--at".into(), "1700000000".into(), "-".into()]);
    let env = |name: &str| (name == "HMAC_GUARD_SECRET").then(|| SECRET.to_string());
    let (mut stdin, mut stdout, mut stderr) = (request, Vec::new(), Vec::new());
    let code = run(&args, &env, &mut stdin, &mut stdout, &mut stderr);
    assert!([EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INCOMPLETE].contains(&code), "exit code {code}");
    for out in [&stdout, &stderr] {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains(SECRET), "the secret was printed");
    }
});
