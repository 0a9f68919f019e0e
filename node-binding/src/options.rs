//! JS values as the core's plain option values ([`Value`]), one to one: no option is known here.
//! The core validates them (`GuardConfig::from_options`, `key_spec`) and words every error.

use std::sync::Arc;

use hmac_guard::KeySpec;
use hmac_guard::config::{FIELDS, Spelling, Value, key_spec};
use napi::bindgen_prelude::{
    ArrayBuffer, ClassInstance, FromNapiValue, JavaScriptClassExt, JsObjectValue, Object, TypedArray, Unknown,
};
use napi::{Env, JsString, JsValue, ValueType};
use napi_derive::napi;

use crate::clock::NativeManualClock;
use crate::errors::{Result, guarded};

/// JavaScript's largest exact integer: larger numbers reach the core as `Float`.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// Deeper values are not options (and a cycle must not recurse forever).
const MAX_DEPTH: u32 = 16;

/// A JS value as the core's option value (`undefined` as `Null`: the same as leaving it out).
pub(crate) fn value_of(env: &Env, v: Unknown<'_>) -> Result<Value> {
    convert(env, v, 0).map(|v| v.unwrap_or(Value::Null)).map_err(|e| napi::Error::new(e.status.as_ref().into(), e.reason))
}

/// One key from its JS options, validated by the core as an entry of `keys` is.
pub(crate) fn key_of(env: &Env, v: Unknown<'_>) -> Result<KeySpec> {
    let value = value_of(env, v)?;
    guarded(|| key_spec(&value, Spelling::Node))
}

/// `None` for `undefined`: the entry is left out.
fn convert(env: &Env, v: Unknown<'_>, depth: u32) -> napi::Result<Option<Value>> {
    Ok(Some(match v.get_type()? {
        ValueType::Undefined => return Ok(None),
        ValueType::Null => Value::Null,
        ValueType::Boolean => Value::Bool(bool::from_unknown(v)?),
        ValueType::Number => number(f64::from_unknown(v)?),
        ValueType::String => {
            let utf16 = JsString::from_unknown(v)?.into_utf16()?;
            let units = utf16.as_slice().split_last().map_or(&[][..], |(_nul, s)| s);
            Value::Str(String::from_utf16(units).ok().map(Into::into))
        }
        ValueType::Object => object(env, v, depth)?,
        ValueType::Function => Value::Other("function".into()),
        ValueType::Symbol => Value::Other("symbol".into()),
        ValueType::External => Value::Other("external value".into()),
        // A BigInt (napi-rs names it only with its napi6 feature): its decimal text says it all.
        _ => {
            let text = v.coerce_to_string()?.into_utf8()?.into_owned()?;
            text.parse().map_or_else(|_| Value::Float(text.parse().unwrap_or(f64::NAN)), Value::Int)
        }
    }))
}

/// An integer within ±(2^53 - 1) as `Int`; any other number as `Float` (the core words the error).
fn number(x: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)] // exact: an integer within ±2^53
    if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER { Value::Int(x as i64) } else { Value::Float(x) }
}

fn object(env: &Env, v: Unknown<'_>, depth: u32) -> napi::Result<Value> {
    if depth >= MAX_DEPTH {
        return Ok(Value::Other("object nested too deeply".into()));
    }
    if NativeManualClock::instance_of(env, &v)? {
        return Ok(Value::Clock(Arc::clone(&ClassInstance::<NativeManualClock>::from_unknown(v)?.inner)));
    }
    if v.is_typedarray()? {
        return Ok(Value::Bytes(TypedArray::from_unknown(v)?.arraybuffer.to_vec().into()));
    }
    if v.is_arraybuffer()? {
        return Ok(Value::Bytes(ArrayBuffer::from_unknown(v)?.to_vec().into()));
    }
    let obj = Object::from_unknown(v)?;
    if v.is_array()? {
        let items =
            (0..obj.get_array_length()?).map(|i| Ok(convert(env, obj.get_element(i)?, depth + 1)?.unwrap_or(Value::Null)));
        return Ok(Value::List(items.collect::<napi::Result<_>>()?));
    }
    let proto = obj.get_prototype()?;
    let class = match proto.get_type()? {
        ValueType::Object => Object::from_unknown(proto)?.get_named_property::<Unknown>("constructor")?,
        _ => proto,
    };
    if class.get_type()? != ValueType::Function {
        return map(env, &obj, depth); // Object.create(null)
    }
    let name =
        Object::from_unknown(class)?.get_named_property::<Unknown>("name")?.coerce_to_string()?.into_utf8()?.into_owned()?;
    match name.as_str() {
        "Object" => map(env, &obj, depth),
        // Unix seconds, as keys' notBefore / notAfter count them (an invalid Date is NaN).
        "Date" => Ok(number((v.coerce_to_number()?.get_double()? / 1000.0).floor())),
        "" => Ok(Value::Other("object".into())),
        name => Ok(Value::Other(name.into())),
    }
}

fn map(env: &Env, obj: &Object<'_>, depth: u32) -> napi::Result<Value> {
    let mut entries = Vec::new();
    for name in Object::keys(obj)? {
        if let Some(v) = convert(env, obj.get_named_property(&name)?, depth + 1)? {
            entries.push((name, v));
        }
    }
    Ok(Value::Map(entries))
}

/// One option's canonical id (`policy.max_age_secs`, `key.not_after`) and its Node spelling (a
/// dotted path from the options object; a key's fields: within the key).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ConfigField {
    pub id: String,
    pub name: String,
}

/// Every guard option and key field (the core's `config::FIELDS`), with its Node spelling.
#[napi]
pub fn config_fields() -> Vec<ConfigField> {
    FIELDS.iter().map(|f| ConfigField { id: f.id.into(), name: f.name(Spelling::Node).into() }).collect()
}
