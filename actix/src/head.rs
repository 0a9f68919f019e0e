//! The request head as the core reads it, from an actix `ServiceRequest`.

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use hmac_guard::RequestHead;

/// Method, target as sent (origin-form, or absolute-form: over HTTP/2 always, built from
/// `:scheme` and `:authority`, so the core refuses a `Host` that names another authority), the URL scheme (the
/// configured one, else whether the server accepted the connection over TLS) and the raw header
/// bytes; an HTTP/2 request's authority is added as `Host` when there is none.
pub(crate) fn head_of(req: &ServiceRequest, url_scheme: Option<&str>) -> RequestHead {
    let uri = req.uri();
    let target = match uri.path_and_query() {
        Some(pq) if uri.scheme().is_none() => pq.as_str().to_string(),
        None if uri.scheme().is_none() => "/".to_string(),
        _ => uri.to_string(),
    };
    let secure = if req.app_config().secure() { "https" } else { "http" };
    let mut head = RequestHead::from_raw(
        req.method().as_str(),
        target,
        url_scheme.unwrap_or(secure),
        req.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    if !req.headers().contains_key(header::HOST)
        && let Some(authority) = uri.authority()
    {
        head.headers.push(("host".into(), authority.as_str().into()));
    }
    head
}

/// Whether the request announces a body (the core decides from the raw framing headers).
pub(crate) fn announces_body(req: &ServiceRequest) -> bool {
    let value = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("?"));
    hmac_guard::intake::announces_body(value(header::CONTENT_LENGTH), value(header::TRANSFER_ENCODING))
}
