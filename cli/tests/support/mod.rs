//! What the CLI test files share: running the tool in process with a given environment and
//! stdin, and files under the target's temporary folder.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use hmac_guard_cli::run;

/// One run's exit code and output.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stdout and stderr together (for "never shows the secret" checks).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `hmac-guard args…` with exactly the environment `env` and `stdin` as its input.
pub fn cli_env(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Out {
    let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let mut input = stdin;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(&args, &lookup, &mut input, &mut stdout, &mut stderr);
    Out { code, stdout: String::from_utf8(stdout).unwrap(), stderr: String::from_utf8(stderr).unwrap() }
}

/// A fresh folder of its own under the target's temporary folder.
pub fn temp_dir() -> PathBuf {
    let suffix = hmac_guard::random_nonce().unwrap().replace(['-', '_'], "x");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{}-{suffix}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `content` to a new file named `name`; returns its path.
pub fn write_file(name: &str, content: &[u8]) -> String {
    let path = temp_dir().join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}
