//! Python values -> the core's plain option values ([`Value`]), one to one: every name, type,
//! range, default and combination is decided (and its error worded) by `hmac_guard::config`.

use std::sync::Arc;

use hmac_guard::config::Value;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyMemoryView, PySequence, PyString, PyTuple, PyType,
};
use zeroize::Zeroizing;

use crate::clock::PyManualClock;
use crate::convert::type_name;

/// Containers nested deeper than this are not read (no option goes past 3; a list may contain
/// itself): the core then refuses the value by its type.
const MAX_DEPTH: usize = 8;

/// A Python value as an option value: `None` null, `bool`, `int` (one past `i64` as a float, so
/// the core words the range error), `float`, `str` (`Str(None)` for a lone surrogate), bytes-like,
/// `list`/`tuple`, `dict`/any mapping (entries in order), `ManualClock`, a callable that is not a
/// class as `function` (the kind the core expects of a hook); anything else is named by its type.
pub(crate) fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    value(obj, 0)
}

fn value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(match obj.extract::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Float(obj.extract::<f64>().unwrap_or(if obj.lt(0)? { f64::NEG_INFINITY } else { f64::INFINITY })),
        });
    }
    if let Ok(x) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(x.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Str(s.to_cow().ok().map(|text| Zeroizing::new(text.into_owned()))));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Bytes(Zeroizing::new(b.as_bytes().to_vec())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Bytes(Zeroizing::new(b.to_vec())));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        return value(&obj.call_method0("tobytes")?, depth);
    }
    if let Ok(clock) = obj.cast::<PyManualClock>() {
        return Ok(Value::Clock(Arc::clone(&clock.get().inner)));
    }
    if depth < MAX_DEPTH {
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() || obj.cast::<PySequence>().is_ok() {
            return obj.try_iter()?.map(|item| value(&item?, depth + 1)).collect::<PyResult<_>>().map(Value::List);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            return d.iter().map(|(k, v)| Ok((name(&k), value(&v, depth + 1)?))).collect::<PyResult<_>>().map(Value::Map);
        }
        if let Ok(m) = obj.cast::<PyMapping>() {
            let entries = m.items()?.iter().map(|item| {
                let (k, v) = item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
                Ok((name(&k), value(&v, depth + 1)?))
            });
            return entries.collect::<PyResult<_>>().map(Value::Map);
        }
    }
    if obj.is_callable() && !obj.is_instance_of::<PyType>() {
        return Ok(Value::Other("function".into()));
    }
    Ok(Value::Other(type_name(obj)))
}

/// A mapping's key: a `str` as it is, anything else as a name no option has (the core shows
/// only names that look like option names).
fn name(key: &Bound<'_, PyAny>) -> String {
    key.cast::<PyString>().ok().and_then(|s| s.to_cow().ok()).map_or_else(|| format!("<{}>", type_name(key)), String::from)
}
