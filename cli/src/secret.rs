//! Where a secret comes from: an environment variable or a file, never an argument. The bytes
//! are wiped when dropped, and no message here ever contains them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac_guard::KeySpec;
use zeroize::Zeroizing;

use crate::key::{DEFAULT_SECRET_ENV, KeyArgs, SecretEncoding};
use crate::{Failure, Io, input};

/// Longest secret file read (a secret is tens of bytes; this only bounds a wrong path).
const MAX_SECRET_FILE: usize = 64 * 1024;

/// Secret bytes, wiped on drop, redacted in `Debug`.
pub(crate) struct Secret(Zeroizing<Vec<u8>>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Secret {
    /// Reads the secret named by `key`: `--secret-file PATH`, else the variable `--secret-env
    /// NAME` (default `HMAC_GUARD_SECRET`), then decodes it (`--secret-encoding`).
    pub(crate) fn load(key: &KeyArgs, io: &mut Io<'_>) -> Result<Secret, Failure> {
        let (stored, source) = match (&key.secret_file, &key.secret_env) {
            (Some(_), Some(_)) => {
                return Err(Failure::input("give the secret one way: --secret-file PATH or --secret-env NAME, not both"));
            }
            (Some(path), None) => {
                // The path is never repeated: a secret may have been pasted in its place.
                let bytes =
                    Zeroizing::new(input::read_file(path, MAX_SECRET_FILE, "the --secret-file file").map_err(Failure::input)?);
                (Zeroizing::new(strip_newline(&bytes).to_vec()), "the --secret-file file".to_string())
            }
            (None, env) => {
                let name = env.as_deref().unwrap_or(DEFAULT_SECRET_ENV);
                let Some(value) = (io.env)(name).map(Zeroizing::new) else {
                    return Err(Failure::input(missing_message(name)));
                };
                (Zeroizing::new(value.as_bytes().to_vec()), format!("the environment variable {}", shown_name(name)))
            }
        };
        if stored.is_empty() {
            return Err(Failure::input(format!("the secret in {source} is empty")));
        }
        let bytes = match key.encoding {
            SecretEncoding::Raw => stored,
            SecretEncoding::Hex => Zeroizing::new(
                decode_hex(trimmed(&stored)).ok_or_else(|| Failure::input(format!("the secret in {source} is not valid hex")))?,
            ),
            SecretEncoding::Base64 => Zeroizing::new(
                B64.decode(trimmed(&stored))
                    .map_err(|_| Failure::input(format!("the secret in {source} is not valid base64 (standard alphabet)")))?,
            ),
        };
        Ok(Secret(bytes))
    }

    /// The secret as text, as a webhook provider's dashboard shows it (the core derives the key).
    pub(crate) fn into_text(self) -> Result<Zeroizing<String>, Failure> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => Ok(Zeroizing::new(text.to_string())),
            Err(_) => Err(Failure::input("the webhook secret is not UTF-8 text (give it as the provider's dashboard shows it)")),
        }
    }

    /// A key spec for `key_id` with this secret (consumed, so the bytes live in one place).
    /// A key id that holds the secret, or a part of it, is refused: key ids travel in every
    /// request and appear in output (any sf-string is a valid key id, so a pasted secret would be).
    pub(crate) fn into_spec(self, key: &KeyArgs, key_id: &str, subject: Option<&str>) -> Result<KeySpec, Failure> {
        if holds_part_of(key_id.as_bytes(), &self.0) {
            return Err(Failure::input("--key-id holds the secret or a part of it: key ids are sent in every request"));
        }
        let mut spec = KeySpec::new(key_id, Vec::new(), key.algorithm);
        spec.secret = self.0;
        if let Some(s) = subject {
            spec = spec.with_subject(s);
        }
        Ok(spec)
    }
}

/// Whether `text` contains half the secret or more in one run (at least [`SECRET_PART`] bytes):
/// a pasted secret, not a key id that merely shares a prefix with it.
fn holds_part_of(text: &[u8], secret: &[u8]) -> bool {
    let part = SECRET_PART.max(secret.len() / 2);
    secret.len() >= part && secret.windows(part).any(|w| text.windows(part).any(|t| t == w))
}

/// The shortest run of secret bytes that counts as a part of the secret.
const SECRET_PART: usize = 16;

/// Shortest secret the core accepts; a variable name shorter than this cannot be a secret.
const MIN_SECRET_LEN: usize = 32;

/// A variable name as it may be printed: as given when it is shorter than any secret the core
/// accepts, else a description (a 32-to-64 character "name" may be a secret pasted in its place).
fn shown_name(name: &str) -> String {
    if name.len() < MIN_SECRET_LEN {
        name.to_string()
    } else {
        format!("named by --secret-env (not shown: {} characters long)", name.len())
    }
}

fn missing_message(name: &str) -> String {
    let how = if name.len() < MIN_SECRET_LEN { format!(" (e.g. `read -rs {name} && export {name}`)") } else { String::new() };
    format!(
        "no secret: the environment variable {} is not set. Set it{how}, name another variable with --secret-env NAME, \
         or give --secret-file PATH. Secrets are never accepted as arguments.",
        shown_name(name)
    )
}

/// One trailing `\n` or `\r\n` removed (what `echo` and editors add).
fn strip_newline(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Surrounding ASCII whitespace removed (for the hex and base64 forms only).
fn trimmed(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_newlines() {
        assert_eq!(decode_hex(b"00ff7A"), Some(vec![0, 255, 0x7a]));
        assert_eq!(decode_hex(b"0g"), None);
        assert_eq!(decode_hex(b"abc"), None);
        assert_eq!(strip_newline(b"abc\r\n"), b"abc");
        assert_eq!(strip_newline(b"abc\n\n"), b"abc\n");
        assert_eq!(format!("{:?}", Secret(Zeroizing::new(b"top-secret".to_vec()))), "Secret([redacted])");
    }

    #[test]
    fn shown_names() {
        assert_eq!(shown_name("OTHER_VAR"), "OTHER_VAR");
        assert!(!shown_name(&"S".repeat(40)).contains("SSSS"));
    }
}
