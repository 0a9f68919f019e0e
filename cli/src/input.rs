//! Bounded reads: nothing taken from a file or stdin grows without limit.

use std::fs::File;
use std::io::{self, Read};

/// Reads at most `max` bytes from `reader`; more is an error naming the limit.
pub(crate) fn read_bounded(reader: &mut dyn Read, max: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(limit).read_to_end(&mut out).map_err(|e| format!("cannot read {what}: {}", describe(&e)))?;
    if out.len() > max {
        return Err(format!("{what} is larger than {} (the limit)", size(max)));
    }
    Ok(out)
}

/// Reads a whole file of at most `max` bytes. Messages name the file by `what` ("the input
/// file", "the --secret-file file"), never by its path: a path comes from the command line, where
/// a secret may have been pasted by mistake.
pub(crate) fn read_file(path: &str, max: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {what}: {}", describe(&e)))?;
    read_bounded(&mut file, max, what)
}

/// Reads `path` (called `what` in messages), or stdin for `-` / `None`.
pub(crate) fn read_source(path: Option<&str>, what: &str, stdin: &mut dyn Read, max: usize) -> Result<Vec<u8>, String> {
    match path {
        None | Some("-") => read_bounded(stdin, max, "stdin"),
        Some(p) => read_file(p, max, what),
    }
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}

/// `16 MiB`, `64 KiB`, or bytes.
pub(crate) fn size(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}
