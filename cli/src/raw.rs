//! A raw HTTP/1.x request as captured (a file or stdin): request line, headers (`httparse`), and
//! the body framed by `Transfer-Encoding: chunked`, `Content-Length`, or (with neither header)
//! the end of the input. Every part is bounded; a framing problem is an input error, never a
//! guess (a `Transfer-Encoding` whose last coding is not `chunked` included: RFC 9112 §6.3).

use crate::input::size;

/// Largest request head (request line and headers).
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Largest body, after chunked decoding.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest input read: a head, a body and chunked framing around it.
pub(crate) const MAX_INPUT: usize = MAX_HEAD + 2 * MAX_BODY;
/// Most header lines.
const MAX_HEADERS: usize = 256;
/// Longest chunk-size line (with extensions) or trailer line.
const MAX_CHUNK_LINE: usize = 4096;

/// How the body was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    ContentLength,
    Chunked,
    ToEof,
}

/// The parsed request.
#[derive(Debug, Clone)]
pub(crate) struct RawRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub framing: Framing,
    /// Things worth telling the user (ignored trailing bytes, a short body), for stderr.
    pub notes: Vec<String>,
}

/// Parses one request from `input`.
///
/// # Errors
/// A message naming what is malformed (never echoing header values or the body).
pub(crate) fn parse(input: &[u8]) -> Result<RawRequest, String> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return parse_unterminated(input),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(format!("malformed request: more than {MAX_HEADERS} header lines"));
        }
        Err(e) => {
            return Err(format!("malformed request head: {e} (expected 'METHOD /target HTTP/1.1', then 'Name: value' lines)"));
        }
    };
    if head_len > MAX_HEAD {
        return Err(format!("request head is larger than {}", size(MAX_HEAD)));
    }
    let method = req.method.unwrap_or_default().to_string();
    let target = req.path.unwrap_or_default().to_string();
    let headers: Vec<(String, String)> =
        req.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned())).collect();
    let rest = input.get(head_len..).unwrap_or_default();
    let mut notes = Vec::new();
    let (body, framing) = body(&headers, rest, &mut notes)?;
    Ok(RawRequest { method, target, headers, body, framing, notes })
}

/// A head not ended by a blank line: accepted when the input ends right after a header line
/// (a hand-written file without a body), else reported.
fn parse_unterminated(input: &[u8]) -> Result<RawRequest, String> {
    if input.len() > MAX_HEAD {
        return Err(format!("request head is larger than {} (or has no blank line after the headers)", size(MAX_HEAD)));
    }
    if input.is_empty() {
        return Err("empty input: expected a raw HTTP request ('METHOD /target HTTP/1.1', headers, blank line, body)".into());
    }
    if input.ends_with(b"\n") {
        let mut closed = input.to_vec();
        closed.extend_from_slice(if input.ends_with(b"\r\n") { b"\r\n" } else { b"\n" });
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        if let Ok(httparse::Status::Complete(n)) = httparse::Request::new(&mut slots).parse(&closed)
            && n == closed.len()
        {
            return parse(&closed);
        }
    }
    Err("malformed request: the head ends before its blank line (is the request cut off?)".into())
}

fn body(headers: &[(String, String)], rest: &[u8], notes: &mut Vec<String>) -> Result<(Vec<u8>, Framing), String> {
    let values = |name: &'static str| values(headers, name);
    let codings: Vec<String> = values("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim_matches([' ', '\t']).to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .collect();
    let has_length = values("content-length").next().is_some();
    if values("transfer-encoding").next().is_some() {
        if has_length {
            return Err("malformed request: both Transfer-Encoding and Content-Length (ambiguous framing, RFC 9112 §6.1)".into());
        }
        if codings.last().map(String::as_str) == Some("chunked") {
            if codings.iter().filter(|c| *c == "chunked").count() > 1 {
                return Err("malformed request: chunked is applied more than once".into());
            }
            let (body, used) = dechunk(rest)?;
            if used < rest.len() && !is_blank(rest.get(used..).unwrap_or_default()) {
                notes.push(format!("{} bytes after the last chunk were ignored", rest.len() - used));
            }
            return Ok((body, Framing::Chunked));
        }
        // RFC 9112 §6.3: in a request, a Transfer-Encoding whose final coding is not chunked
        // leaves the body length unknown; a server answers 400 and closes the connection.
        return Err("malformed request: Transfer-Encoding does not end with chunked, so the body length cannot be \
                    determined (RFC 9112 §6.3: a server answers 400 Bad Request)"
            .into());
    }
    if has_length {
        let declared = content_length(values("content-length"))?;
        if declared > MAX_BODY as u64 {
            return Err(format!("Content-Length is larger than {} (the limit of this tool)", size(MAX_BODY)));
        }
        let declared = usize::try_from(declared).unwrap_or(usize::MAX);
        if rest.len() < declared {
            notes.push(format!("the input ends {} bytes before the declared Content-Length", declared - rest.len()));
            return Ok((rest.to_vec(), Framing::ContentLength));
        }
        let extra = rest.get(declared..).unwrap_or_default();
        if !is_blank(extra) {
            notes.push(format!("{} bytes after the Content-Length body were ignored", extra.len()));
        }
        return Ok((rest.get(..declared).unwrap_or_default().to_vec(), Framing::ContentLength));
    }
    to_eof(rest)
}

/// The rest of the input, for a request with no framing header at all; a rest of only line
/// breaks (an editor's final newline) is no body.
fn to_eof(rest: &[u8]) -> Result<(Vec<u8>, Framing), String> {
    if rest.len() > MAX_BODY {
        return Err(format!("body is larger than {} (the limit of this tool)", size(MAX_BODY)));
    }
    if is_blank(rest) {
        return Ok((Vec::new(), Framing::ToEof));
    }
    Ok((rest.to_vec(), Framing::ToEof))
}

fn values<'a>(headers: &'a [(String, String)], name: &'static str) -> impl Iterator<Item = &'a str> + use<'a> {
    headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|c| *c == b'\r' || *c == b'\n')
}

/// `Content-Length` for framing: one decimal value (a list of equal values is one value).
fn content_length<'a>(values: impl Iterator<Item = &'a str>) -> Result<u64, String> {
    let mut found: Option<u64> = None;
    for part in values.flat_map(|v| v.split(',')) {
        let part = part.trim_matches([' ', '\t']);
        if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err("malformed request: Content-Length is not a decimal number".into());
        }
        let n: u64 = part.parse().map_err(|_| "malformed request: Content-Length is out of range".to_string())?;
        if found.is_some_and(|f| f != n) {
            return Err("malformed request: conflicting Content-Length values".into());
        }
        found = Some(n);
    }
    found.ok_or_else(|| "malformed request: empty Content-Length".to_string())
}

/// Decodes a chunked body (RFC 9112 §7.1): returns the body and the bytes consumed. Trailer
/// fields are read and dropped. Line ends may be CRLF or a bare LF.
fn dechunk(input: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let (size_line, next) = line(input, pos).ok_or("malformed chunked body: it ends before the last (0-size) chunk")?;
        let size_text = size_line.split(|b| *b == b';').next().unwrap_or_default().trim_ascii();
        if size_text.is_empty() || !size_text.iter().all(u8::is_ascii_hexdigit) {
            return Err("malformed chunked body: a chunk size is not hexadecimal".into());
        }
        // Leading zeros are allowed (`0000000003`); the value is bounded, not the digits typed
        // (the line itself is bounded by MAX_CHUNK_LINE).
        let significant = size_text.iter().position(|b| *b != b'0').map_or(&[][..], |i| size_text.get(i..).unwrap_or_default());
        if significant.len() > 8 {
            return Err("malformed chunked body: a chunk size is over 4 GiB".into());
        }
        let size_text = significant;
        let chunk_size = size_text.iter().try_fold(0usize, |acc, b| {
            let digit = usize::try_from(char::from(*b).to_digit(16)?).ok()?;
            acc.checked_mul(16)?.checked_add(digit)
        });
        let chunk_size = chunk_size.ok_or("malformed chunked body: a chunk size is out of range")?;
        pos = next;
        if chunk_size == 0 {
            // Trailer fields, then an empty line (or the end of the input).
            loop {
                match line(input, pos) {
                    None if input.len().saturating_sub(pos) > MAX_CHUNK_LINE => {
                        return Err("malformed chunked body: a trailer line is too long".into());
                    }
                    None => return Ok((body, input.len())),
                    Some((l, n)) => {
                        pos = n;
                        if l.is_empty() {
                            return Ok((body, pos));
                        }
                    }
                }
            }
        }
        if body.len().saturating_add(chunk_size) > MAX_BODY {
            return Err(format!("chunked body is larger than {} (the limit of this tool)", size(MAX_BODY)));
        }
        let end =
            pos.checked_add(chunk_size).filter(|e| *e <= input.len()).ok_or("malformed chunked body: a chunk is cut off")?;
        body.extend_from_slice(input.get(pos..end).unwrap_or_default());
        pos = end;
        match input.get(pos..) {
            Some([b'\r', b'\n', ..]) => pos += 2,
            Some([b'\n', ..]) => pos += 1,
            _ => return Err("malformed chunked body: a chunk is not followed by a line break".into()),
        }
    }
}

/// The line starting at `pos` without its line end, and where the next line starts. `None` at the
/// end of the input or when no line end follows within [`MAX_CHUNK_LINE`] bytes.
fn line(input: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = input.get(pos..)?;
    let window = rest.get(..rest.len().min(MAX_CHUNK_LINE + 2))?;
    let lf = window.iter().position(|b| *b == b'\n')?;
    let line = rest.get(..lf)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, pos + lf + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_body_and_notes() {
        let r = parse(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc\n").unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str(), r.body.as_slice()), ("POST", "/x", &b"abc"[..]));
        assert!(r.notes.is_empty(), "a final newline is not worth a note");
        let r = parse(b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(r.body, b"abc");
        assert_eq!(r.notes.len(), 1);
        let r = parse(b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").unwrap();
        assert_eq!(r.body, b"ab");
        assert!(r.notes[0].contains("3 bytes before"));
    }

    #[test]
    fn chunked_with_extensions_trailers_and_bare_lf() {
        let r =
            parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n")
                .unwrap();
        assert_eq!(r.body, b"abc0123456789");
        assert_eq!(r.framing, Framing::Chunked);
        let r = parse(b"POST /x HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n2\nhi\n0\n").unwrap();
        assert_eq!(r.body, b"hi");
        for bad in [
            &b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"[..],
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFF\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n000100000000\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn chunk_sizes_with_leading_zeros() {
        let r =
            parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0000000003\r\nabc\r\n000000000000\r\n\r\n").unwrap();
        assert_eq!((r.body.as_slice(), r.framing), (&b"abc"[..], Framing::Chunked));
        let r =
            parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000002;e=1\r\nhi\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"hi");
        // Eight significant digits parse (and are then over this tool's body limit); nine do not.
        let e = parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00FFFFFFFF\r\n").unwrap_err();
        assert!(e.contains("larger than 16 MiB"), "{e}");
        let e = parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0100000000\r\n").unwrap_err();
        assert!(e.contains("over 4 GiB"), "{e}");
    }

    #[test]
    fn transfer_encoding_not_ending_in_chunked_is_refused() {
        for te in ["chunked, identity", "identity", "", "gzip", "chunked, gzip", " , "] {
            let input = format!("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {te}\r\n\r\nbody bytes");
            let e = parse(input.as_bytes()).unwrap_err();
            assert!(e.contains("Transfer-Encoding does not end with chunked") && e.contains("RFC 9112"), "{te:?}: {e}");
        }
        // Two header lines are one list: the last coding is the last line's.
        let r = parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"hi");
        let e = parse(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\nhi").unwrap_err();
        assert!(e.contains("does not end with chunked"), "{e}");
    }

    #[test]
    fn heads() {
        let r = parse(b"GET /a?b=1 HTTP/1.1\nHost: h\n").unwrap();
        assert_eq!((r.target.as_str(), r.headers.len(), r.body.len()), ("/a?b=1", 1, 0));
        let r = parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n").unwrap();
        assert!(r.body.is_empty());
        let r = parse(b"POST / HTTP/1.0\r\nHost: h\r\n\r\nrest of input").unwrap();
        assert_eq!((r.body.as_slice(), r.framing), (&b"rest of input"[..], Framing::ToEof));
        for bad in [
            &b""[..],
            b"GET / HTTP/1.1\r\nHost: h",
            b"NOT A REQUEST\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b"X-A: 1\r\n".as_slice(), 300).flatten());
        big.extend_from_slice(b"\r\n");
        assert!(parse(&big).unwrap_err().contains("header lines"));
        let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(parse(huge.as_bytes()).unwrap_err().contains("larger"));
    }
}
