//! The request as the verifier sees it before the body: method, target, scheme, headers.

use std::borrow::Cow;

use crate::error::{ErrorCode, Result, fail};

/// Everything about a request except its body, as received.
#[derive(Debug, Clone, Default)]
pub struct RequestHead {
    /// Method as sent, case preserved (`POST`).
    pub method: String,
    /// The request-target as sent: origin-form (`/path?query`) or absolute-form (`https://host/path`).
    pub target: String,
    /// `http` or `https`: how the request reached the application.
    pub scheme: String,
    /// Header fields in arrival order; names in any case; repeated names allowed.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// Builds a head.
    pub fn new(
        method: impl Into<String>,
        target: impl Into<String>,
        scheme: impl Into<String>,
        headers: Vec<(String, String)>,
    ) -> Self {
        RequestHead { method: method.into(), target: target.into(), scheme: scheme.into(), headers }
    }

    /// The URL scheme the request arrived by: [`RequestHead::scheme`], or the core's default
    /// (`https`, [`crate::config::DEFAULT_URL_SCHEME`]) when the adapter could not tell (empty).
    #[must_use]
    pub fn url_scheme(&self) -> &str {
        if self.scheme.is_empty() { crate::config::DEFAULT_URL_SCHEME } else { &self.scheme }
    }

    /// A head from a server's raw parts: header values as bytes, each byte read as one
    /// character (ISO-8859-1), as Node and the WSGI/ASGI servers hand them over, so an
    /// `obs-text` byte reaches the checks as the same character in every framework.
    pub fn from_raw<'a>(
        method: impl Into<String>,
        target: impl Into<String>,
        scheme: impl Into<String>,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Self {
        let headers =
            headers.into_iter().map(|(n, v)| (n.to_string(), v.iter().map(|&b| char::from(b)).collect::<String>())).collect();
        RequestHead { method: method.into(), target: target.into(), scheme: scheme.into(), headers }
    }

    /// Adds a header (builder style, for tests and clients).
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Every value of a header, in order (name compared case-insensitively).
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The only value of a header the scheme needs exactly once.
    ///
    /// # Errors
    /// `ERR_MALFORMED_SIGNATURE`-class error (`code`) when the header is repeated; `ERR_HEADER_TOO_LARGE`
    /// above `max_len`.
    pub fn single(&self, name: &str, max_len: usize, code: ErrorCode) -> Result<Option<&str>> {
        let mut it = self.values(name);
        let Some(first) = it.next() else { return Ok(None) };
        if it.next().is_some() {
            return fail(code, format!("header {name} appears more than once"));
        }
        if first.len() > max_len {
            return fail(ErrorCode::HeaderTooLarge, format!("header {name} is longer than {max_len} bytes"));
        }
        Ok(Some(trim_ows(first)))
    }

    /// All values of a header combined per RFC 9110 §5.3 (`", "`), each trimmed; `None` if absent.
    /// Borrows when the header appears once and needs no normalization.
    ///
    /// # Errors
    /// `ERR_HEADER_TOO_LARGE` when the combination exceeds `max_len`.
    pub fn combined(&self, name: &str, max_len: usize) -> Result<Option<Cow<'_, str>>> {
        let mut out: Option<Cow<'_, str>> = None;
        for v in self.values(name) {
            if v.len() > max_len {
                return fail(ErrorCode::HeaderTooLarge, format!("header {name} is longer than {max_len} bytes"));
            }
            let v = normalize_field_value(v)?;
            out = Some(match out {
                None => v,
                Some(acc) => {
                    let mut acc = acc.into_owned();
                    acc.push_str(", ");
                    acc.push_str(&v);
                    Cow::Owned(acc)
                }
            });
            if out.as_ref().is_some_and(|s| s.len() > max_len) {
                return fail(ErrorCode::HeaderTooLarge, format!("header {name} is longer than {max_len} bytes"));
            }
        }
        Ok(out)
    }

    /// Checks the request-target before anything is derived from it: origin-form (`/path?q`),
    /// `*`, or an absolute-form `http(s)` URL whose scheme is the request's scheme and whose
    /// authority equals the `Host` header (otherwise a request signed for one host could be
    /// replayed to another service that routes on `Host`).
    ///
    /// # Errors
    /// `ERR_HEADER_TOO_LARGE` past `max_len`, `ERR_MALFORMED_HEADER` for any other form.
    pub fn check_target(&self, max_len: usize) -> Result<()> {
        if self.target.len() > max_len {
            return fail(ErrorCode::HeaderTooLarge, format!("request target is longer than {max_len} bytes"));
        }
        if self.target.starts_with('/') || self.target == "*" {
            return Ok(());
        }
        let Some((scheme, authority, _)) = split_absolute(&self.target) else {
            return fail(ErrorCode::MalformedHeader, "request target must be a path or an absolute http(s) URL");
        };
        let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
        if !http || !scheme.eq_ignore_ascii_case(self.url_scheme()) || authority.is_empty() {
            return fail(ErrorCode::MalformedHeader, "absolute request target must use the request's http(s) scheme");
        }
        if let Some(host) = self.single("host", 1024, ErrorCode::MalformedHeader)?
            && normalize_authority(host, scheme) != normalize_authority(authority, scheme)
        {
            return fail(ErrorCode::MalformedHeader, "absolute request target and Host name different authorities");
        }
        Ok(())
    }

    /// The origin-form part of the target (`/path?query`), also for absolute-form targets.
    #[must_use]
    pub fn path_and_query(&self) -> &str {
        match split_absolute(&self.target) {
            Some((_, _, rest)) => rest,
            None => &self.target,
        }
    }

    /// The path (no query), `/` when empty.
    #[must_use]
    pub fn path(&self) -> &str {
        let pq = self.path_and_query();
        let p = pq.get(..query_mark(pq)).unwrap_or(pq);
        if p.is_empty() { "/" } else { p }
    }

    /// The raw query without `?`, if the target has one.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        let pq = self.path_and_query();
        pq.get(query_mark(pq)..).and_then(|q| q.strip_prefix('?'))
    }

    /// The authority: from an absolute-form target, else the single `Host` header.
    ///
    /// # Errors
    /// `ERR_MALFORMED_HEADER` when `Host` is repeated, `ERR_COMPONENT_NOT_FOUND` when it is absent
    /// with an origin-form target.
    pub fn authority(&self) -> Result<&str> {
        if let Some((_, authority, _)) = split_absolute(&self.target) {
            return Ok(authority);
        }
        match self.single("host", 1024, ErrorCode::MalformedHeader)? {
            Some(h) if !h.is_empty() => Ok(h),
            _ => fail(ErrorCode::ComponentNotFound, "request has no Host header"),
        }
    }

    /// The declared `Content-Length`, if any.
    ///
    /// # Errors
    /// `ERR_MALFORMED_HEADER` for a non-numeric value or differing repeated values.
    pub fn content_length(&self) -> Result<Option<u64>> {
        let mut found: Option<u64> = None;
        for raw in self.values("content-length") {
            for part in raw.split(',') {
                let part = part.trim_matches([' ', '\t']);
                if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return fail(ErrorCode::MalformedHeader, "Content-Length is not a decimal number");
                }
                let n: u64 =
                    part.parse().map_err(|_| crate::Error::new(ErrorCode::MalformedHeader, "Content-Length is out of range"))?;
                if found.is_some_and(|f| f != n) {
                    return fail(ErrorCode::MalformedHeader, "conflicting Content-Length values");
                }
                found = Some(n);
            }
        }
        Ok(found)
    }

    /// Whether the request announces a body (`Content-Length` > 0 or any `Transfer-Encoding`).
    ///
    /// # Errors
    /// As [`RequestHead::content_length`].
    pub fn announces_body(&self) -> Result<bool> {
        Ok(self.content_length()?.is_some_and(|n| n > 0) || self.values("transfer-encoding").next().is_some())
    }
}

/// Strips leading/trailing whitespace and replaces each obs-fold (CRLF followed by SP/HTAB) with
/// one space (RFC 9421 §2.1). Any other CR or LF is refused: the application would otherwise see
/// bytes different from the ones that were signed.
///
/// # Errors
/// `ERR_MALFORMED_HEADER` for a bare CR or LF.
pub(crate) fn normalize_field_value(v: &str) -> Result<Cow<'_, str>> {
    let trimmed = trim_ows(v);
    // One pass without early exit (it vectorizes); values almost never hold CR or LF.
    if trimmed.as_bytes().iter().fold(0_u8, |acc, &b| acc | u8::from(b == b'\n') | u8::from(b == b'\r')) == 0 {
        return Ok(Cow::Borrowed(trimmed));
    }
    let bytes = trimmed.as_bytes();
    let mut out = String::with_capacity(trimmed.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') && matches!(bytes.get(i + 2), Some(b' ' | b'\t')) => {
                out.push_str(trim_ows(&trimmed[last..i]));
                out.push(' ');
                i += 2;
                while matches!(bytes.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                last = i;
            }
            b'\r' | b'\n' => return fail(ErrorCode::MalformedHeader, "a header value has a bare CR or LF"),
            _ => i += 1,
        }
    }
    out.push_str(&trimmed[last..]);
    Ok(Cow::Owned(out))
}

/// Strips optional whitespace (SP / HTAB) from both ends; byte-wise, as this runs on every header read.
pub(crate) fn trim_ows(v: &str) -> &str {
    let b = v.as_bytes();
    let start = b.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(start, |i| i + 1);
    // Both ends sit next to ASCII bytes, so they are char boundaries.
    v.get(start..end).unwrap_or_default()
}

/// Lowercase `host[:port]` without the scheme's default port.
pub(crate) fn normalize_authority(authority: &str, scheme: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    match default_port(scheme).and_then(|p| lower.strip_suffix(p)) {
        Some(host) if !host.is_empty() && !host.ends_with(':') => host.to_string(),
        _ => lower,
    }
}

/// `:80` for http, `:443` for https: the ports `@authority` leaves out.
pub(crate) fn default_port(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("http") {
        Some(":80")
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(":443")
    } else {
        None
    }
}

/// Index of the first `?` (or the length): a byte loop, cheaper than `split_once` on short targets.
fn query_mark(pq: &str) -> usize {
    pq.bytes().position(|b| b == b'?').unwrap_or(pq.len())
}

/// Splits `scheme://authority/rest` into its parts; `None` for origin-form targets.
fn split_absolute(target: &str) -> Option<(&str, &str, &str)> {
    if target.starts_with('/') {
        return None;
    }
    let (scheme, after) = target.split_once("://")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    Some((scheme, authority, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str) -> RequestHead {
        RequestHead::new("GET", target, "https", vec![("Host".into(), "Example.com".into())])
    }

    #[test]
    fn path_and_query_forms() {
        assert_eq!(head("/a/b?x=1").path(), "/a/b");
        assert_eq!(head("/a/b?x=1").query(), Some("x=1"));
        assert_eq!(head("/a").query(), None);
        assert_eq!(head("?x").path(), "/");
        let abs = head("https://api.example.com:8443/p?q=1");
        assert_eq!(abs.authority().unwrap(), "api.example.com:8443");
        assert_eq!(abs.path(), "/p");
        assert_eq!(abs.path_and_query(), "/p?q=1");
        assert_eq!(head("https://h").path(), "/");
    }

    #[test]
    fn target_forms() {
        let ok = |t: &str, host: &str| RequestHead::new("GET", t, "https", vec![("Host".into(), host.into())]).check_target(100);
        ok("/a?b", "x").unwrap();
        ok("*", "x").unwrap();
        ok("https://API.example.com:443/p", "api.example.com").unwrap();
        for (t, host) in [
            ("https://a.example.com/admin", "b.example.com"),
            ("http://a.example.com/admin", "a.example.com"),
            ("zz://a.example.com/x", "a.example.com"),
            ("a?x=http://evil/y", "evil"),
            ("relative/path", "x"),
            ("https:///nohost", "x"),
        ] {
            assert_eq!(ok(t, host).unwrap_err().code(), ErrorCode::MalformedHeader, "{t}");
        }
        assert_eq!(ok(&format!("/{}", "a".repeat(100)), "x").unwrap_err().code(), ErrorCode::HeaderTooLarge);
    }

    #[test]
    fn content_length_rules() {
        let h = head("/").with_header("Content-Length", "10");
        assert_eq!(h.content_length().unwrap(), Some(10));
        let h = head("/").with_header("content-length", "10, 10");
        assert_eq!(h.content_length().unwrap(), Some(10));
        let h = head("/").with_header("content-length", "10").with_header("Content-Length", "11");
        assert_eq!(h.content_length().unwrap_err().code(), ErrorCode::MalformedHeader);
        let h = head("/").with_header("content-length", "-1");
        assert_eq!(h.content_length().unwrap_err().code(), ErrorCode::MalformedHeader);
        let h = head("/").with_header("content-length", "99999999999999999999");
        assert_eq!(h.content_length().unwrap_err().code(), ErrorCode::MalformedHeader);
    }

    #[test]
    fn combines_and_normalizes_values() {
        let h = head("/").with_header("X-A", "  one ").with_header("x-a", "two\r\n  three");
        assert_eq!(h.combined("x-a", 100).unwrap().unwrap(), "one, two three");
        assert_eq!(h.combined("x-a", 5).unwrap_err().code(), ErrorCode::HeaderTooLarge);
        for bare in ["a\nb", "a\rb", "a\r\nb", "a\n b"] {
            let h = head("/").with_header("x-b", bare);
            assert_eq!(h.combined("x-b", 100).unwrap_err().code(), ErrorCode::MalformedHeader, "{bare:?}");
        }
        assert!(h.combined("x-b", 100).unwrap().is_none());
    }
}
