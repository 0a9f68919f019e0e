//! Strict structured-field (RFC 8941) parsing on top of `sfv`.
//!
//! RFC 8941 lets a repeated dictionary key or parameter silently override the earlier one. For
//! signature headers that would let two different signatures hide under one label, so this module
//! collects every member through `sfv`'s visitor API and rejects repeats. It also serializes the
//! inner list used as `@signature-params` (RFC 9421 §2.3) in canonical form.
//!
//! One job per file: `parse.rs` is the general, strict parser ([`parse_dictionary`]), `write.rs`
//! the canonical serialization (`write_*`), and `canonical.rs` the allocation-free fast path for
//! text that is already in canonical form. This file holds the parsed types they share.

use std::borrow::Cow;
use std::fmt;

use sfv::BareItemFromInput;

pub(crate) mod canonical;
mod parse;
mod write;

pub use parse::parse_dictionary;
pub use write::{write_bare, write_inner_list, write_params, write_string};

/// A bare item borrowed from the input where possible.
pub type Bare<'de> = BareItemFromInput<'de>;

/// Parameters in input order (no repeats).
#[derive(Debug, Default, Clone)]
pub struct Params<'de>(pub Vec<(&'de str, Bare<'de>)>);

impl<'de> Params<'de> {
    /// The value of parameter `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Bare<'de>> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// An item with its parameters.
#[derive(Debug, Clone)]
pub struct Item<'de> {
    /// The bare value.
    pub bare: Bare<'de>,
    /// Its parameters.
    pub params: Params<'de>,
}

/// A dictionary member.
#[derive(Debug, Clone)]
pub enum Member<'de> {
    /// A single item.
    Item(Item<'de>),
    /// An inner list with its own parameters.
    InnerList(Vec<Item<'de>>, Params<'de>),
}

/// Why a structured field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SfError(&'static str);

impl fmt::Display for SfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for SfError {}

/// Most dictionary members accepted (signature labels, digest algorithms).
pub const MAX_MEMBERS: usize = 64;
/// Most items in one inner list (covered components are capped lower by policy).
pub const MAX_ITEMS: usize = 64;
/// Most parameters on one item or inner list (RFC 9421 defines six signature parameters).
pub const MAX_PARAMS: usize = 16;

/// The string inside a bare item, if it is one.
#[must_use]
pub fn as_str<'a>(bare: &'a Bare<'_>) -> Option<&'a str> {
    match bare {
        Bare::String(s) => Some(match s {
            Cow::Borrowed(s) => s.as_str(),
            Cow::Owned(s) => s.as_str(),
        }),
        _ => None,
    }
}

/// The integer inside a bare item, if it is one.
#[must_use]
pub fn as_int(bare: &Bare<'_>) -> Option<i64> {
    match bare {
        Bare::Integer(i) => Some(i64::from(*i)),
        _ => None,
    }
}

/// A parameter value as the RFC 9421 checks read it: only these kinds are ever accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamValue<'a> {
    /// `;name` (boolean true).
    True,
    /// An integer.
    Int(i64),
    /// An sf-string, unescaped.
    Str(&'a str),
    /// Anything else (tokens, byte sequences, decimals, `?0`).
    Other,
}

impl<'a> ParamValue<'a> {
    /// The view of a parsed bare item.
    pub(crate) fn of(bare: &'a Bare<'_>) -> Self {
        match bare {
            Bare::Boolean(true) => ParamValue::True,
            Bare::Integer(i) => ParamValue::Int(i64::from(*i)),
            Bare::String(s) => ParamValue::Str(s.as_str()),
            _ => ParamValue::Other,
        }
    }
}
