//! How the request reached the application: its URL scheme and host, from the adapter, the
//! core's default, or — only when the policy trusts a proxy — the proxy's `Forwarded` /
//! `X-Forwarded-Proto` / `X-Forwarded-Host` headers.
//!
//! A trusted proxy is trusted for one hop: the value it wrote is the last one in the field
//! (a client can put anything before it, and proxies that append keep what the client sent).

use std::borrow::Cow;

use crate::error::{ErrorCode, Result, fail};
use crate::request::RequestHead;

/// Longest forwarded host accepted.
const MAX_HOST_LEN: usize = 1024;

/// The head the verifier reads: `head` itself unless a trusted proxy's scheme or host applies
/// (an empty scheme stays empty: [`RequestHead::url_scheme`] reads it as the core's default).
///
/// # Errors
/// `ERR_MALFORMED_HEADER` for a trusted forwarding header that names no http(s) scheme or no
/// plausible host; `ERR_HEADER_TOO_LARGE` past `max_len`.
pub fn effective_head<'h>(head: &'h RequestHead, trust_proxy: bool, max_len: usize) -> Result<Cow<'h, RequestHead>> {
    let (proto, host) = if trust_proxy { forwarded(head, max_len)? } else { (None, None) };
    if proto.is_none() && host.is_none() {
        return Ok(Cow::Borrowed(head));
    }
    let mut out = head.clone();
    if let Some(p) = proto {
        out.scheme = p;
    }
    if let Some(h) = host {
        out.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("host"));
        out.headers.push(("host".to_string(), h));
    }
    Ok(Cow::Owned(out))
}

/// The scheme and host the nearest proxy reports: `Forwarded` first, else the `X-Forwarded-*` pair.
fn forwarded(head: &RequestHead, max_len: usize) -> Result<(Option<String>, Option<String>)> {
    let (mut proto, mut host) = (None, None);
    if let Some(value) = head.combined("forwarded", max_len)? {
        let last = split_outside_quotes(&value, ',').pop().unwrap_or_default();
        for pair in split_outside_quotes(last, ';') {
            let Some((k, v)) = pair.split_once('=') else { continue };
            let v = unquote(v.trim());
            match k.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(v),
                "host" => host = Some(v),
                _ => {}
            }
        }
    }
    if proto.is_none() {
        proto = head.combined("x-forwarded-proto", max_len)?.map(|v| last_item(&v));
    }
    if host.is_none() {
        host = head.combined("x-forwarded-host", max_len)?.map(|v| last_item(&v));
    }
    let proto = match proto {
        Some(p) if p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https") => Some(p.to_ascii_lowercase()),
        Some(_) => return fail(ErrorCode::MalformedHeader, "the trusted proxy's forwarded scheme is not http or https"),
        None => None,
    };
    if let Some(h) = &host
        && (h.is_empty() || h.len() > MAX_HOST_LEN || !h.bytes().all(|b| b.is_ascii_graphic() && !b"/?#@\"\\".contains(&b)))
    {
        return fail(ErrorCode::MalformedHeader, "the trusted proxy's forwarded host is not a host[:port]");
    }
    Ok((proto, host))
}

fn last_item(v: &str) -> String {
    v.rsplit(',').next().unwrap_or_default().trim().to_string()
}

/// Splits at `sep` outside double quotes (a quoted `Forwarded` value may hold `,` or `;`).
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            out
        }
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(scheme: &str, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead::new("GET", "/", scheme, headers.iter().map(|(n, v)| ((*n).to_string(), (*v).to_string())).collect())
    }

    fn effective(h: &RequestHead, trust: bool) -> (String, Option<String>) {
        let e = effective_head(h, trust, 8192).expect("valid");
        (e.url_scheme().to_string(), e.values("host").next().map(str::to_string))
    }

    #[test]
    fn the_adapter_scheme_wins_unless_a_proxy_is_trusted() {
        let h =
            head("http", &[("Host", "internal:8080"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.com")]);
        assert!(matches!(effective_head(&h, false, 8192), Ok(Cow::Borrowed(_))));
        assert_eq!(effective(&h, false), ("http".into(), Some("internal:8080".into())));
        assert_eq!(effective(&h, true), ("https".into(), Some("api.example.com".into())));
    }

    #[test]
    fn an_unknown_scheme_takes_the_core_default() {
        assert_eq!(effective(&head("", &[("Host", "h")]), false).0, crate::config::DEFAULT_URL_SCHEME);
        assert_eq!(effective(&head("", &[("Host", "h")]), true).0, crate::config::DEFAULT_URL_SCHEME);
        assert!(matches!(effective_head(&head("", &[("Host", "h")]), false, 8192), Ok(Cow::Borrowed(_))), "no copy");
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_and_only_its_last_element() {
        let h = head(
            "http",
            &[
                ("Forwarded", "for=1.2.3.4;proto=http;host=evil.example, for=10.0.0.1;proto=https;host=\"api.example.com:8443\""),
                ("X-Forwarded-Proto", "http"),
            ],
        );
        assert_eq!(effective(&h, true), ("https".into(), Some("api.example.com:8443".into())));
        let spoofed_first =
            head("http", &[("X-Forwarded-Proto", "http, https"), ("X-Forwarded-Host", "evil.example, api.example.com")]);
        assert_eq!(effective(&spoofed_first, true), ("https".into(), Some("api.example.com".into())));
    }

    #[test]
    fn a_trusted_header_that_says_nonsense_is_refused() {
        for (n, v) in
            [("X-Forwarded-Proto", "ftp"), ("X-Forwarded-Host", "a/b"), ("Forwarded", "proto=gopher"), ("X-Forwarded-Host", "")]
        {
            let e = effective_head(&head("http", &[(n, v)]), true, 8192).expect_err(v);
            assert_eq!(e.code(), ErrorCode::MalformedHeader, "{n}: {v}");
        }
    }
}
