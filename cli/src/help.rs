//! `--help` texts.

/// Which help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    Main,
    Sign,
    Verify,
    Explain,
}

pub(crate) fn text(topic: Topic) -> &'static str {
    match topic {
        Topic::Main => MAIN,
        Topic::Sign => SIGN,
        Topic::Verify => VERIFY,
        Topic::Explain => EXPLAIN,
    }
}

const MAIN: &str = "\
hmac-guard: sign, verify and explain HMAC-signed HTTP requests
(RFC 9421 HTTP Message Signatures, or the simple HG1 header scheme)

Usage:
  hmac-guard sign    --key-id ID [OPTIONS] URL          print the signature headers, or a curl command
  hmac-guard sign    --preset NAME --body FILE [URL]    a webhook provider's headers for a body
  hmac-guard verify  --key-id ID [OPTIONS] [FILE | -]   verify a raw HTTP/1.1 request, print the verdict
  hmac-guard explain [--key-id ID] [OPTIONS] [FILE | -] print the signature base and every check
  hmac-guard help COMMAND     (or: hmac-guard COMMAND --help)
  hmac-guard --version

Secrets:
  Read from the environment variable HMAC_GUARD_SECRET (name another with --secret-env NAME) or
  from a file (--secret-file PATH; one trailing newline is removed), as raw bytes or, with
  --secret-encoding hex|base64, decoded. Never from an argument: a command line is visible to other
  users (ps, /proc) and kept in shell history, so --secret and the like are refused. No output,
  error or note ever contains a secret or the MAC a server would expect.

Exit codes:
  0  signed; verified; explained with a key and every check passing
  1  verify: the request was rejected; explain: a check failed (the ERR_* code is printed)
  2  usage or input error: bad option, no secret, unreadable file, malformed raw request
  3  explain without --key-id: incomplete, the signature was not checked (no key given); every
     other check passed, but the request is not known to be authentic

Webhook presets (--preset): standard-webhooks, svix, stripe, github, slack, shopify. sign
prints the provider's headers for a body; verify and explain check a captured delivery. The
secret is given as the provider's dashboard shows it (whsec_... included).

Example:
  read -rs HMAC_GUARD_SECRET && export HMAC_GUARD_SECRET
  hmac-guard sign --key-id client-1 --body-file order.json --curl http://127.0.0.1:3000/orders
  hmac-guard sign --preset stripe --secret-env STRIPE_WEBHOOK_SECRET --body event.json \\
      --curl http://127.0.0.1:3000/webhooks/stripe
";

const SIGN: &str = "\
hmac-guard sign: the headers that sign a request

Usage: hmac-guard sign --key-id ID [OPTIONS] URL
       hmac-guard sign --preset NAME --body FILE|- [--timestamp SECS] [--id ID] [--curl URL]

URL is absolute: http[s]://host[:port]/path?query. Prints the headers to add, one `Name: value`
line each (Content-Digest, Signature-Input, Signature; or the five X-HMAC-* headers with
--scheme simple). With --curl, prints instead a complete curl command line that sends exactly the
signed request: the body file with --data-binary @FILE, the -H headers and the signature headers.

Request:
  -X, --method METHOD        GET, or POST with --body-file (default)
      --body-file PATH       the exact body bytes (- for stdin; at most 16 MiB)
  -H, --header 'Name: value' another header to send (repeatable); cover it with --components
      --curl                 print a curl command line instead of header lines
      --print-base           also print the signature base on stderr (diff it with `explain`)

Key:
      --key-id ID            the key id (required)
      --alg ALG              hmac-sha256 (default) or hmac-sha512
      --secret-env NAME      the NAME of the environment variable holding the secret (default
                             HMAC_GUARD_SECRET; letters, digits and _)
      --secret-file PATH     file holding the secret (one trailing newline removed)
      --secret-encoding E    raw (default), hex or base64

Signature:
      --scheme S             rfc9421 (default) or simple
      --created SECS         created / X-HMAC-Timestamp, Unix seconds (default: now; for tests)
      --nonce NONCE          the nonce (default: 128 random bits; for tests)
  rfc9421 only:
      --label L              signature label (default sig1)
      --components LIST      covered components, space or comma separated (repeatable), e.g.
                             '@method @authority @path @query content-digest content-type'
                             (default: @method @authority @path @query, plus content-digest
                             when there is a body)
      --expires-in SECS      add expires = created + SECS
      --tag T                add the tag parameter
      --include-alg          add the alg parameter
      --digest D             sha-256 (default) or sha-512 for Content-Digest

Webhook delivery (--preset):
      --preset NAME          standard-webhooks, svix, stripe, github, slack or shopify: print the
                             headers that provider sends with the body (no --key-id; the secret,
                             from --secret-env NAME or --secret-file PATH, as the provider's
                             dashboard shows it, whsec_... included)
      --body PATH            the delivery's exact body bytes (- for stdin; --body-file works too)
      --timestamp SECS       the signed timestamp, Unix seconds (default: now; not for github
                             and shopify, which sign none)
      --id ID                the delivery id (standard-webhooks, svix; default: a random msg_...)
      --curl URL             a curl command that delivers it (Content-Type: application/json
                             unless -H gives another)
      --print-base           also print the signed string on stderr (as `explain` shows it)

Examples:
  hmac-guard sign --key-id client-1 --body-file order.json https://api.example.com/orders
  hmac-guard sign --key-id client-1 --body-file order.json -H 'Content-Type: application/json' \\
      --components '@method @authority @path @query content-digest content-type' \\
      --curl http://127.0.0.1:3000/orders
";

const VERIFY: &str = "\
hmac-guard verify: verify a raw HTTP/1.1 request with the hmac-guard verifier

Usage: hmac-guard verify --key-id ID [OPTIONS] [FILE | -]

Reads one request from FILE, or stdin when FILE is - or absent: the request line, header lines,
a blank line, then the body, framed by Content-Length, Transfer-Encoding: chunked, or the end of
the input when neither is present (LF or CRLF line ends; a Transfer-Encoding that does not end
with chunked is refused, as a server would with 400). Verifies it as a server holding this one
key would, with a fresh in-memory replay store (so this tool cannot tell a replayed request),
and prints:
  verdict: ok                            then scheme, key id, subject, created, nonce, covered components
  verdict: rejected ERR_CODE (STATUS)    then the client message and the reason
Exit 0 when verified, 1 when rejected, 2 for usage or input errors.

Key:
      --key-id ID            the key id (required)
      --subject S            the key's subject, reported on success
      --alg ALG              hmac-sha256 (default) or hmac-sha512
      --secret-env NAME      the NAME of the environment variable holding the secret (default
                             HMAC_GUARD_SECRET; letters, digits and _)
      --secret-file PATH     file holding the secret (one trailing newline removed)
      --secret-encoding E    raw (default), hex or base64

Verifier:
      --scheme S             rfc9421 (default) or simple
      --at SECS              check as of this Unix time (a captured request) instead of now
      --max-age SECS         oldest signature accepted (default 300)
      --max-skew SECS        furthest-future signature accepted (default 30)
      --body-limit BYTES     largest body accepted (default 1048576)
      --url-scheme S         how the request arrived: http or https (default: https, the core's)
      --host HOST            use this Host instead of the request's (e.g. a proxy rewrote it)
      --label L              accept only this signature label (repeatable; rfc9421)
      --tag T                require this tag (rfc9421)

Webhook delivery:
      --preset NAME          verify as that provider's receiver (standard-webhooks, svix, stripe,
                             github, slack, shopify): no --key-id; the endpoint's secret from
                             --secret-env NAME or --secret-file PATH as the provider's dashboard
                             shows it; prints the provider, delivery id, event type and the secret
                             that matched (secret-0)
      --tolerance SECS       the provider's clock tolerance (default 300; not for github, shopify)

Input limits: request head 64 KiB, body 16 MiB.

Example:
  printf 'POST /orders HTTP/1.1\\r\\nHost: api.example.com\\r\\n...' | hmac-guard verify --key-id client-1
";

const EXPLAIN: &str = "\
hmac-guard explain: how a server sees a signed request, check by check

Usage: hmac-guard explain [--key-id ID] [OPTIONS] [FILE | -]

Reads a raw HTTP/1.1 request like `verify` and prints the signature base (RFC 9421) or canonical
string (simple scheme) the server builds from it, the covered components and their values, the
signature parameters, and each check in the verifier's order with its outcome:
  checks:
    timestamp window: FAIL ERR_TIMESTAMP_EXPIRED (...)
  failing check: timestamp window
  verdict: rejected ERR_TIMESTAMP_EXPIRED (401)
With --key-id and a secret the key checks and the MAC run too (verdict: ok). Without --key-id no
secret is read: the key checks and the MAC are skipped, the body is still compared with the
signed digest, and a request that passes the rest ends with `verdict: incomplete` and exit 3:
the signature was not checked, so the request is not known to be authentic. Never prints a
secret or the MAC the server expects, and never claims the nonce. Control characters from the
request are printed as \\u{..} escapes.
Exit 0 when every check passed (with a key), 1 when one failed, 2 for usage or input errors,
3 when incomplete (no key given: the signature was not checked).

Options: those of `hmac-guard verify` (see `hmac-guard verify --help`), with --key-id optional.
With --preset NAME the delivery is explained as that provider's receiver sees it: the signed string
(what precedes the body, then <body>), and each check; the secret is read only when
--secret-env or --secret-file is given (without it: verdict incomplete, exit 3).

Examples:
  hmac-guard explain --at 1700000000 captured-request.txt
  hmac-guard explain --preset stripe --secret-env STRIPE_WEBHOOK_SECRET captured-delivery.txt
";
