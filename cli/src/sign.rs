//! `hmac-guard sign`: the signature headers for a method, URL and body file (`hmac_guard::Signer`),
//! as `Name: value` lines or as a complete `curl` command.

use hmac_guard::{DigestAlgorithm, RequestHead, Rfc9421SignOptions, Signer, SimpleSignOptions};

use crate::args::{SchemeKind, SignArgs, is_tchar};
use crate::raw::MAX_BODY;
use crate::secret::Secret;
use crate::{EXIT_OK, Failure, Io, Outcome, input};

const CMD: Option<&str> = Some("sign");

/// An absolute `http(s)` URL, split.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url {
    scheme: String,
    authority: String,
    path_and_query: String,
    /// The URL as curl should get it (without a fragment).
    for_curl: String,
}

pub(crate) fn run(a: &SignArgs, io: &mut Io<'_>) -> Outcome {
    if let Some(preset) = a.preset {
        return crate::webhook::run(a, preset, io);
    }
    let Some(key_id) = a.key.key_id.as_deref() else { return Err(Failure::usage(CMD, "--key-id is required")) };
    let url = parse_url(&a.url)?;
    let method = match &a.method {
        Some(m) if !m.is_empty() && m.bytes().all(is_tchar) => m.clone(),
        Some(_) => return Err(Failure::usage(CMD, "--method must be an HTTP method token (GET, POST, …)")),
        None if a.body_file.is_some() => "POST".into(),
        None => "GET".into(),
    };
    if a.curl && a.body_file.as_deref() == Some("-") {
        return Err(Failure::usage(CMD, "--curl needs the body in a file curl can read again (--body-file PATH, not -)"));
    }
    let secret = Secret::load(&a.key, io)?;
    let signer = Signer::new(secret.into_spec(&a.key, key_id, None)?)
        .map_err(|e| Failure::input(format!("the key is not usable: {}", e.reason())))?;
    let body = match &a.body_file {
        Some(path) => input::read_source(Some(path), "the --body-file file", io.stdin, MAX_BODY).map_err(Failure::input)?,
        None => Vec::new(),
    };

    // The request as curl will send it, as far as a signature can cover it.
    let mut headers = a.headers.clone();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.push(("Host".into(), url.authority.clone()));
    }
    if a.body_file.is_some() {
        headers.push(("Content-Length".into(), body.len().to_string()));
    }
    let head = RequestHead::new(method.clone(), url.path_and_query.clone(), url.scheme.clone(), headers);
    let signed = match a.scheme {
        SchemeKind::Rfc9421 => {
            let opts = Rfc9421SignOptions {
                label: a.label.clone().unwrap_or_else(|| "sig1".into()),
                components: a.components.clone(),
                created: a.created,
                expires_in: a.expires_in,
                nonce: a.nonce.clone(),
                tag: a.tag.clone(),
                include_alg: a.include_alg,
                digest: a.digest.unwrap_or(DigestAlgorithm::Sha256),
            };
            signer.sign_rfc9421_with_base(&head, &body, &opts)
        }
        SchemeKind::Simple => {
            let opts = SimpleSignOptions { timestamp: a.created, nonce: a.nonce.clone() };
            signer.sign_simple_with_base(&method, &url.path_and_query, &body, &opts)
        }
    }
    .map_err(|e| Failure::input(format!("cannot sign: {} ({})", e.reason(), e.code().as_str())))?;
    let (signed, base) = signed;
    if a.print_base {
        // On stderr: stdout stays the headers (or the curl command) a script consumes.
        let scheme = if a.scheme == SchemeKind::Simple { "simple" } else { "rfc9421" };
        crate::check::write_base(io.stderr, scheme, &base)?;
    }
    let signed: Vec<(String, String)> = signed.into_iter().map(|(n, v)| (display_name(&n), v)).collect();

    let out = &mut *io.stdout;
    if a.curl {
        out.write_all(curl_command(a, &method, &url, &signed).as_bytes())?;
    } else {
        for (name, value) in &signed {
            writeln!(out, "{name}: {value}")?;
        }
    }
    Ok(EXIT_OK)
}

/// `curl` with every header the signature needs. `--path-as-is` and `--globoff` keep curl from
/// rewriting the path (`/../`, `[]`) after it was signed.
pub(crate) fn curl_command(a: &SignArgs, method: &str, url: &Url, signed: &[(String, String)]) -> String {
    let mut lines: Vec<Vec<String>> =
        vec![vec!["curl".into(), "--silent".into(), "--show-error".into(), "--path-as-is".into(), "--globoff".into()]];
    let inferred = if a.body_file.is_some() { "POST" } else { "GET" };
    if method == "HEAD" {
        lines.push(vec!["--head".into()]);
    } else if method != inferred {
        lines.push(vec!["--request".into(), method.into()]);
    }
    for (name, value) in a.headers.iter().chain(signed) {
        lines.push(vec!["--header".into(), format!("{name}: {value}")]);
    }
    if let Some(path) = &a.body_file {
        lines.push(vec!["--data-binary".into(), format!("@{path}")]);
    }
    lines.push(vec![url.for_curl.clone()]);
    let mut out = lines
        .iter()
        .map(|words| words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(" \\\n  ");
    out.push('\n');
    out
}

/// POSIX shell quoting: bare when safe, else single quotes (`'` as `'\''`).
fn quote(word: &str) -> String {
    let safe = !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:@,+".contains(&b));
    if safe { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// The headers' usual spelling (the simple scheme's names are lowercase constants in the core).
fn display_name(name: &str) -> String {
    match name {
        "x-hmac-key-id" => "X-HMAC-Key-Id".into(),
        "x-hmac-timestamp" => "X-HMAC-Timestamp".into(),
        "x-hmac-nonce" => "X-HMAC-Nonce".into(),
        "x-hmac-content-sha256" => "X-HMAC-Content-SHA256".into(),
        "x-hmac-signature" => "X-HMAC-Signature".into(),
        other => other.to_string(),
    }
}

pub(crate) fn parse_url(s: &str) -> Result<Url, Failure> {
    let bad = |why: &str| Failure::usage(CMD, format!("the URL {why} (expected http[s]://host[:port]/path?query)"));
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("must be printable ASCII without spaces: percent-encode the rest"));
    }
    let Some((scheme, rest)) = s.split_once("://") else { return Err(bad("is not absolute")) };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("must use http or https"));
    }
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(end);
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry user:password@ (authentication is the signature's job)"));
    }
    let path_and_query = match path_and_query {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    let for_curl = format!("{scheme}://{authority}{path_and_query}");
    Ok(Url { scheme, authority: authority.to_string(), path_and_query, for_curl })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("HTTPS://Api.example.com:8443?x=1#frag").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.authority.as_str(), u.path_and_query.as_str()),
            ("https", "Api.example.com:8443", "/?x=1")
        );
        assert_eq!(u.for_curl, "https://Api.example.com:8443/?x=1");
        assert_eq!(parse_url("http://h").unwrap().path_and_query, "/");
        for bad in ["/just/a/path", "ftp://h/x", "http:///x", "http://u:p@h/x", "http://h/a b", "http://h/é"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(quote("--header"), "--header");
        assert_eq!(quote("Signature: sig1=:ab+/=:"), "'Signature: sig1=:ab+/=:'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
