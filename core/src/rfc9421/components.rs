//! Component values (RFC 9421 §2.1 fields and §2.2 derived components).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sfv::{FieldType, ListEntry, Parser, Version};

use crate::error::{ErrorCode, Result, fail};
use crate::keyring::truncate;
use crate::request::{RequestHead, default_port, normalize_field_value};
use crate::sf::{self, Item, ParamValue};

/// A covered component as the verifier understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// `@method`
    Method,
    /// `@target-uri`
    TargetUri,
    /// `@authority`
    Authority,
    /// `@scheme`
    Scheme,
    /// `@request-target`
    RequestTarget,
    /// `@path`
    Path,
    /// `@query`
    Query,
    /// `@query-param;name="…"` (the encoded name)
    QueryParam(String),
    /// A header field, with its flags.
    Field {
        /// Lowercase field name.
        name: String,
        /// `sf`: strict structured-field re-serialization.
        sf: bool,
        /// `key="…"`: one dictionary member.
        key: Option<String>,
        /// `bs`: each instance as a byte sequence.
        bs: bool,
    },
}

/// [`Component`] borrowing its names from the signature text (no allocation on the hot path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentRef<'a> {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    QueryParam(&'a str),
    Field { name: &'a str, sf: bool, key: Option<&'a str>, bs: bool },
}

impl Component {
    fn as_ref(&self) -> ComponentRef<'_> {
        match self {
            Component::Method => ComponentRef::Method,
            Component::TargetUri => ComponentRef::TargetUri,
            Component::Authority => ComponentRef::Authority,
            Component::Scheme => ComponentRef::Scheme,
            Component::RequestTarget => ComponentRef::RequestTarget,
            Component::Path => ComponentRef::Path,
            Component::Query => ComponentRef::Query,
            Component::QueryParam(n) => ComponentRef::QueryParam(n),
            Component::Field { name, sf, key, bs } => ComponentRef::Field { name, sf: *sf, key: key.as_deref(), bs: *bs },
        }
    }
}

impl ComponentRef<'_> {
    fn to_owned(self) -> Component {
        match self {
            ComponentRef::Method => Component::Method,
            ComponentRef::TargetUri => Component::TargetUri,
            ComponentRef::Authority => Component::Authority,
            ComponentRef::Scheme => Component::Scheme,
            ComponentRef::RequestTarget => Component::RequestTarget,
            ComponentRef::Path => Component::Path,
            ComponentRef::Query => Component::Query,
            ComponentRef::QueryParam(n) => Component::QueryParam(n.to_string()),
            ComponentRef::Field { name, sf, key, bs } => {
                Component::Field { name: name.to_string(), sf, key: key.map(str::to_string), bs }
            }
        }
    }
}

/// Interprets one item of a `Signature-Input` inner list.
///
/// # Errors
/// `ERR_MALFORMED_SIGNATURE` for a non-string or bad name, `ERR_UNSUPPORTED_COMPONENT` for
/// names and parameters this verifier does not implement.
pub fn parse_component(item: &Item<'_>) -> Result<Component> {
    parse_component_parts(sf::as_str(&item.bare), item.params.0.iter().map(|(k, v)| (*k, ParamValue::of(v))))
        .map(ComponentRef::to_owned)
}

/// [`parse_component`] on the item's string (`None` when it is not an sf-string) and parameters.
pub(crate) fn parse_component_parts<'a>(
    name: Option<&'a str>,
    params: impl Iterator<Item = (&'a str, ParamValue<'a>)> + Clone,
) -> Result<ComponentRef<'a>> {
    let Some(name) = name else {
        return fail(ErrorCode::MalformedSignature, "covered component is not an sf-string");
    };
    if let Some(derived) = name.strip_prefix('@') {
        let allowed_param = if derived == "query-param" { "name" } else { "" };
        for (k, _) in params.clone() {
            if k != allowed_param {
                return fail(ErrorCode::UnsupportedComponent, format!("parameter {k:?} is not supported on {name}"));
            }
        }
        return Ok(match derived {
            "method" => ComponentRef::Method,
            "target-uri" => ComponentRef::TargetUri,
            "authority" => ComponentRef::Authority,
            "scheme" => ComponentRef::Scheme,
            "request-target" => ComponentRef::RequestTarget,
            "path" => ComponentRef::Path,
            "query" => ComponentRef::Query,
            "query-param" => match params.clone().find(|(k, _)| *k == "name").map(|(_, v)| v) {
                Some(ParamValue::Str(n)) => ComponentRef::QueryParam(n),
                _ => return fail(ErrorCode::MalformedSignature, "@query-param needs a name=\"…\" parameter"),
            },
            "signature-params" => {
                return fail(ErrorCode::MalformedSignature, "@signature-params must not be listed as covered");
            }
            "status" => return fail(ErrorCode::UnsupportedComponent, "@status applies to responses only"),
            _ => return fail(ErrorCode::UnsupportedComponent, format!("unknown derived component {:?}", truncate(name))),
        });
    }
    if name.is_empty() || !name.bytes().all(is_lower_token_byte) {
        return fail(
            ErrorCode::MalformedSignature,
            format!("component name {:?} must be a lowercase field name", truncate(name)),
        );
    }
    let (mut sf_flag, mut key, mut bs) = (false, None, false);
    for (k, v) in params {
        match (k, v) {
            ("sf", ParamValue::True) => sf_flag = true,
            ("bs", ParamValue::True) => bs = true,
            ("key", ParamValue::Str(s)) => key = Some(s),
            ("req", _) => return fail(ErrorCode::UnsupportedComponent, "req applies to signed responses only"),
            ("tr", _) => return fail(ErrorCode::UnsupportedComponent, "trailer fields are not supported"),
            _ => return fail(ErrorCode::UnsupportedComponent, format!("parameter {k:?} is not supported on field {name:?}")),
        }
    }
    if bs && (sf_flag || key.is_some()) {
        return fail(ErrorCode::MalformedSignature, "bs cannot be combined with sf or key");
    }
    Ok(ComponentRef::Field { name, sf: sf_flag, key, bs })
}

fn is_lower_token_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The component's value in `head`.
///
/// # Errors
/// As [`write_value`].
pub fn value(component: &Component, head: &RequestHead, max_len: usize) -> Result<String> {
    let mut out = String::new();
    write_value(component, head, max_len, &mut out, &mut QueryCache::default())?;
    Ok(out)
}

/// Appends the component's value in `head` to `out`.
///
/// # Errors
/// `ERR_COMPONENT_NOT_FOUND` when it is absent, `ERR_MALFORMED_HEADER` when it cannot be
/// represented (non-ASCII, control characters, not a structured field where `sf`/`key` ask).
pub fn write_value(
    component: &Component,
    head: &RequestHead,
    max_len: usize,
    out: &mut String,
    query: &mut QueryCache,
) -> Result<()> {
    write_value_ref(component.as_ref(), head, max_len, out, query)
}

/// [`write_value`] for a borrowed component.
pub(crate) fn write_value_ref(
    component: ComponentRef<'_>,
    head: &RequestHead,
    max_len: usize,
    out: &mut String,
    query: &mut QueryCache,
) -> Result<()> {
    let start = out.len();
    match component {
        ComponentRef::Method => {
            if head.method.is_empty() || !head.method.bytes().all(|b| b.is_ascii_graphic()) {
                return fail(ErrorCode::MalformedHeader, "method is not a token");
            }
            out.push_str(&head.method);
        }
        ComponentRef::TargetUri => {
            write_scheme(head, out)?;
            out.push_str("://");
            out.push_str(head.authority()?);
            out.push_str(head.path_and_query());
        }
        ComponentRef::Authority => write_authority(head, out)?,
        ComponentRef::Scheme => write_scheme(head, out)?,
        ComponentRef::RequestTarget => out.push_str(&head.target),
        ComponentRef::Path => out.push_str(head.path()),
        ComponentRef::Query => {
            out.push('?');
            out.push_str(head.query().unwrap_or(""));
        }
        ComponentRef::QueryParam(name) => out.push_str(&query_param(head, name, query)?),
        ComponentRef::Field { name, sf, key, bs } => field(head, name, sf, key, bs, max_len, out)?,
    }
    // A fold without early exit vectorizes; values are short and almost always clean.
    let bad = out.as_bytes()[start..].iter().fold(false, |acc, &b| acc | (b != b'\t' && !(0x20..0x7f).contains(&b)));
    if bad {
        return fail(ErrorCode::MalformedHeader, "a covered value has non-ASCII or control characters");
    }
    Ok(())
}

fn write_scheme(head: &RequestHead, out: &mut String) -> Result<()> {
    let s = head.url_scheme();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
        return fail(ErrorCode::MalformedHeader, "scheme is not valid");
    }
    let start = out.len();
    out.push_str(s);
    lowercase_from(out, start);
    Ok(())
}

/// Lowercases `out[start..]` in place (ASCII only; other bytes are refused later anyway).
fn lowercase_from(out: &mut str, start: usize) {
    if let Some(tail) = out.get_mut(start..) {
        tail.make_ascii_lowercase();
    }
}

/// `host[:port]`, host lowercased, the scheme's default port dropped (RFC 9421 §2.2.3).
fn write_authority(head: &RequestHead, out: &mut String) -> Result<()> {
    let start = out.len();
    out.push_str(head.authority()?);
    lowercase_from(out, start);
    if let Some(port) = default_port(head.url_scheme())
        && out[start..].ends_with(port)
    {
        let host_end = out.len() - port.len();
        if host_end > start && !out[start..host_end].ends_with(':') {
            out.truncate(host_end);
        }
    }
    Ok(())
}

/// The query's parameters, decoded and re-encoded once per request (RFC 9421 §2.2.8), so covering
/// many `@query-param`s costs one pass over the query.
#[derive(Debug, Default)]
pub struct QueryCache(Option<Vec<(String, String)>>);

impl QueryCache {
    fn pairs(&mut self, head: &RequestHead) -> &[(String, String)] {
        self.0.get_or_insert_with(|| {
            head.query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (form_encode(&form_decode(n)), form_encode(&form_decode(v)))
                })
                .collect()
        })
    }
}

fn query_param(head: &RequestHead, name: &str, cache: &mut QueryCache) -> Result<String> {
    let mut found: Option<&str> = None;
    for (n, v) in cache.pairs(head) {
        if n != name {
            continue;
        }
        if found.is_some() {
            // RFC 9421 §2.2.8: a repeated name cannot be covered individually; sign @query instead.
            return fail(ErrorCode::UnsupportedComponent, format!("query parameter {:?} occurs more than once", truncate(name)));
        }
        found = Some(v);
    }
    found
        .map(str::to_string)
        .ok_or_else(|| crate::Error::new(ErrorCode::ComponentNotFound, format!("query parameter {:?} is absent", truncate(name))))
}

/// application/x-www-form-urlencoded parsing of one name or value (WHATWG URL §5.1), as bytes:
/// no lossy UTF-8 step, so distinct byte sequences never compare equal.
fn form_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h << 4) | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encoding with the application/x-www-form-urlencoded set, space as `%20` (RFC 9421
/// §2.2.8 and its examples: `this%20is%20a%20big%0Avalue`).
fn form_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

fn field(
    head: &RequestHead,
    name: &str,
    sf_flag: bool,
    key: Option<&str>,
    bs: bool,
    max_len: usize,
    out: &mut String,
) -> Result<()> {
    if bs {
        let start = out.len();
        let mut any = false;
        for (i, v) in head.values(name).enumerate() {
            any = true;
            if v.len() > max_len {
                return fail(ErrorCode::HeaderTooLarge, format!("header {name} is too large"));
            }
            if i > 0 {
                out.push_str(", ");
            }
            out.push(':');
            B64.encode_string(normalize_field_value(v)?.as_bytes(), out);
            out.push(':');
            if out.len() - start > max_len.saturating_mul(2) {
                return fail(ErrorCode::HeaderTooLarge, format!("header {name} is too large"));
            }
        }
        return if any { Ok(()) } else { not_found(name) };
    }
    let Some(combined) = head.combined(name, max_len)? else { return not_found(name) };
    if let Some(key) = key {
        // Strict first: a repeated member would let the signer and the application read
        // different values (RFC 8941 keeps the last, some parsers the first).
        reject_repeats(&combined, name)?;
        let dict: sfv::Dictionary = parse_strict(&combined, name)?;
        let member = dict.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v.clone()).ok_or_else(|| {
            crate::Error::new(ErrorCode::ComponentNotFound, format!("{name} has no member {:?}", truncate(key)))
        })?;
        out.push_str(&match member {
            ListEntry::Item(item) => item.serialize(),
            ListEntry::InnerList(_) => serialize_list(vec![member], name)?,
        });
        return Ok(());
    }
    if sf_flag {
        if sf::parse_dictionary(&combined).is_ok()
            && let Ok(dict) = parse_strict::<sfv::Dictionary>(&combined, name)
        {
            out.push_str(&dict.serialize().ok_or_else(|| empty_sf(name))?);
            return Ok(());
        }
        if parse_strict::<sfv::Dictionary>(&combined, name).is_ok() {
            // A dictionary the strict parser refused: repeated keys or parameters.
            return reject_repeats(&combined, name);
        }
        let list: sfv::List = parse_strict(&combined, name)?;
        out.push_str(&serialize_list(list, name)?);
        return Ok(());
    }
    out.push_str(&combined);
    Ok(())
}

fn reject_repeats(value: &str, name: &str) -> Result<()> {
    sf::parse_dictionary(value).map(|_| ()).map_err(|e| crate::Error::new(ErrorCode::MalformedHeader, format!("{name}: {e}")))
}

fn parse_strict<T: FieldType>(value: &str, name: &str) -> Result<T> {
    Parser::new(value)
        .with_version(Version::Rfc8941)
        .parse::<T>()
        .map_err(|e| crate::Error::new(ErrorCode::MalformedHeader, format!("{name} is not a structured field: {e}")))
}

fn serialize_list(list: sfv::List, name: &str) -> Result<String> {
    list.serialize().ok_or_else(|| empty_sf(name))
}

fn empty_sf(name: &str) -> crate::Error {
    crate::Error::new(ErrorCode::MalformedHeader, format!("{name} is an empty structured field"))
}

fn not_found<T>(name: &str) -> Result<T> {
    fail(ErrorCode::ComponentNotFound, format!("covered header {name:?} is absent"))
}

/// Appends the serialized component identifier (`"name"` plus parameters), as in the base.
pub fn write_identifier(item: &Item<'_>, out: &mut String) {
    sf::write_bare(out, &item.bare);
    sf::write_params(out, &item.params);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> RequestHead {
        RequestHead::new(
            "POST",
            "/foo?param=Value&Pet=dog&sp=a+b&enc=%2Fx&empty=",
            "https",
            vec![
                ("Host".into(), "Example.COM:443".into()),
                ("X-Dict".into(), "a=1,  b=(x y);p".into()),
                ("X-Multi".into(), "value, with, lots".into()),
                ("x-multi".into(), "of, commas".into()),
                ("x-empty".into(), "".into()),
            ],
        )
    }

    fn field_c(name: &str, sf: bool, key: Option<&str>, bs: bool) -> Component {
        Component::Field { name: name.into(), sf, key: key.map(Into::into), bs }
    }

    #[test]
    fn derived_components() {
        let h = head();
        assert_eq!(value(&Component::Authority, &h, 100).unwrap(), "example.com");
        assert_eq!(
            value(&Component::TargetUri, &h, 100).unwrap(),
            "https://Example.COM:443/foo?param=Value&Pet=dog&sp=a+b&enc=%2Fx&empty="
        );
        assert_eq!(value(&Component::Path, &h, 100).unwrap(), "/foo");
        assert_eq!(value(&Component::Query, &h, 100).unwrap(), "?param=Value&Pet=dog&sp=a+b&enc=%2Fx&empty=");
        assert_eq!(value(&Component::QueryParam("Pet".into()), &h, 100).unwrap(), "dog");
        assert_eq!(value(&Component::QueryParam("sp".into()), &h, 100).unwrap(), "a%20b");
        assert_eq!(value(&Component::QueryParam("enc".into()), &h, 100).unwrap(), "%2Fx");
        assert_eq!(value(&Component::QueryParam("empty".into()), &h, 100).unwrap(), "");
        assert_eq!(value(&Component::QueryParam("nope".into()), &h, 100).unwrap_err().code(), ErrorCode::ComponentNotFound);
        assert_eq!(value(&Component::Query, &RequestHead::new("GET", "/", "http", vec![]), 100).unwrap(), "?");
    }

    #[test]
    fn field_components() {
        let h = head();
        assert_eq!(value(&field_c("x-multi", false, None, false), &h, 100).unwrap(), "value, with, lots, of, commas");
        assert_eq!(
            value(&field_c("x-multi", false, None, true), &h, 100).unwrap(),
            ":dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:"
        );
        assert_eq!(value(&field_c("x-dict", true, None, false), &h, 100).unwrap(), "a=1, b=(x y);p");
        assert_eq!(value(&field_c("x-dict", false, Some("b"), false), &h, 100).unwrap(), "(x y);p");
        assert_eq!(value(&field_c("x-dict", false, Some("a"), false), &h, 100).unwrap(), "1");
        assert_eq!(value(&field_c("x-empty", false, None, false), &h, 100).unwrap(), "");
        let dup = RequestHead::new("GET", "/", "http", vec![("x-opts".into(), "role=admin, role=user".into())]);
        assert_eq!(value(&field_c("x-opts", true, None, false), &dup, 100).unwrap_err().code(), ErrorCode::MalformedHeader);
        assert_eq!(
            value(&field_c("x-opts", false, Some("role"), false), &dup, 100).unwrap_err().code(),
            ErrorCode::MalformedHeader
        );
        let list = RequestHead::new("GET", "/", "http", vec![("x-l".into(), "a,   b;q=1".into())]);
        assert_eq!(value(&field_c("x-l", true, None, false), &list, 100).unwrap(), "a, b;q=1");
        assert_eq!(value(&field_c("x-none", false, None, false), &h, 100).unwrap_err().code(), ErrorCode::ComponentNotFound);
    }

    #[test]
    fn control_characters_are_rejected() {
        let h = RequestHead::new("GET", "/", "http", vec![("x-a".into(), "a\u{1}b".into())]);
        assert_eq!(value(&field_c("x-a", false, None, false), &h, 100).unwrap_err().code(), ErrorCode::MalformedHeader);
        let h = RequestHead::new("GET", "/", "http", vec![("x-a".into(), "é".into())]);
        assert_eq!(value(&field_c("x-a", false, None, false), &h, 100).unwrap_err().code(), ErrorCode::MalformedHeader);
    }

    #[test]
    fn form_coding() {
        assert_eq!(form_decode("a+b%20c%zz%4"), b"a b c%zz%4");
        assert_eq!(form_encode("a b/é".as_bytes()), "a%20b%2F%C3%A9");
        // RFC 9421 §2.2.8 example value.
        assert_eq!(form_encode(&form_decode("this%20is%20a%20big%0Avalue")), "this%20is%20a%20big%0Avalue");
        // No lossy step: an invalid byte and the replacement character stay different.
        assert_ne!(form_encode(&form_decode("%FF")), form_encode(&form_decode("%EF%BF%BD")));
    }
}
