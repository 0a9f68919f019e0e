//! The request head as the core reads it, from `http` parts.

use hmac_guard::RequestHead;
use http::request::Parts;
use http::{HeaderMap, Version, header};

/// Method, target as sent (origin-form, or absolute-form over HTTP/1), the URL scheme (the
/// configured one, else the URI's, else empty: the core's default) and the raw header bytes. An
/// HTTP/2 request carries its authority in the URI: it is added as `Host` when there is none.
pub(crate) fn head_of(parts: &Parts, url_scheme: Option<&str>) -> RequestHead {
    let uri = &parts.uri;
    let target = match uri.path_and_query() {
        Some(pq) if uri.scheme().is_none() || parts.version >= Version::HTTP_2 => pq.as_str().to_string(),
        None if uri.scheme().is_none() => "/".to_string(),
        _ => uri.to_string(),
    };
    let scheme = url_scheme.or_else(|| uri.scheme_str()).unwrap_or_default();
    let mut head = RequestHead::from_raw(
        parts.method.as_str(),
        target,
        scheme,
        parts.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = uri.authority()
    {
        head.headers.push(("host".into(), authority.as_str().into()));
    }
    head
}

/// Whether the request announces a body (the core decides from the raw framing headers).
pub(crate) fn announces_body(headers: &HeaderMap) -> bool {
    let value = |name| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    hmac_guard::intake::announces_body(value(header::CONTENT_LENGTH), value(header::TRANSFER_ENCODING))
}
