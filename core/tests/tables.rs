//! The core's `Verified` against the shared field list `tests/verified_fields.json`, which the
//! Node (`node-binding/__test__/tables.test.js`) and Python (`python-binding/tests/test_tables.py`)
//! suites compare with their declarations. A field added to, removed from or renamed in the
//! struct fails to compile here (the exhaustive pattern below) until this list and the JSON file
//! name it; the JSON file must then list it (with its Node and Python names) for the test to pass.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use hmac_guard::Verified;
use serde_json::Value;

/// Every field of `Verified`, in declaration order. Expands to an exhaustive destructuring
/// pattern (no `..`: it stops compiling when the struct gains or loses a field) and to the names.
macro_rules! verified_fields {
    ($($field:ident),* $(,)?) => {{
        let _exhaustive = |v: Verified| {
            let Verified { $($field: _),* } = v;
        };
        [$(stringify!($field)),*]
    }};
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared_list() -> Value {
    let path = repo().join("tests/verified_fields.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `(core name, optional)` for each entry of `key` ("fields" or "methods") in the shared list.
fn listed(doc: &Value, key: &str) -> Vec<(String, bool)> {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("tests/verified_fields.json: no {key:?} array"))
        .iter()
        .map(|entry| {
            for lang in ["core", "node", "python"] {
                assert!(entry[lang].is_string(), "tests/verified_fields.json: {entry} has no {lang:?} name");
            }
            (entry["core"].as_str().unwrap().to_string(), entry["optional"].as_bool().unwrap_or(false))
        })
        .collect()
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The body of the item that starts with the line `opening` (e.g. `pub struct Verified {`) in
/// exactly one file under `core/src`: the lines up to the closing `}` at column 0.
fn item_body(opening: &str) -> (PathBuf, Vec<String>) {
    let mut files = Vec::new();
    rust_files(&repo().join("core/src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut lines = text.lines().skip_while(|l| l.trim_end() != opening);
        if lines.next().is_some() {
            let body: Vec<String> = lines.take_while(|l| *l != "}").map(str::to_string).collect();
            found.push((file, body));
        }
    }
    assert_eq!(found.len(), 1, "expected exactly one `{opening}` under core/src, found {}", found.len());
    found.pop().unwrap()
}

/// `(name, optional)` of each `pub name: Type,` field line of the `Verified` struct's source.
fn source_fields() -> Vec<(String, bool)> {
    let (file, body) = item_body("pub struct Verified {");
    let fields: Vec<(String, bool)> = body
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.starts_with("//") && !l.starts_with("#[") && !l.is_empty())
        .map(|l| {
            let decl = l.strip_prefix("pub ").unwrap_or_else(|| panic!("{}: a field that is not pub: {l}", file.display()));
            let (name, ty) = decl.split_once(':').unwrap_or_else(|| panic!("{}: not a field: {l}", file.display()));
            (name.trim().to_string(), ty.trim().starts_with("Option<"))
        })
        .collect();
    assert!(!fields.is_empty(), "{}: no fields read from `pub struct Verified`", file.display());
    fields
}

#[test]
fn verified_struct_fields_match_the_shared_list() {
    let compiled = verified_fields!(
        scheme,
        label,
        key_id,
        subject,
        algorithm,
        created,
        expires,
        nonce,
        tag,
        covered,
        body_len,
        replay_ticket,
        webhook,
    );
    let doc = shared_list();
    let shared = listed(&doc, "fields");
    let shared_names: Vec<&str> = shared.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        shared_names, compiled,
        "tests/verified_fields.json (core names, in order) vs. the fields of hmac_guard::Verified"
    );
    // The source, for the declaration order and which fields are optional.
    assert_eq!(
        shared,
        source_fields(),
        "tests/verified_fields.json (core name, optional) vs. `pub struct Verified` in core/src (declaration order; \
         optional = Option<_>)"
    );
}

#[test]
fn verified_methods_match_the_shared_list() {
    let (file, body) = item_body("impl Verified {");
    let in_source: Vec<String> = body
        .iter()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .map(|rest| rest.split(['(', '<']).next().unwrap().to_string())
        .collect();
    let shared: Vec<String> = listed(&shared_list(), "methods").into_iter().map(|(n, _)| n).collect();
    assert_eq!(shared, in_source, "tests/verified_fields.json methods vs. the pub fns of `impl Verified` in {}", file.display());
}

#[test]
fn every_name_is_listed_once_per_language() {
    let doc = shared_list();
    for key in ["fields", "methods"] {
        for lang in ["core", "node", "python"] {
            let mut names: Vec<&str> = doc[key].as_array().unwrap().iter().map(|e| e[lang].as_str().unwrap()).collect();
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "tests/verified_fields.json: a {lang} name appears twice in {key}");
        }
    }
}
