//! The request head as the core reads it, from `http` parts.

use hmac_guard::RequestHead;
#[cfg(test)]
use http::Version;
use http::request::Parts;
use http::{HeaderMap, header};

/// Method, target as sent (origin-form, or absolute-form: over HTTP/2 always, built from
/// `:scheme` and `:authority`, so the core refuses a `Host` that names another authority), the URL scheme (the
/// configured one, else the URI's, else empty: the core's default) and the raw header bytes. An
/// HTTP/2 request carries its authority in the URI: it is added as `Host` when there is none.
pub(crate) fn head_of(parts: &Parts, url_scheme: Option<&str>) -> RequestHead {
    let uri = &parts.uri;
    let target = match uri.path_and_query() {
        Some(pq) if uri.scheme().is_none() => pq.as_str().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: Version, uri: &str, host: Option<&str>) -> Parts {
        let mut b = http::Request::builder().method("POST").uri(uri).version(version);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(()).unwrap_or_default().into_parts().0
    }

    #[test]
    fn http2_keeps_the_authority_so_a_different_host_is_refused() {
        // `:authority` b.example with a `host` header a.example: the core must see both.
        let head = head_of(&parts(Version::HTTP_2, "https://b.example/orders", Some("a.example")), None);
        assert_eq!(head.target, "https://b.example/orders");
        assert!(head.check_target(8192).is_err(), "a Host that names another authority than :authority");
        // Without a Host header the authority becomes Host; the same authority passes.
        let head = head_of(&parts(Version::HTTP_2, "https://b.example/orders", None), None);
        assert_eq!(head.single("host", 1024, hmac_guard::ErrorCode::MalformedHeader).ok().flatten(), Some("b.example"));
        assert!(head.check_target(8192).is_ok());
        // HTTP/1 origin-form is left as sent.
        let head = head_of(&parts(Version::HTTP_11, "/orders?x=1", Some("a.example")), Some("http"));
        assert_eq!((head.target.as_str(), head.scheme.as_str()), ("/orders?x=1", "http"));
    }
}
