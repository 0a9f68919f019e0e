//! Which key a command uses and where its secret comes from, as given on the command line. The
//! parser (`args`) fills these in and the loader (`secret`) reads them; neither uses the other.

use hmac_guard::Algorithm;

/// The environment variable read when `--secret-env` is not given.
pub(crate) const DEFAULT_SECRET_ENV: &str = "HMAC_GUARD_SECRET";

/// How the secret's bytes are written where it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretEncoding {
    /// The bytes as they are (UTF-8 text).
    Raw,
    Hex,
    Base64,
}

/// Which key, and where its secret comes from.
#[derive(Debug, Clone)]
pub(crate) struct KeyArgs {
    pub key_id: Option<String>,
    pub algorithm: Algorithm,
    /// `--secret-env NAME`; `None` means the default, [`DEFAULT_SECRET_ENV`].
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    pub encoding: SecretEncoding,
}

impl Default for KeyArgs {
    fn default() -> Self {
        KeyArgs {
            key_id: None,
            algorithm: Algorithm::HmacSha256,
            secret_env: None,
            secret_file: None,
            encoding: SecretEncoding::Raw,
        }
    }
}

/// Whether `name` can be given to `--secret-env`: `[A-Za-z_][A-Za-z0-9_]{0,63}`, a portable
/// environment variable name. Anything else is refused without being repeated (it may be the
/// secret itself, pasted where its variable's name belongs).
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.len() <= 64
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        for good in ["HMAC_GUARD_SECRET", "_x", "a", "MY_KEY_2", &"A".repeat(64)] {
            assert!(is_env_name(good), "{good}");
        }
        for bad in ["", "1ABC", "MY-KEY", "A=B", "A B", "é", "A\0", &"A".repeat(65), "s3cr3t/with+base64=="] {
            assert!(!is_env_name(bad), "{bad}");
        }
        assert!(is_env_name(DEFAULT_SECRET_ENV));
    }
}
