//! The request-intake contract: what every request must satisfy before a scheme reads it, and
//! what every adapter does around the core. It is the one place these rules are written down;
//! adapters rely on it and never re-implement a check.
//!
//! The core applies, in `Guard::prepare` (so `begin`, `verify` and `explain` alike), before the
//! scheme parses ([`check`]):
//!
//! 1. **Framing** (RFC 9112 §6.1, §6.3): `Transfer-Encoding` together with `Content-Length` is
//!    refused — the two disagree on where the body ends, the classic smuggling vector — and so is
//!    a `Transfer-Encoding` whose final coding is not `chunked`, or that applies `chunked` more
//!    than once: the body's end would then be the connection's, which a proxy and this server may
//!    see differently (`ERR_BAD_FRAMING`).
//! 2. **Method**: at most `max_header_len` bytes (`ERR_HEADER_TOO_LARGE`), and an RFC 9110 token
//!    (`ERR_MALFORMED_HEADER`). It goes into every MAC, so it is bounded like a header.
//! 3. **Target**: [`RequestHead::check_target`].
//!
//! Adapters apply, because they own the connection:
//!
//! 4. A body the server could not read — a bad chunk size, a truncated chunk, the connection
//!    ending before the declared length — is `ERR_BAD_FRAMING`, not a digest or length error:
//!    the bytes that did arrive prove nothing.
//! 5. After any refusal with body bytes still unread, answer with `Connection: close` and read
//!    no more ([`close_after_refusal`]): draining an unverified body costs the server for the
//!    attacker, and whatever follows on the connection cannot be trusted to start a new request.

use crate::error::{ErrorCode, Result, fail};
use crate::request::RequestHead;

/// Checks the request-intake rules the core owns (1–3 above), in that order.
///
/// # Errors
/// `ERR_BAD_FRAMING`, `ERR_HEADER_TOO_LARGE` or `ERR_MALFORMED_HEADER`, as listed above.
pub fn check(head: &RequestHead, max_len: usize) -> Result<()> {
    check_framing(head, max_len)?;
    check_method(&head.method, max_len)?;
    head.check_target(max_len)
}

/// Whether a request announces a body, from its raw `Content-Length` and `Transfer-Encoding`
/// values: any non-empty `Transfer-Encoding`, or a `Content-Length` that is not zero (one that
/// does not parse announces something). Adapters ask this for rule 5 and for `Accept-Signature`,
/// so every framework decides it the same way.
#[must_use]
pub fn announces_body(content_length: Option<&str>, transfer_encoding: Option<&str>) -> bool {
    if given(transfer_encoding).is_some() {
        return true;
    }
    given(content_length).is_some_and(|v| !v.bytes().all(|b| b == b'0'))
}

/// A header value without its surrounding whitespace; `None` when absent or empty.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(|v| v.trim_matches([' ', '\t'])).filter(|v| !v.is_empty())
}

/// Whether an adapter must close the connection after refusing a request (rule 5): whenever body
/// bytes are left unread.
#[must_use]
pub const fn close_after_refusal(body_fully_read: bool) -> bool {
    !body_fully_read
}

fn check_framing(head: &RequestHead, max_len: usize) -> Result<()> {
    // One pass comparing lengths first: this runs on every request, nearly all without
    // Transfer-Encoding, and a cold cache makes every extra call path count.
    let (mut te, mut cl) = (false, false);
    for (name, _) in &head.headers {
        match name.len() {
            17 => te |= name.eq_ignore_ascii_case("transfer-encoding"),
            14 => cl |= name.eq_ignore_ascii_case("content-length"),
            _ => {}
        }
    }
    if !te {
        return Ok(());
    }
    if cl {
        return fail(ErrorCode::BadFraming, "the request has both Transfer-Encoding and Content-Length");
    }
    let te = head.combined("transfer-encoding", max_len)?.unwrap_or_default();
    // A list (RFC 9110 §5.6.1): empty elements do not count; coding names are case-insensitive.
    let mut codings = te.split(',').map(|c| c.trim_matches([' ', '\t'])).filter(|c| !c.is_empty());
    let Some(last) = codings.next_back() else {
        return fail(ErrorCode::BadFraming, "Transfer-Encoding names no coding");
    };
    if !last.eq_ignore_ascii_case("chunked") {
        return fail(ErrorCode::BadFraming, "the final transfer coding is not chunked");
    }
    if codings.any(|c| c.eq_ignore_ascii_case("chunked")) {
        return fail(ErrorCode::BadFraming, "chunked is applied more than once");
    }
    Ok(())
}

fn check_method(method: &str, max_len: usize) -> Result<()> {
    if method.len() > max_len {
        return fail(ErrorCode::HeaderTooLarge, format!("the method is longer than {max_len} bytes"));
    }
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return fail(ErrorCode::MalformedHeader, "the method is not a token");
    }
    Ok(())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, headers: &[(&str, &str)]) -> RequestHead {
        let mut h = RequestHead::new(method, "/p", "https", vec![("Host".into(), "h".into())]);
        for (n, v) in headers {
            h = h.with_header(*n, *v);
        }
        h
    }

    fn code(h: &RequestHead) -> Option<ErrorCode> {
        check(h, 64).err().map(|e| e.code())
    }

    #[test]
    fn framing() {
        for te in ["chunked", "Chunked", "gzip, chunked", " gzip ,, chunked ", "gzip,chunked"] {
            assert_eq!(code(&head("POST", &[("Transfer-Encoding", te)])), None, "{te:?}");
        }
        let split = head("POST", &[("Transfer-Encoding", "gzip"), ("transfer-encoding", "chunked")]);
        assert_eq!(code(&split), None, "field lines combine into one list");
        for te in ["gzip", "chunked, gzip", "chunked;x=1", "", " , ", "chunked, chunked", "identity"] {
            assert_eq!(code(&head("POST", &[("Transfer-Encoding", te)])), Some(ErrorCode::BadFraming), "{te:?}");
        }
        let both = [("Content-Length", "5"), ("Transfer-Encoding", "chunked")];
        assert_eq!(code(&head("POST", &both)), Some(ErrorCode::BadFraming));
        assert_eq!(code(&head("POST", &[("Content-Length", "5")])), None);
        let long = "chunked, ".repeat(10);
        assert_eq!(code(&head("POST", &[("Transfer-Encoding", &long)])), Some(ErrorCode::HeaderTooLarge));
    }

    #[test]
    fn method() {
        for m in ["GET", "POST", "M-SEARCH", "x!#$%&'*+-.^_`|~9"] {
            assert_eq!(code(&head(m, &[])), None, "{m:?}");
        }
        for m in ["", "GET POST", "GE\tT", "G\"ET", "GÉT", "GET\r\n", "(GET)", "G/T"] {
            assert_eq!(code(&head(m, &[])), Some(ErrorCode::MalformedHeader), "{m:?}");
        }
        assert_eq!(code(&head(&"A".repeat(65), &[])), Some(ErrorCode::HeaderTooLarge));
        assert_eq!(code(&head(&"A".repeat(64), &[])), None);
    }

    #[test]
    fn framing_then_method_then_target() {
        let mut h = head(&"A".repeat(65), &[("Content-Length", "1"), ("Transfer-Encoding", "chunked")]);
        h.target = "relative".into();
        assert_eq!(code(&h), Some(ErrorCode::BadFraming));
        h.headers.retain(|(n, _)| n != "Content-Length");
        assert_eq!(code(&h), Some(ErrorCode::HeaderTooLarge));
        h.method = "GET".into();
        assert_eq!(code(&h), Some(ErrorCode::MalformedHeader));
    }

    #[test]
    fn announcing_a_body() {
        for (cl, te, want) in [
            (None, None, false),
            (Some(""), None, false),
            (Some("0"), None, false),
            (Some(" 00 "), None, false),
            (Some("12"), None, true),
            (Some("x"), None, true),
            (None, Some("chunked"), true),
            (Some("0"), Some("chunked"), true),
            (None, Some(" "), false),
        ] {
            assert_eq!(announces_body(cl, te), want, "{cl:?} {te:?}");
        }
    }

    #[test]
    fn closing_after_a_refusal() {
        assert!(close_after_refusal(false));
        assert!(!close_after_refusal(true));
    }
}
