//! The plain option values a binding hands to the core: JS objects and Python keyword arguments
//! translated one to one, with no decision taken on the way.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::clock::ManualClock;

/// One option value as the binding received it.
///
/// Integers that fit an `i64` are [`Value::Int`]; any other number (fractions, infinities, NaN,
/// integers too large) is [`Value::Float`], so the core, not the binding, words the range error.
/// Strings and bytes are wiped on drop: any of them may be a secret.
#[derive(Clone)]
pub enum Value {
    /// JS `null`, Python `None`: the same as leaving the option out.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string; `None` when it is not valid Unicode (a lone surrogate).
    Str(Option<Zeroizing<String>>),
    /// Bytes (`Buffer`, `Uint8Array`, `bytes`, `bytearray`).
    Bytes(Zeroizing<Vec<u8>>),
    /// An array, list or tuple.
    List(Vec<Value>),
    /// An object or dict, entries in the order given.
    Map(Vec<(String, Value)>),
    /// A `ManualClock` of the binding.
    Clock(Arc<ManualClock>),
    /// Anything else, named by its type in the binding's language (`function`, `set`, ...).
    Other(String),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Some(Zeroizing::new(s.into())))
    }

    /// A map from `(name, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// What kind of value this is, for error messages (never the value itself).
    #[must_use]
    pub fn kind(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(_) => "a boolean".into(),
            Value::Int(_) | Value::Float(_) => "a number".into(),
            Value::Str(_) => "a string".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::List(_) => "a list".into(),
            Value::Map(_) => "an object".into(),
            Value::Clock(_) => "a ManualClock".into(),
            Value::Other(t) if t.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {t}"),
            Value::Other(t) => format!("a {t}"),
        }
    }
}

impl fmt::Debug for Value {
    // Never a string's or a byte string's content: any of them may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(n) => write!(f, "Int({n})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::Str(_) => f.write_str("Str([redacted])"),
            Value::Bytes(b) => write!(f, "Bytes([{} bytes redacted])", b.len()),
            Value::List(items) => f.debug_list().entries(items).finish(),
            Value::Map(entries) => f.debug_map().entries(entries.iter().map(|(k, v)| (k, v))).finish(),
            Value::Clock(c) => write!(f, "Clock({:?})", c),
            Value::Other(t) => write!(f, "Other({t})"),
        }
    }
}
