//! Options as given, sorted by canonical id, and typed reads that word every error with the
//! option's name in the binding's own spelling — never with a value that could be a secret.

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::fields::{FIELDS, Spelling, field, is_key_field, suggestion};
use super::value::Value;
use crate::clock::ManualClock;
use crate::error::{Error, ErrorCode, Result};

/// A configuration error about one option.
pub(crate) fn invalid(name: &str, problem: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InvalidConfig, format!("{name} {problem}"))
}

/// A name the user typed, shown only when it looks like an option name and is shorter than any
/// secret the core accepts (a secret used as a name must not come back in the error).
fn shown(name: &str) -> String {
    if !name.is_empty()
        && name.len() < crate::keyring::MIN_SECRET_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        format!("{name:?}")
    } else {
        "(a name that is not shown)".into()
    }
}

fn unknown(name: &str, known: impl Iterator<Item = &'static str>) -> Error {
    let hint = suggestion(name, known).map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default();
    Error::new(ErrorCode::InvalidConfig, format!("unknown option {}{hint}", shown(name)))
}

/// One object of options (the guard's, or one key's): its values by canonical id.
pub(crate) struct Options<'a> {
    spelling: Spelling,
    /// Prefix of every name in errors (`keys[2].` for a key's fields).
    prefix: String,
    given: HashMap<&'static str, &'a Value>,
}

impl<'a> Options<'a> {
    /// The guard's options: a map whose names are spelled as `spelling` says. Null values count
    /// as absent; an unknown name is an error that suggests the closest known one.
    pub(crate) fn guard(options: &'a Value, spelling: Spelling) -> Result<Self> {
        let mut out = Options { spelling, prefix: String::new(), given: HashMap::new() };
        let entries = match options {
            Value::Map(entries) => entries.as_slice(),
            Value::Null => &[],
            other => {
                return Err(Error::new(ErrorCode::InvalidConfig, format!("options must be an object, not {}", other.kind())));
            }
        };
        let guard_fields = || FIELDS.iter().filter(|f| !is_key_field(f.id)).map(move |f| f.name(spelling));
        for (name, value) in entries {
            let group = spelling == Spelling::Node && (name == "policy" || name == "replayStore");
            if group {
                let inner = match value {
                    Value::Map(inner) => inner.as_slice(),
                    Value::Null => &[],
                    other => return Err(invalid(name, format_args!("must be an object, not {}", other.kind()))),
                };
                for (sub, v) in inner {
                    out.insert(&format!("{name}.{sub}"), v, guard_fields())?;
                }
            } else {
                out.insert(name, value, guard_fields())?;
            }
        }
        Ok(out)
    }

    /// One key's fields; `at` is its position, for error names (`keys[0].secret`).
    pub(crate) fn key(value: &'a Value, spelling: Spelling, at: Option<usize>) -> Result<Self> {
        let prefix = at.map_or_else(|| "key.".to_string(), |i| format!("{}[{i}].", field("keys").name(spelling)));
        let mut out = Options { spelling, prefix, given: HashMap::new() };
        let Value::Map(entries) = value else {
            let name = out.prefix.trim_end_matches('.').to_string();
            return Err(invalid(&name, format_args!("must be an object {{id, secret, ...}}, not {}", value.kind())));
        };
        let key_fields = || FIELDS.iter().filter(|f| is_key_field(f.id)).map(move |f| f.name(spelling));
        for (name, v) in entries {
            let Some(f) = FIELDS.iter().find(|f| is_key_field(f.id) && f.name(spelling) == name) else {
                let e = unknown(name, key_fields());
                return Err(Error::new(e.code(), format!("{}: {}", out.prefix.trim_end_matches('.'), e.reason())));
            };
            if !matches!(v, Value::Null) {
                out.given.insert(f.id, v);
            }
        }
        Ok(out)
    }

    fn insert(&mut self, name: &str, value: &'a Value, known: impl Iterator<Item = &'static str>) -> Result<()> {
        let spelling = self.spelling;
        let Some(f) = FIELDS.iter().find(|f| !is_key_field(f.id) && f.name(spelling) == name) else {
            return Err(unknown(name, known));
        };
        if !matches!(value, Value::Null) {
            self.given.insert(f.id, value);
        }
        Ok(())
    }

    /// How the options are spelled.
    pub(crate) fn spelling(&self) -> Spelling {
        self.spelling
    }

    /// The option's name as the user spells it, with its prefix.
    pub(crate) fn name(&self, id: &str) -> String {
        format!("{}{}", self.prefix, field(id).name(self.spelling))
    }

    /// Whether the option was given (and not null).
    pub(crate) fn has(&self, id: &str) -> bool {
        self.given.contains_key(id)
    }

    /// The raw value, when given.
    pub(crate) fn raw(&self, id: &str) -> Option<&'a Value> {
        self.given.get(id).copied()
    }

    fn wrong_type(&self, id: &str, expected: &str, got: &Value) -> Error {
        invalid(&self.name(id), format_args!("must be {expected}, not {}", got.kind()))
    }

    /// An integer in `min..=max`.
    pub(crate) fn int(&self, id: &str, min: i64, max: i64) -> Result<Option<i64>> {
        let range = || invalid(&self.name(id), format_args!("must be an integer from {min} to {max}"));
        match self.raw(id) {
            None => Ok(None),
            Some(Value::Int(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(Value::Int(n)) => Err(Error::new(ErrorCode::InvalidConfig, format!("{} (got {n})", range().reason()))),
            Some(Value::Float(_)) => Err(range()),
            Some(other) => Err(self.wrong_type(id, "an integer", other)),
        }
    }

    /// An integer in `min..=max`, as the setting's own type.
    pub(crate) fn int_as<T: TryFrom<i64>>(&self, id: &str, min: i64, max: i64) -> Result<Option<T>> {
        Ok(self.int(id, min, max)?.and_then(|n| T::try_from(n).ok()))
    }

    /// A boolean.
    pub(crate) fn bool(&self, id: &str) -> Result<Option<bool>> {
        match self.raw(id) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(id, "true or false", other)),
        }
    }

    /// A string (never echoed in errors: it could be a secret put in the wrong place).
    pub(crate) fn string(&self, id: &str) -> Result<Option<String>> {
        match self.raw(id) {
            None => Ok(None),
            Some(v) => self.as_string(id, v).map(Some),
        }
    }

    fn as_string(&self, id: &str, v: &Value) -> Result<String> {
        match v {
            Value::Str(Some(s)) => Ok(String::clone(s)),
            Value::Str(None) => Err(invalid(&self.name(id), "is not valid Unicode (it holds a lone surrogate)")),
            other => Err(self.wrong_type(id, "a string", other)),
        }
    }

    /// One of a fixed set of words.
    pub(crate) fn choice(&self, id: &str, allowed: &[&'static str]) -> Result<Option<&'static str>> {
        let Some(s) = self.string(id)? else { return Ok(None) };
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Ok(Some(a)),
            None => Err(invalid(&self.name(id), format_args!("must be one of {}", allowed.join(", ")))),
        }
    }

    /// A list of strings.
    pub(crate) fn strings(&self, id: &str) -> Result<Option<Vec<String>>> {
        match self.raw(id) {
            None => Ok(None),
            Some(Value::List(items)) => items.iter().map(|v| self.as_string(id, v)).collect::<Result<_>>().map(Some),
            Some(other) => Err(self.wrong_type(id, "a list of strings", other)),
        }
    }

    /// Bytes, or a string taken as its UTF-8 bytes; wiped on drop.
    pub(crate) fn bytes(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.raw(id) {
            None => Ok(None),
            Some(Value::Bytes(b)) => Ok(Some(b.clone())),
            Some(Value::Str(Some(s))) => Ok(Some(Zeroizing::new(s.as_bytes().to_vec()))),
            Some(Value::Str(None)) => Err(invalid(&self.name(id), "is not valid Unicode (it holds a lone surrogate)")),
            Some(other) => Err(self.wrong_type(id, "bytes or a string", other)),
        }
    }

    /// A `ManualClock`.
    pub(crate) fn clock(&self, id: &str) -> Result<Option<Arc<ManualClock>>> {
        match self.raw(id) {
            None => Ok(None),
            Some(Value::Clock(c)) => Ok(Some(Arc::clone(c))),
            Some(other) => Err(self.wrong_type(id, "a ManualClock", other)),
        }
    }

    /// A list of objects.
    pub(crate) fn list(&self, id: &str) -> Result<Option<&'a [Value]>> {
        match self.raw(id) {
            None => Ok(None),
            Some(Value::List(items)) => Ok(Some(items.as_slice())),
            Some(other) => Err(self.wrong_type(id, "a list", other)),
        }
    }
}
