//! The configuration parity suite (tests/parity/config.json), in both spellings: the same cases
//! run through the Node and Python bindings, which must reach the same verdicts.

use hmac_guard::config::{Env, Spelling, Value, field};
use hmac_guard::{ErrorCode, GuardConfig};
use serde_json::Value as Json;

fn cases() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/parity/config.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read config.json")).expect("parse config.json")
}

/// A case's JSON value as a binding would hand it over (`$`-objects encode what JSON cannot say).
fn value(v: &Json, secret: &str) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n.as_i64().map_or_else(|| Value::Float(n.as_f64().expect("number")), Value::Int),
        Json::String(s) => Value::str(s.replace("$secret", secret)),
        Json::Array(items) => Value::List(items.iter().map(|i| value(i, secret)).collect()),
        Json::Object(m) => match m.get("$").and_then(Json::as_str) {
            Some("infinity") => Value::Float(f64::INFINITY),
            Some("nan") => Value::Float(f64::NAN),
            Some("int") => Value::Float(m["value"].as_str().expect("digits").parse().expect("int")),
            Some("lone-surrogate") => Value::Str(None),
            Some("bytes") => Value::Bytes(zeroize::Zeroizing::new(hex(m["hex"].as_str().expect("hex")))),
            Some("clock") => Value::Clock(std::sync::Arc::new(hmac_guard::ManualClock::at_secs(m["at"].as_i64().expect("at")))),
            // What a binding's converter makes of a function and of a logger object.
            Some("function") => Value::Other("function".into()),
            Some("logger") => Value::Other("Logger".into()),
            Some(other) => panic!("unknown encoding {other}"),
            None => Value::Map(m.iter().map(|(k, v)| (k.clone(), value(v, secret))).collect()),
        },
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// Canonical options (`policy.max_age_secs`, keys with canonical field names) in a spelling.
fn spelled_options(options: &Json, spelling: Spelling, secret: &str) -> Value {
    let mut top: Vec<(String, Value)> = Vec::new();
    for (id, v) in options.as_object().expect("options object") {
        let v = if id == "keys" && v.is_array() {
            Value::List(v.as_array().expect("array").iter().map(|k| spelled_key(k, spelling, secret)).collect())
        } else {
            value(v, secret)
        };
        let name = field(id).name(spelling);
        assert_ne!(name, "?", "unknown canonical id {id}");
        match name.split_once('.') {
            Some((group, inner)) => match top.iter_mut().find(|(k, _)| k == group) {
                Some((_, Value::Map(m))) => m.push((inner.to_string(), v)),
                _ => top.push((group.to_string(), Value::map([(inner, v)]))),
            },
            None => top.push((name.to_string(), v)),
        }
    }
    Value::Map(top)
}

fn spelled_key(key: &Json, spelling: Spelling, secret: &str) -> Value {
    match key.as_object() {
        Some(m) => {
            Value::Map(m.iter().map(|(k, v)| (field(&format!("key.{k}")).name(spelling).to_string(), value(v, secret))).collect())
        }
        None => value(key, secret),
    }
}

/// A field path of a case (`keys[0].not_after`, `policy.body_limit`) as the spelling writes it.
fn spelled_path(path: &str, spelling: Spelling) -> String {
    match path.split_once("].") {
        Some((keys, rest)) => format!("{keys}].{}", field(&format!("key.{rest}")).name(spelling)),
        None if path.starts_with("keys[") => path.to_string(),
        None => field(path).name(spelling).to_string(),
    }
}

#[test]
fn every_config_case_in_both_spellings() {
    let doc = cases();
    let secret = doc["secret"].as_str().expect("secret");
    let mut ran = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        for (spelling, lang) in [(Spelling::Node, "node"), (Spelling::Python, "python")] {
            let options = match case.get("raw") {
                Some(raw) => value(&raw[lang], secret),
                None => spelled_options(&case["options"], spelling, secret),
            };
            let env_vars: Vec<(String, String)> = case
                .get("env")
                .and_then(Json::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().expect("env value").to_string())).collect())
                .unwrap_or_default();
            let env_refs: Vec<(&str, &str)> = env_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let result = GuardConfig::from_options_in(&options, spelling, &Env::fixed(&env_refs)).and_then(GuardConfig::build);
            let mentions: Vec<String> = match (case.get("error"), case.get("error_mentions")) {
                (Some(path), _) => vec![spelled_path(path.as_str().expect("path"), spelling)],
                (None, Some(m)) => {
                    m[lang].as_array().expect("list").iter().map(|s| s.as_str().expect("str").to_string()).collect()
                }
                (None, None) => Vec::new(),
            };
            match (result, mentions.is_empty()) {
                (Ok(built), true) => {
                    let settings: Json = serde_json::from_str(&built.settings).expect("settings are JSON");
                    for (k, want) in case["settings"].as_object().expect("settings") {
                        assert_eq!(&settings[k], want, "{name} ({lang}): setting {k}");
                    }
                }
                (Ok(_), false) => panic!("{name} ({lang}): accepted, expected an error naming {mentions:?}"),
                (Err(e), true) => panic!("{name} ({lang}): refused ({e}), expected success"),
                (Err(e), false) => {
                    assert_eq!(e.code(), ErrorCode::InvalidConfig, "{name} ({lang})");
                    for m in &mentions {
                        assert!(e.reason().contains(m.as_str()), "{name} ({lang}): {:?} does not name {m:?}", e.reason());
                    }
                    assert!(!e.reason().contains(secret), "{name} ({lang}): the secret leaked into {:?}", e.reason());
                    assert!(!format!("{options:?}").contains(secret), "{name} ({lang}): Debug of the options shows the secret");
                }
            }
            ran += 1;
        }
    }
    assert!(ran >= 150, "only {ran} case runs");
}

#[test]
fn docs_list_every_option_in_both_spellings() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md")).expect("read docs");
    for f in hmac_guard::config::FIELDS {
        let row = format!("| `{}` | `{}` | `{}` |", f.id, f.node, f.python);
        assert!(doc.contains(&row), "docs/configuration.md has no row {row}");
    }
}
