//! Text from a request (or from the core's messages about it) made safe for a terminal: control
//! characters (C0, DEL and the C1 range U+0080–U+009F, e.g. U+009B, a one-character CSI), the
//! Unicode line and paragraph separators and the bidirectional formatting characters are printed
//! as `\u{..}` escapes, so a crafted request cannot move the cursor, recolour, retitle or reorder
//! what the tool prints. A horizontal tab is kept (header values may hold one).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is printed as an escape.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line of text: every unsafe character, including `\n` and `\r`, escaped.
pub(crate) fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Several lines: each escaped as by [`line`], the `\n` between them kept.
pub(crate) fn lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(line).collect::<Vec<_>>().join("\n"))
}

/// Arguments at least this long may be a secret (the core's minimum length).
const MAY_BE_SECRET: usize = 32;
/// Shortest piece of such an argument that is looked for.
const MIN_PIECE: usize = 12;

/// `message` without any long command-line value in it: the last line of defence for errors the
/// core words with a value it was given (`component name "…"`, `key id "…"`). Every argument of
/// [`MAY_BE_SECRET`] characters or more is a candidate, whole, cut at spaces, commas, colons,
/// semicolons and quotes (as `--components` and `-H` split it), and cut to the 64 characters the
/// core keeps of a long value; a candidate of [`MIN_PIECE`] characters or more found in
/// `message` is replaced.
pub(crate) fn redact_args(message: &str, args: &[String]) -> String {
    let mut candidates: Vec<&str> = Vec::new();
    for arg in args.iter().filter(|a| a.chars().count() >= MAY_BE_SECRET) {
        let value = arg.split_once('=').filter(|(opt, _)| opt.starts_with("--")).map_or(arg.as_str(), |(_, v)| v);
        candidates.push(value);
        candidates.extend(value.split([' ', '\t', '\n', '\r', ',', ':', ';', '"']));
    }
    let mut cut: Vec<&str> = candidates.iter().filter_map(|c| c.char_indices().nth(64).map(|(i, _)| &c[..i])).collect();
    candidates.append(&mut cut);
    candidates.retain(|c| c.chars().count() >= MIN_PIECE);
    candidates.sort_by_key(|c| std::cmp::Reverse(c.len()));
    let mut out = message.to_string();
    for c in candidates {
        if out.contains(c) {
            out = out.replace(c, "(a value from the command line, not shown)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(line("/orders?id=7"), "/orders?id=7");
        assert!(matches!(line("plain\ttab é ü"), Cow::Borrowed(_)));
        assert_eq!(line("/a\u{9b}31mb"), "/a\\u{9b}31mb");
        assert_eq!(line("x\u{1b}[2Jy\u{7f}"), "x\\u{1b}[2Jy\\u{7f}");
        assert_eq!(line("a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(line("\u{202e}txt.exe\u{2028}"), "\\u{202e}txt.exe\\u{2028}");
        assert_eq!(lines("one\ntwo\u{85}\nthree"), "one\ntwo\\u{85}\nthree");
        assert!(matches!(lines("one\ntwo"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_arguments_are_not_repeated_in_errors() {
        let secret = "cli-test-secret-0123456789abcdef-XYZ";
        let args = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let a = args(&["sign", "--components", &format!("@method,{secret} tail-piece-long"), "http://h/"]);
        let m = redact_args(&format!("component name {secret:?} must be a lowercase field name"), &a);
        assert!(!m.contains("cli-test-secret") && m.contains("not shown") && m.contains("lowercase field name"), "{m}");
        let long = "k".repeat(80);
        let m = redact_args(&format!("key id {:?} is bad", format!("{}…", &long[..64])), &args(&["--key-id", &long]));
        assert!(!m.contains("kkkkkkkkkkkk"), "{m}");
        let a = args(&[&format!("--key-id={secret}")]);
        assert!(!redact_args(&format!("key id {secret:?}"), &a).contains(secret));
        // Short values and option names stay: they cannot be a secret.
        let a = args(&["--secret-env", "HMAC_GUARD_SECRET", "--secret-file", "/tmp/x"]);
        let m = "the environment variable HMAC_GUARD_SECRET is not set; --secret-file";
        assert_eq!(redact_args(m, &a), m);
    }
}
