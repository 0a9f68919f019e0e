//! The environment variables hmac-guard reads: here, and nowhere else.

use std::ffi::OsString;
use std::fmt;

use crate::error::{Error, ErrorCode, Result};

/// Selects the Redis replay store when the options name none.
pub const REDIS_URL_ENV: &str = "HMAC_GUARD_REDIS_URL";
/// A PEM file with the private CA of a `rediss://` Redis, when the options give none.
pub const REDIS_TLS_CA_FILE_ENV: &str = "HMAC_GUARD_REDIS_TLS_CA_FILE";

type Lookup = dyn Fn(&str) -> Option<OsString> + Send + Sync;

/// Where environment variables come from: the process, or a fixed table in tests.
pub struct Env {
    lookup: Box<Lookup>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

impl Env {
    /// The process environment.
    #[must_use]
    pub fn process() -> Env {
        Env { lookup: Box::new(|name| std::env::var_os(name)) }
    }

    /// A fixed table (for tests): every other variable is unset.
    #[must_use]
    pub fn fixed(vars: &[(&str, &str)]) -> Env {
        let vars: Vec<(String, OsString)> = vars.iter().map(|(k, v)| ((*k).to_string(), OsString::from(*v))).collect();
        Env { lookup: Box::new(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())) }
    }

    /// A variable's value; unset and empty are the same. Not UTF-8 is an error naming the variable.
    pub(crate) fn var(&self, name: &str) -> Result<Option<String>> {
        match (self.lookup)(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => {
                v.into_string().map(Some).map_err(|_| Error::new(ErrorCode::InvalidConfig, format!("{name} is not valid UTF-8")))
            }
        }
    }

    /// The file a variable names, read; an unreadable file is an error naming the variable and
    /// the path, never anything of the contents.
    pub(crate) fn file(&self, name: &str) -> Result<Option<(Vec<u8>, String)>> {
        let Some(path) = self.var(name)? else { return Ok(None) };
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some((bytes, path))),
            Err(e) => Err(Error::new(
                ErrorCode::InvalidConfig,
                format!("{name} names a file that cannot be read ({path}: {})", e.kind()),
            )),
        }
    }
}
