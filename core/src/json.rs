//! A minimal JSON writer for what the core hands to bindings as text (settings, stats, events):
//! the core has no serde dependency, and these documents are small and flat.

use std::fmt::Write as _;

/// Appends `s` as a JSON string (control characters escaped, so nothing can break a log line).
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a JSON object member by member: `{"a":1,"b":"x"}`.
pub(crate) struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn open(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, first: true }
    }

    /// Starts a member and returns the buffer to write its value into.
    pub(crate) fn key(&mut self, name: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, name);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) -> &mut Self {
        let out = self.key(name);
        string(out, value);
        self
    }

    pub(crate) fn opt_str(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(name, v),
            None => self.raw(name, "null"),
        }
    }

    pub(crate) fn num(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        let out = self.key(name);
        let _ = write!(out, "{value}");
        self
    }

    pub(crate) fn raw(&mut self, name: &str, json: &str) -> &mut Self {
        self.key(name).push_str(json);
        self
    }

    pub(crate) fn close(self) {
        self.out.push('}');
    }
}
