#![allow(clippy::unwrap_used)]
//! Property tests for the core.
//!
//! (a) Streaming: any chunking of a body (random split points, empty chunks included) gives the
//!     same verdict as one-shot `verify`, for both schemes, for valid and tampered bodies.
//! (b) Round trips: what `Signer` signs, `Guard` accepts, for random methods, targets, queries,
//!     bodies, header sets, algorithms and (RFC 9421) covered components; the verified values are
//!     the signed ones, a second delivery is a replay, and a changed path is a mismatch.
//! (c) Robustness: the parsers and the verifier never panic on arbitrary input, and the few
//!     invariants that hold for any input (canonical re-serialization, digest lengths,
//!     `explain` agreeing with `verify`) do hold.
//!
//! Case counts keep the whole file at a few seconds in a debug build; raise them for a soak run
//! with `PROPTEST_CASES=N cargo test -p hmac-guard --test properties` (applies to every block).

use std::sync::Arc;

use hmac_guard::digest::parse_content_digest;
use hmac_guard::sf::{self, Member};
use hmac_guard::{
    Algorithm, Clock, DigestAlgorithm, ErrorCode, Guard, KeyRing, KeySpec, ManualClock, Policy, ReplayMode, RequestHead, Rfc9421,
    Rfc9421Config, Rfc9421SignOptions, Scheme, Signer, Simple, SimpleSignOptions, Verified,
};
use proptest::collection::vec as pvec;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};

/// `cases` proptest cases, or `PROPTEST_CASES` when set (for soak runs).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// The verifier's "now" in every test (Unix seconds).
const NOW: i64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Request model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchemeKind {
    Rfc9421,
    Simple,
}

/// A request to sign, described by its parts so a test can rebuild it with one part changed.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    scheme: &'static str,
    host: String,
    upper_host_name: bool,
    absolute: bool,
    path: String,
    /// `None`: no `?` at all. `Some(pairs)`: `?` and the pairs (names distinct).
    query: Option<Vec<(String, String)>>,
    /// Extra header instances: (index into `x-p-N`, upper-case name, value). Repeats allowed.
    extra: Vec<(usize, bool, String)>,
    /// An `x-dict` header holding an RFC 8941 dictionary.
    dict: Option<SfHeader>,
    /// An `x-list` header holding an RFC 8941 list.
    list: Option<SfHeader>,
    body: Vec<u8>,
    content_length: bool,
}

impl Req {
    fn path_and_query(&self) -> String {
        match &self.query {
            None => self.path.clone(),
            Some(pairs) => {
                let q: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
                format!("{}?{}", self.path, q.join("&"))
            }
        }
    }

    fn head(&self) -> RequestHead {
        let pq = self.path_and_query();
        let target = if self.absolute { format!("{}://{}{pq}", self.scheme, self.host) } else { pq };
        let mut headers = vec![(if self.upper_host_name { "Host" } else { "host" }.to_string(), self.host.clone())];
        for (i, upper, value) in &self.extra {
            let name = if *upper { format!("X-P-{i}") } else { format!("x-p-{i}") };
            headers.push((name, value.clone()));
        }
        if let Some(d) = &self.dict {
            headers.push(("X-Dict".into(), d.value.clone()));
        }
        if let Some(l) = &self.list {
            headers.push(("x-list".into(), l.value.clone()));
        }
        if self.content_length {
            headers.push(("Content-Length".into(), self.body.len().to_string()));
        }
        RequestHead::new(self.method.clone(), target, self.scheme, headers)
    }

    fn extra_indices(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = self.extra.iter().map(|(i, _, _)| *i).collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).prop_map(String::from),
        "[A-Z]{1,10}",
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}",
    ]
}

fn host() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z][a-zA-Z0-9-]{0,9}(\\.[a-z]{2,5})?",
        prop_oneof![Just(String::new()), Just(":443".into()), Just(":80".into()), ":[0-9]{1,5}"],
    )
        .prop_map(|(h, p)| format!("{h}{p}"))
}

fn path() -> impl Strategy<Value = String> {
    pvec("[A-Za-z0-9._~!$'()*+,;=:@-]{0,10}", 1..4).prop_map(|segs| format!("/{}", segs.join("/")))
}

fn query() -> impl Strategy<Value = Option<Vec<(String, String)>>> {
    proptest::option::weighted(0.7, pvec(("[a-z]{1,6}", "[A-Za-z0-9._~+%-]{0,8}"), 0..5)).prop_map(|q| {
        q.map(|mut pairs| {
            let mut seen = std::collections::HashSet::new();
            pairs.retain(|(n, _)| seen.insert(n.clone()));
            pairs
        })
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~\t]{0,24}",
        // obs-fold (RFC 9112: CRLF followed by whitespace), normalized to one space. Bare CR or LF
        // is refused by the verifier (tested in the crate's unit tests).
        1 => ("[a-z]{1,5}", "[ \t]{0,2}", "[ \t]{1,3}", "[a-z]{1,5}").prop_map(|(a, pre, ws, b)| format!("{a}{pre}\r\n{ws}{b}")),
    ]
}

/// A structured header: the value as sent, and what RFC 8941 canonical serialization makes of it.
#[derive(Debug, Clone)]
struct SfHeader {
    value: String,
    canonical: String,
    /// Dictionary keys and each member's canonical serialization (for `key="…"`).
    members: Vec<(&'static str, String)>,
}

/// Dictionary members: key, value as sent (empty: bare key, i.e. `?1`), canonical value.
const DICT_MEMBERS: [(&str, &str, &str); 8] = [
    ("b", "(x   y);p", "(x y);p"),
    ("c", "\"s t\\\"r\"", "\"s t\\\"r\""),
    ("d", "?0", "?0"),
    ("e", ":AAA=:", ":AAA=:"),
    ("f", "tok/en", "tok/en"),
    ("g", "1.50;q=2", "1.5;q=2"),
    ("h", "", "?1"),
    ("i", "?1;x", "?1;x"),
];

fn dict() -> impl Strategy<Value = Option<SfHeader>> {
    proptest::option::weighted(
        0.5,
        (-999i64..=999, subsequence(DICT_MEMBERS.to_vec(), 0..=DICT_MEMBERS.len()), select(vec![",", ", ", " ,  "])).prop_map(
            |(a, members, sep)| {
                let mut sent = vec![format!("a={a}")];
                let mut canonical = sent.clone();
                let mut keyed = vec![("a", a.to_string())];
                for (k, v, c) in members {
                    sent.push(if v.is_empty() { k.to_string() } else { format!("{k}={v}") });
                    // A true boolean serializes as the bare key, with its parameters.
                    canonical.push(match c.strip_prefix("?1") {
                        Some(params) => format!("{k}{params}"),
                        None => format!("{k}={c}"),
                    });
                    keyed.push((k, c.to_string()));
                }
                SfHeader { value: sent.join(sep), canonical: canonical.join(", "), members: keyed }
            },
        ),
    )
}

/// List members: as sent, canonical.
const LIST_MEMBERS: [(&str, &str); 7] = [
    ("1", "1"),
    ("( a  b );p", "(a b);p"),
    ("tok", "tok"),
    ("?1", "?1"),
    ("\"s\"", "\"s\""),
    (":AAA=:", ":AAA=:"),
    ("2.500", "2.5"),
];

fn list() -> impl Strategy<Value = Option<SfHeader>> {
    proptest::option::weighted(
        0.4,
        (subsequence(LIST_MEMBERS.to_vec(), 1..=LIST_MEMBERS.len()).prop_shuffle(), select(vec![",", ", ", " ,\t"])).prop_map(
            |(members, sep)| SfHeader {
                value: members.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(sep),
                canonical: members.iter().map(|(_, c)| *c).collect::<Vec<_>>().join(", "),
                members: Vec::new(),
            },
        ),
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => Just(Vec::new()), 3 => pvec(any::<u8>(), 0..600)]
}

prop_compose! {
    fn req()(
        method in method(),
        scheme in select(vec!["http", "https"]),
        host in host(),
        upper_host_name in any::<bool>(),
        absolute in proptest::bool::weighted(0.2),
        path in path(),
        query in query(),
        extra in pvec((0usize..4, any::<bool>(), header_value()), 0..5),
        dict in dict(),
        list in list(),
        body in body(),
        content_length in any::<bool>(),
    ) -> Req {
        Req { method, scheme, host, upper_host_name, absolute, path, query, extra, dict, list, body, content_length }
    }
}

/// Optional RFC 9421 components this request can carry, as plain names or serialized identifiers.
fn candidates(req: &Req) -> Vec<String> {
    let mut c: Vec<String> = ["@target-uri", "@scheme", "@request-target"].map(String::from).to_vec();
    if let Some(pairs) = &req.query {
        c.extend(pairs.iter().map(|(n, _)| format!("\"@query-param\";name=\"{n}\"")));
    }
    for i in req.extra_indices() {
        c.push(format!("x-p-{i}"));
        c.push(format!("\"x-p-{i}\";bs"));
    }
    if let Some(d) = &req.dict {
        c.push("x-dict".into());
        c.push("\"x-dict\";sf".into());
        c.extend(d.members.iter().map(|(k, _)| format!("\"x-dict\";key=\"{k}\"")));
    }
    if req.list.is_some() {
        c.push("x-list".into());
        c.push("\"x-list\";sf".into());
    }
    if req.body.is_empty() {
        // Optional for an empty body, mandatory otherwise (added below).
        c.push("content-digest".into());
    }
    c
}

/// A request and a shuffled component list: the default policy's four plus a random subset.
fn req_and_components() -> impl Strategy<Value = (Req, Vec<String>)> {
    req().prop_flat_map(|req| {
        let cands = candidates(&req);
        // At most 32 components in all (the default limit): 4 required, content-digest, 27 more.
        let n = cands.len().min(27);
        (Just(req), subsequence(cands, 0..=n)).prop_flat_map(|(req, picked)| {
            let mut all: Vec<String> = ["@method", "@authority", "@path", "@query"].map(String::from).to_vec();
            all.extend(picked);
            if !req.body.is_empty() {
                all.push("content-digest".into());
            }
            (Just(req), Just(all).prop_shuffle())
        })
    })
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::HmacSha256), Just(Algorithm::HmacSha512)]
}

/// Everything about a signature except the request.
#[derive(Debug, Clone)]
struct Sig {
    kind: SchemeKind,
    algorithm: Algorithm,
    key_id: String,
    secret: Vec<u8>,
    created_offset: i64,
    expires_extra: Option<u32>,
    label: String,
    rfc_nonce: String,
    simple_nonce: String,
    tag: Option<String>,
    include_alg: bool,
    digest: DigestAlgorithm,
}

prop_compose! {
    fn sig(kind: Option<SchemeKind>)(
        kind in match kind { Some(k) => Just(k).boxed(), None => prop_oneof![Just(SchemeKind::Rfc9421), Just(SchemeKind::Simple)].boxed() },
        algorithm in algorithm(),
        key_id in r"[ -~]{1,24}",
        secret in pvec(any::<u8>(), 32..80),
        created_offset in -300i64..=30,
        expires_extra in proptest::option::of(0u32..1000),
        label in "[a-z][a-z0-9_.*-]{0,8}",
        rfc_nonce in "[ -~]{8,40}",
        simple_nonce in "[A-Za-z0-9._~+/=-]{8,40}",
        tag in proptest::option::of("[ -~]{0,16}"),
        include_alg in any::<bool>(),
        digest in prop_oneof![Just(DigestAlgorithm::Sha256), Just(DigestAlgorithm::Sha512)],
    ) -> Sig {
        // RFC 9421 takes any sf-string key id; HG1's header has no space, `"` or `\`.
        let key_id = match kind {
            SchemeKind::Rfc9421 => key_id,
            SchemeKind::Simple => key_id.replace([' ', '"', '\\'], "_"),
        };
        Sig { kind, algorithm, key_id, secret, created_offset, expires_extra, label, rfc_nonce, simple_nonce, tag, include_alg, digest }
    }
}

impl Sig {
    fn spec(&self) -> KeySpec {
        KeySpec::new(self.key_id.clone(), self.secret.clone(), self.algorithm).with_subject("someone")
    }

    fn created(&self) -> i64 {
        NOW + self.created_offset
    }

    fn nonce(&self) -> &str {
        match self.kind {
            SchemeKind::Rfc9421 => &self.rfc_nonce,
            SchemeKind::Simple => &self.simple_nonce,
        }
    }

    fn scheme(&self) -> Arc<dyn Scheme> {
        match self.kind {
            SchemeKind::Rfc9421 => Arc::new(Rfc9421::default()),
            SchemeKind::Simple => Arc::new(Simple),
        }
    }

    /// A guard that knows this signature's key, at `NOW`, with its own replay store.
    fn guard(&self, policy: Policy) -> Guard {
        let keys = KeyRing::new();
        keys.upsert(self.spec()).unwrap();
        Guard::builder()
            .scheme(self.scheme())
            .keys(Arc::new(keys))
            .clock(Arc::new(ManualClock::at_secs(NOW)))
            .policy(policy)
            .build()
            .unwrap()
    }

    /// The signed head (the request's head plus the signature headers).
    fn sign(&self, req: &Req, components: &[String]) -> RequestHead {
        let signer = Signer::new(self.spec()).unwrap();
        let mut head = req.head();
        let added = match self.kind {
            SchemeKind::Rfc9421 => {
                let opts = Rfc9421SignOptions {
                    label: self.label.clone(),
                    components: Some(components.to_vec()),
                    created: Some(self.created()),
                    expires_in: self.expires_extra.map(|e| u32::try_from((-self.created_offset).max(0)).unwrap() + 1 + e),
                    nonce: Some(self.rfc_nonce.clone()),
                    tag: self.tag.clone(),
                    include_alg: self.include_alg,
                    digest: self.digest,
                };
                signer.sign_rfc9421(&head, &req.body, &opts).unwrap_or_else(|e| panic!("sign_rfc9421 failed: {e}"))
            }
            SchemeKind::Simple => {
                let opts = SimpleSignOptions { timestamp: Some(self.created()), nonce: Some(self.simple_nonce.clone()) };
                signer
                    .sign_simple(&req.method, &req.path_and_query(), &req.body, &opts)
                    .unwrap_or_else(|e| panic!("sign_simple failed: {e}"))
            }
        };
        head.headers.extend(added);
        head
    }
}

/// RFC 9421 §2.2.3: the authority, lowercased, without the scheme's default port.
fn expected_authority(req: &Req) -> String {
    let host = req.host.to_ascii_lowercase();
    let default = if req.scheme == "https" { ":443" } else { ":80" };
    host.strip_suffix(default).map_or(host.clone(), str::to_string)
}

/// RFC 9421 §2.1: one field value with surrounding whitespace removed and obs-fold line breaks
/// replaced by a single space (spelled out here independently of the crate's code).
fn normalize(v: &str) -> String {
    let mut out = String::new();
    let mut in_fold = false;
    for c in v.trim_matches([' ', '\t']).chars() {
        match c {
            '\r' | '\n' => in_fold = true,
            ' ' | '\t' if in_fold => {}
            c => {
                if in_fold {
                    out.truncate(out.trim_end_matches([' ', '\t']).len());
                    out.push(' ');
                    in_fold = false;
                }
                out.push(c);
            }
        }
    }
    out
}

/// The covered value of header `x-p-<i>`: plain (§2.1, instances joined by ", ") and with `bs`
/// (§2.1.3, each instance as a byte sequence).
fn expected_field(req: &Req, i: usize) -> (String, String) {
    use base64::Engine as _;
    let values: Vec<String> = req.extra.iter().filter(|(j, _, _)| *j == i).map(|(_, _, v)| normalize(v)).collect();
    let bs: Vec<String> =
        values.iter().map(|v| format!(":{}:", base64::engine::general_purpose::STANDARD.encode(v.as_bytes()))).collect();
    (values.join(", "), bs.join(", "))
}

fn code<T>(r: &hmac_guard::Result<T>) -> Option<ErrorCode> {
    r.as_ref().err().map(hmac_guard::Error::code)
}

/// Streams `body` cut at `cuts` (sorted, duplicates give empty chunks) and finishes. Feeds every
/// chunk even after a failure, checking that the failure is sticky.
fn verify_chunked(guard: &Guard, head: &RequestHead, body: &[u8], cuts: &[usize]) -> hmac_guard::Result<Verified> {
    let mut v = guard.begin(head)?;
    let mut first_err: Option<hmac_guard::Error> = None;
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&body.len())) {
        let r = v.update(&body[start..cut]);
        match (&first_err, r) {
            (None, Err(e)) => first_err = Some(e),
            (Some(first), r) => assert_eq!(r.as_ref().err(), Some(first), "a failed verification must stay failed"),
            (None, Ok(())) => {}
        }
        start = cut;
    }
    if first_err.is_none() {
        assert_eq!(v.bytes_seen(), body.len() as u64);
    }
    let out = v.finish();
    if let Some(e) = first_err {
        assert_eq!(out.as_ref().err(), Some(&e), "finish must report the streaming failure");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// (a) chunking never changes the verdict
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Tamper {
    None,
    FlipByte(Index, u8),
    Append(Vec<u8>),
    Truncate(Index),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        2 => Just(Tamper::None),
        1 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Tamper::FlipByte(i, x)),
        1 => pvec(any::<u8>(), 1..4).prop_map(Tamper::Append),
        1 => any::<Index>().prop_map(Tamper::Truncate),
    ]
}

/// Applies a tamper; returns the body and whether it differs from the signed one.
fn apply(body: &[u8], t: &Tamper) -> (Vec<u8>, bool) {
    let mut b = body.to_vec();
    let changed = match t {
        Tamper::None => false,
        Tamper::FlipByte(i, x) if !b.is_empty() => {
            let i = i.index(b.len());
            b[i] ^= x;
            true
        }
        Tamper::FlipByte(..) => false,
        Tamper::Append(extra) => {
            b.extend_from_slice(extra);
            true
        }
        Tamper::Truncate(i) if !b.is_empty() => {
            b.truncate(i.index(b.len()));
            true
        }
        Tamper::Truncate(_) => false,
    };
    (b, changed)
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    pvec(0usize..10_000, 0..10)
}

fn chunking_case(kind: SchemeKind) -> impl Strategy<Value = (Sig, Req, Vec<String>, Tamper, Vec<usize>, u64)> {
    (sig(Some(kind)), req_and_components(), tamper(), cuts(), prop_oneof![3 => Just(1024u64 * 1024), 1 => 0u64..700])
        .prop_map(|(s, (r, c), t, cuts, limit)| (s, r, c, t, cuts, limit))
}

fn check_chunking(
    s: &Sig,
    req: &Req,
    components: &[String],
    t: &Tamper,
    raw_cuts: &[usize],
    limit: u64,
) -> Result<(), TestCaseError> {
    let head = s.sign(req, components);
    let (body, changed) = apply(&req.body, t);
    let mut cuts: Vec<usize> = raw_cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let policy = Policy { body_limit: limit, ..Policy::default() };

    let one_shot = s.guard(policy).verify(&head, &body);
    let chunked = verify_chunked(&s.guard(policy), &head, &body, &cuts);

    prop_assert_eq!(one_shot.is_ok(), chunked.is_ok(), "one-shot {:?} vs chunked {:?}", one_shot, chunked);
    let (a, b) = (code(&one_shot), code(&chunked));
    // A body that overruns both the declared Content-Length and the size limit is rejected either
    // way; which of the two bounds a stream crosses first depends on where the chunks end.
    let overrun = [ErrorCode::BodyTooLarge, ErrorCode::BodyLengthMismatch];
    if !(a.is_some_and(|a| overrun.contains(&a)) && b.is_some_and(|b| overrun.contains(&b))) {
        prop_assert_eq!(a, b);
    }
    let fits = (body.len() as u64) <= limit && (req.body.len() as u64) <= limit;
    if changed {
        prop_assert!(one_shot.is_err(), "a tampered body was accepted: {:?}", t);
    } else if fits {
        prop_assert!(one_shot.is_ok(), "a valid request was rejected: {:?}", one_shot);
    } else {
        prop_assert_eq!(a, Some(ErrorCode::BodyTooLarge));
    }
    if let Ok(v) = &chunked {
        prop_assert_eq!(v.body_len, body.len() as u64);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn chunking_matches_one_shot_rfc9421(case in chunking_case(SchemeKind::Rfc9421)) {
        let (s, r, c, t, cuts, limit) = case;
        check_chunking(&s, &r, &c, &t, &cuts, limit)?;
    }

    #[test]
    fn chunking_matches_one_shot_simple(case in chunking_case(SchemeKind::Simple)) {
        let (s, r, c, t, cuts, limit) = case;
        check_chunking(&s, &r, &c, &t, &cuts, limit)?;
    }
}

// ---------------------------------------------------------------------------------------------
// (b) sign -> verify round trips
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn sign_verify_round_trip(s in sig(None), (req, components) in req_and_components()) {
        let head = s.sign(&req, &components);
        let guard = s.guard(Policy::default());
        let v = guard.verify(&head, &req.body);
        prop_assert!(v.is_ok(), "{:?}\n{}", v, guard.explain(&head, Some(&req.body)));
        let v = v.unwrap();
        prop_assert_eq!(&v.key_id, &s.key_id);
        prop_assert_eq!(v.subject.as_deref(), Some("someone"));
        prop_assert_eq!(v.algorithm, s.algorithm);
        prop_assert_eq!(v.created, Some(s.created()));
        prop_assert_eq!(v.nonce.as_deref(), Some(s.nonce()));
        prop_assert_eq!(v.body_len, req.body.len() as u64);
        prop_assert!(v.replay_ticket.is_none());
        let pq = req.path_and_query();
        match s.kind {
            SchemeKind::Rfc9421 => {
                prop_assert_eq!(v.scheme, "rfc9421");
                prop_assert_eq!(v.label.as_deref(), Some(s.label.as_str()));
                prop_assert_eq!(&v.tag, &s.tag);
                prop_assert_eq!(v.component("@method"), Some(req.method.as_str()));
                let plain = req.head();
                prop_assert_eq!(v.component("@path"), Some(plain.path()));
                let q = format!("?{}", plain.query().unwrap_or(""));
                prop_assert_eq!(v.component("@query"), Some(q.as_str()));
                prop_assert_eq!(v.covered.len(), components.len());
                let expires = s.expires_extra.map(|e| s.created() + (-s.created_offset).max(0) + 1 + i64::from(e));
                prop_assert_eq!(v.expires, expires);
                let authority = expected_authority(&req);
                prop_assert_eq!(v.component("@authority"), Some(authority.as_str()));
                prop_assert_eq!(v.component("@scheme").is_some(), components.iter().any(|c| c == "@scheme"));
                for i in req.extra_indices() {
                    let (plain, bs) = expected_field(&req, i);
                    if components.contains(&format!("x-p-{i}")) {
                        prop_assert_eq!(v.component(&format!("x-p-{i}")), Some(plain.as_str()));
                    }
                    if components.contains(&format!("\"x-p-{i}\";bs")) {
                        prop_assert_eq!(v.component(&format!("\"x-p-{i}\";bs")), Some(bs.as_str()));
                    }
                }
                for (name, h) in [("x-dict", &req.dict), ("x-list", &req.list)] {
                    let Some(h) = h else { continue };
                    if components.contains(&format!("\"{name}\";sf")) {
                        prop_assert_eq!(v.component(&format!("\"{name}\";sf")), Some(h.canonical.as_str()));
                    }
                    for (k, member) in &h.members {
                        let id = format!("\"{name}\";key=\"{k}\"");
                        if components.contains(&id) {
                            prop_assert_eq!(v.component(&id), Some(member.as_str()));
                        }
                    }
                }
            }
            SchemeKind::Simple => {
                prop_assert_eq!(v.scheme, "simple");
                prop_assert_eq!(v.component("method"), Some(req.method.as_str()));
                prop_assert_eq!(v.component("path"), Some(pq.as_str()));
            }
        }

        // The same delivery again is a replay, streamed or not.
        prop_assert_eq!(code(&guard.verify(&head, &req.body)), Some(ErrorCode::Replay));
        prop_assert_eq!(code(&verify_chunked(&guard, &head, &req.body, &[0, 0])), Some(ErrorCode::Replay));

        // A different path under the same signature is a mismatch (checked before the nonce).
        let moved = Req { path: format!("{}x", req.path), ..req.clone() };
        let mut moved_head = head.clone();
        moved_head.target = moved.head().target;
        prop_assert_eq!(code(&guard.verify(&moved_head, &req.body)), Some(ErrorCode::SignatureMismatch));

        // explain agrees on a fresh guard and claims nothing.
        let fresh = s.guard(Policy::default());
        let ex = fresh.explain(&head, Some(&req.body));
        prop_assert!(ex.ok(), "{}", ex);
        let verified: Vec<(String, String)> = v.covered.iter().map(|(i, v)| (i.to_string(), v.to_string())).collect();
        prop_assert_eq!(&ex.covered, &verified, "explain shows what verify checked");
        prop_assert!(fresh.verify(&head, &req.body).is_ok());
    }

    /// With a relaxed RFC 9421 policy any non-empty component subset round-trips, in any order.
    #[test]
    fn rfc9421_any_component_subset(s in sig(Some(SchemeKind::Rfc9421)), (req, components) in req_and_components(), keep in any::<Vec<bool>>()) {
        let mut chosen: Vec<String> = components
            .iter()
            .enumerate()
            .filter(|(i, c)| *c == "content-digest" || keep.get(*i).copied().unwrap_or(true))
            .map(|(_, c)| c.clone())
            .collect();
        if chosen.is_empty() {
            chosen.push("@method".into());
        }
        let head = s.sign(&req, &chosen);
        let relaxed = Rfc9421::new(Rfc9421Config { required_components: Vec::new(), ..Rfc9421Config::default() }).unwrap();
        let keys = KeyRing::new();
        keys.upsert(s.spec()).unwrap();
        let guard = Guard::builder()
            .scheme(Arc::new(relaxed))
            .keys(Arc::new(keys))
            .clock(Arc::new(ManualClock::at_secs(NOW)))
            .build()
            .unwrap();
        let v = guard.verify(&head, &req.body);
        prop_assert!(v.is_ok(), "{:?}\n{}", v, guard.explain(&head, Some(&req.body)));
        prop_assert_eq!(v.unwrap().covered.len(), chosen.len());
    }
}

fn fixed_req() -> Req {
    Req {
        method: "POST".into(),
        scheme: "https",
        host: "hooks.example.com".into(),
        upper_host_name: true,
        absolute: false,
        path: "/hook".into(),
        query: None,
        extra: Vec::new(),
        dict: None,
        list: None,
        body: b"{\"event\":1}".to_vec(),
        content_length: true,
    }
}

proptest! {
    #![proptest_config(config(192))]

    /// A nonce is remembered for as long as its timestamp passes the window, to the millisecond;
    /// outside the window the timestamp is refused. Also in two-phase mode after a commit.
    #[test]
    fn replay_protection_has_no_gap(
        s in sig(None),
        max_age in 1u32..600,
        skew in 0u32..60,
        created_offset in -700i64..=100,
        start_ms in 0i64..1000,
        later_ms in prop_oneof![0i64..3_000, 0i64..700_000],
        reserve in any::<bool>(),
    ) {
        let clock = Arc::new(ManualClock::at_secs(NOW));
        clock.advance_ms(start_ms);
        let keys = KeyRing::new();
        keys.upsert(s.spec()).unwrap();
        let replay = if reserve { ReplayMode::Reserve { hold_secs: 30 } } else { ReplayMode::Consume };
        let policy = Policy { max_age_secs: max_age, max_future_skew_secs: skew, replay, ..Policy::default() };
        let guard =
            Guard::builder().scheme(s.scheme()).keys(Arc::new(keys)).clock(clock.clone()).policy(policy).build().unwrap();
        let s = Sig { created_offset, expires_extra: None, ..s };
        let req = fixed_req();
        let components: Vec<String> =
            ["@method", "@authority", "@path", "@query", "content-digest"].map(String::from).to_vec();
        let head = s.sign(&req, &components);
        let created = s.created();
        let verdict_at = |now: i64| {
            if now - created > i64::from(max_age) {
                Some(ErrorCode::TimestampExpired)
            } else if created - now > i64::from(skew) {
                Some(ErrorCode::TimestampInFuture)
            } else {
                None
            }
        };

        let first = guard.verify(&head, &req.body);
        prop_assert_eq!(code(&first), verdict_at(NOW), "{:?}", first);
        let Ok(first) = first else { return Ok(()) };
        if let Some(ticket) = first.replay_ticket {
            ticket.commit().unwrap();
        }
        clock.advance_ms(later_ms);
        let now = clock.now_secs();
        let again = guard.verify(&head, &req.body);
        let expected = verdict_at(now).or(Some(ErrorCode::Replay));
        prop_assert_eq!(code(&again), expected, "{} ms later (now {}, created {})", later_ms, now, created);
    }
}

// ---------------------------------------------------------------------------------------------
// (c) parsers never panic
// ---------------------------------------------------------------------------------------------

/// One dictionary member in near-RFC 8941 syntax.
fn sf_member() -> impl Strategy<Value = String> {
    (
        "[a-z*][a-z0-9*._-]{0,6}",
        prop_oneof![
            Just(String::new()),
            "=[0-9-]{1,17}(\\.[0-9]{1,4})?",
            "=\"[ -~]{0,12}\"",
            "=:[A-Za-z0-9+/=]{0,20}:",
            "=\\?[01]",
            "=[a-zA-Z*][a-zA-Z0-9:/!#$%&'*+.^_`|~-]{0,8}",
            "=\\(( ?\"[a-z@-]{0,8}\"(;[a-z]{1,3}(=[0-9]{1,3})?)?){0,4}\\)",
        ],
        pvec("; ?[a-z*][a-z0-9]{0,3}(=([0-9]{1,4}|\"[a-z]{0,4}\"|\\?[01]|[a-z]{1,3}))?", 0..3),
    )
        .prop_map(|(k, v, ps)| format!("{k}{v}{}", ps.concat()))
}

/// A `Content-Digest`-shaped value: right or wrong lengths, other algorithms, other types.
fn digestish() -> impl Strategy<Value = String> {
    let member = (
        prop_oneof![Just("sha-256"), Just("sha-512"), Just("md5"), Just("id-sha-256")],
        prop_oneof![
            4 => prop_oneof![Just(32usize), Just(64)].prop_flat_map(|n| pvec(any::<u8>(), n)),
            1 => pvec(any::<u8>(), 0..70),
        ],
        prop_oneof![4 => Just(""), 1 => Just(";p=1"), 1 => Just("x")],
    )
        .prop_map(|(alg, bytes, suffix)| {
            use base64::Engine as _;
            format!("{alg}=:{}:{suffix}", base64::engine::general_purpose::STANDARD.encode(bytes))
        });
    pvec(member, 1..4).prop_map(|ms| ms.join(", "))
}

/// Strings from the structured-field alphabet, to get past the first byte of the parsers.
fn sfish() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => "[ -~]{0,60}",
        1 => "[a-z0-9=;,()\" :*?.@!/+_\\\\-]{0,60}",
        3 => pvec(sf_member(), 1..4).prop_map(|ms| ms.join(", ")),
        1 => digestish(),
    ]
}

/// Canonical serialization of a parsed dictionary with the crate's own writers.
fn serialize_dict(dict: &[(&str, Member<'_>)]) -> String {
    let mut out = String::new();
    for (i, (k, m)) in dict.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        match m {
            Member::Item(item) => {
                sf::write_bare(&mut out, &item.bare);
                sf::write_params(&mut out, &item.params);
            }
            Member::InnerList(items, params) => sf::write_inner_list(&mut out, items, params),
        }
    }
    out
}

/// Headers the verifier reads besides the signature headers.
const BODY_AND_FIELD_HEADERS: [&str; 7] =
    ["Content-Digest", "content-length", "Host", "transfer-encoding", "x-a", "content-type", "X-Dict"];
/// The signature headers of both schemes.
const SIGNATURE_HEADERS: [&str; 7] = [
    "Signature",
    "signature-input",
    "x-hmac-key-id",
    "X-HMAC-Timestamp",
    "x-hmac-nonce",
    "x-hmac-content-sha256",
    "x-hmac-signature",
];

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(BODY_AND_FIELD_HEADERS.to_vec()).prop_map(String::from),
        1 => select(SIGNATURE_HEADERS.to_vec()).prop_map(String::from),
        1 => "[A-Za-z-]{1,12}",
        1 => any::<String>(),
    ]
}

fn header_values() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => sfish(),
        1 => "[0-9a-f]{0,70}",
        1 => "[0-9, \t+-]{0,24}",
    ]
}

/// A near-valid `Signature-Input` / `Signature` pair, so the RFC 9421 parser gets past the
/// dictionaries into labels, parameters and components.
fn rfc_pair() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop_oneof![3 => Just("sig1".to_string()), 1 => "[a-z]{1,3}"],
        subsequence(
            vec![
                "\"@method\"",
                "\"@authority\"",
                "\"@path\"",
                "\"@query\"",
                "\"@target-uri\"",
                "\"@scheme\"",
                "\"@request-target\"",
                "\"content-digest\"",
                "\"content-length\"",
                "\"x-a\"",
                "\"x-a\";bs",
                "\"x-dict\";sf",
                "\"x-dict\";key=\"a\"",
                "\"@query-param\";name=\"q\"",
                "\"@status\"",
                "\"@signature-params\"",
                "\"X-A\"",
                "\"x-a\";tr",
                "\"x-a\";req",
                "\"@query-param\"",
                "\"@path\";x",
                "1",
                "\"x-a\";sf;bs",
                "\"x-a\";sf=?0",
                "\"\"",
            ],
            0..8,
        )
        .prop_shuffle(),
        (
            "created=-?[0-9]{1,20}|created=1700000000|created=1\\.5",
            "expires=[0-9]{1,12}",
            "nonce=\"[ !#-\\[\\]-~]{0,20}\"|nonce=\"[ -~]{0,20}\"",
            "keyid=\"k[15x]\"|keyid=1",
            "alg=\"hmac-sha(256|512|1)\"",
            "tag=\"[a-z]{0,4}\"",
            "x=1",
            subsequence((0..7).collect::<Vec<usize>>(), 0..=7),
        )
            .prop_map(|(c, e, n, k, a, t, x, keep)| {
                let all = [c, e, n, k, a, t, x];
                keep.iter().map(|&i| all[i].clone()).collect::<Vec<_>>()
            })
            .prop_shuffle(),
        prop_oneof![5 => Just(None), 1 => "[a-z]{1,3}".prop_map(Some)],
        prop_oneof![
            4 => prop_oneof![Just(32usize), Just(64), 0usize..70].prop_flat_map(|n| pvec(any::<u8>(), n)).prop_map(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(b)
            }),
            1 => "[A-Za-z0-9+/]{0,90}={0,2}",
            1 => Just("AAAA:;x=".to_string()),
        ],
    )
        .prop_map(|(label, comps, params, sig_label, b64)| {
            let params: String = params.iter().map(|p| format!(";{p}")).collect();
            let sig_label = sig_label.unwrap_or_else(|| label.clone());
            vec![
                ("Signature-Input".into(), format!("{label}=({}){params}", comps.join(" "))),
                ("Signature".into(), format!("{sig_label}=:{b64}:")),
            ]
        })
}

/// A near-valid set of simple-scheme headers.
fn simple_set() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop_oneof![Just("k1".to_string()), Just("k5".to_string()), "[ -~]{0,10}"],
        prop_oneof![Just(NOW.to_string()), "[0-9]{1,20}", "[ -~]{0,12}"],
        prop_oneof!["[A-Za-z0-9._~+/=-]{6,40}", "[ -~]{0,12}"],
        prop_oneof!["[0-9a-f]{64}", "[0-9a-fA-F]{0,70}"],
        prop_oneof!["[0-9a-f]{64}", "[0-9a-f]{128}", "[0-9a-fA-Fx]{0,130}"],
        subsequence((0..5).collect::<Vec<usize>>(), 3..=5),
    )
        .prop_map(|(kid, ts, nonce, content, sig, keep)| {
            let all = [
                ("X-HMAC-Key-Id", kid),
                ("x-hmac-timestamp", ts),
                ("x-hmac-nonce", nonce),
                ("X-Hmac-Content-Sha256", content),
                ("x-hmac-signature", sig),
            ];
            keep.iter().map(|&i| (all[i].0.to_string(), all[i].1.clone())).collect()
        })
}

prop_compose! {
    fn arbitrary_head()(
        method in prop_oneof!["[A-Z]{0,7}", any::<String>()],
        target in prop_oneof![path(), "[ -~]{0,30}", any::<String>(), "https?://[a-z:0-9.]{0,12}(/[a-z?=&]{0,10})?"],
        scheme in prop_oneof![Just("https".to_string()), Just("http".to_string()), any::<String>()],
        headers in pvec((header_name(), header_values()), 0..8),
        rfc in proptest::option::weighted(0.6, rfc_pair()),
        simple in proptest::option::weighted(0.4, simple_set()),
        at in any::<Index>(),
    ) -> RequestHead {
        let mut headers = headers;
        for set in [rfc, simple].into_iter().flatten() {
            for h in set {
                let i = at.index(headers.len() + 1);
                headers.insert(i, h);
            }
        }
        RequestHead::new(method, target, scheme, headers)
    }
}

/// A signed request (either scheme), then one header value damaged in a random place.
fn mutated_signed() -> impl Strategy<Value = (Sig, RequestHead, Vec<u8>)> {
    (sig(None), req_and_components(), any::<Index>(), any::<Index>(), 0usize..4, sfish(), any::<bool>()).prop_map(
        |(s, (req, components), which, at, cut, insert, replace_body)| {
            let mut head = s.sign(&req, &components);
            let i = which.index(head.headers.len());
            let value = &mut head.headers[i].1;
            let mut pos = at.index(value.len() + 1);
            while !value.is_char_boundary(pos) {
                pos -= 1;
            }
            let mut end = (pos + cut).min(value.len());
            while !value.is_char_boundary(end) {
                end += 1;
            }
            value.replace_range(pos..end, &insert);
            let body = if replace_body { insert.into_bytes() } else { req.body };
            (s, head, body)
        },
    )
}

fn test_guard(scheme: Arc<dyn Scheme>, policy: Policy) -> Guard {
    let keys = KeyRing::new();
    keys.upsert(KeySpec::new("k1", [7u8; 32], Algorithm::HmacSha256)).unwrap();
    keys.upsert(KeySpec::new("k5", [9u8; 64], Algorithm::HmacSha512)).unwrap();
    Guard::builder()
        .scheme(scheme)
        .keys(Arc::new(keys))
        .clock(Arc::new(ManualClock::at_secs(NOW)))
        .policy(policy)
        .build()
        .unwrap()
}

fn policies() -> impl Strategy<Value = Policy> {
    prop_oneof![
        3 => Just(Policy::default()),
        1 => (1usize..64, 0usize..16, 1usize..4, 0u64..64).prop_map(|(max_header_len, min_nonce, comps, body_limit)| {
            let mut p = Policy::default();
            p.header_limits.max_header_len = max_header_len;
            p.header_limits.min_nonce_len = min_nonce;
            p.header_limits.max_nonce_len = min_nonce + 8;
            p.header_limits.max_components = comps;
            p.body_limit = body_limit;
            p.require_nonce = body_limit % 2 == 0;
            p
        }),
    ]
}

/// `explain` runs the verifier's own checks: its verdict must be `verify`'s.
fn explain_agrees(guard: &Guard, head: &RequestHead, body: &[u8]) -> Result<(), TestCaseError> {
    let _ = guard.explain(head, None).to_string();
    let ex = guard.explain(head, Some(body));
    let shown = ex.to_string();
    let r = guard.verify(head, body);
    match (&ex.error, &r) {
        (None, Ok(_)) => {}
        (None, Err(e)) => prop_assert!(
            matches!(e.code(), ErrorCode::Replay | ErrorCode::ReplayStoreFull),
            "explain passed but verify failed: {:?}\n{}",
            e,
            shown
        ),
        (Some(a), Err(b)) => prop_assert_eq!(a.code(), b.code(), "explain: {}", shown),
        (Some(a), Ok(_)) => prop_assert!(false, "explain failed ({:?}) but verify passed", a),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn sf_dictionary_never_panics_and_reserializes(input in sfish()) {
        if let Ok(dict) = sf::parse_dictionary(&input) {
            let canonical = serialize_dict(&dict);
            let again = sf::parse_dictionary(&canonical);
            prop_assert!(again.is_ok(), "canonical form {:?} of {:?} does not parse: {:?}", canonical, input, again.err());
            prop_assert_eq!(serialize_dict(&again.unwrap()), canonical.clone(), "from {:?}", input);
        }
    }

    #[test]
    fn content_digest_never_panics(
        input in sfish(),
        only in proptest::option::of(prop_oneof![Just("sha-256".to_string()), Just("sha-512".to_string()), "[a-z0-9-]{1,8}"]),
    ) {
        if let Ok(d) = parse_content_digest(&input, only.as_deref()) {
            let (len, key) = match d.algorithm {
                DigestAlgorithm::Sha256 => (32, "sha-256"),
                DigestAlgorithm::Sha512 => (64, "sha-512"),
            };
            prop_assert_eq!(d.value.len(), len);
            if let Some(only) = &only {
                prop_assert_eq!(only.as_str(), key, "the covered member is the one checked");
                prop_assert!(d.also.is_none(), "one covered member binds alone");
            }
            if let Some((also, value)) = &d.also {
                // Both supported members of a wholly covered field are kept, sha-256 first.
                prop_assert_eq!((d.algorithm, *also, value.len()), (DigestAlgorithm::Sha256, DigestAlgorithm::Sha512, 64));
            }
        }
    }

    #[test]
    fn content_digest_of_arbitrary_bytes(bytes in pvec(any::<u8>(), 0..80)) {
        let _ = parse_content_digest(&String::from_utf8_lossy(&bytes), None);
    }

    #[test]
    fn content_length_never_panics(values in pvec(prop_oneof!["[0-9, \t]{0,25}", any::<String>(), "[0-9]{18,22}"], 0..4)) {
        let head = values.iter().fold(RequestHead::default(), |h, v| h.with_header("Content-Length", v.clone()));
        match head.content_length() {
            Ok(None) => prop_assert!(values.is_empty()),
            Ok(Some(n)) => {
                for v in &values {
                    for part in v.split(',') {
                        prop_assert_eq!(part.trim_matches([' ', '\t']).parse::<u64>().ok(), Some(n));
                    }
                }
            }
            Err(e) => prop_assert_eq!(e.code(), ErrorCode::MalformedHeader),
        }
        let _ = head.announces_body();
    }

    #[test]
    fn schemes_prepare_never_panic(head in arbitrary_head(), policy in policies()) {
        let relaxed = Rfc9421::new(Rfc9421Config {
            required_components: Vec::new(),
            required_params: Vec::new(),
            accepted_labels: None,
            required_tag: None,
        })
        .unwrap();
        let schemes: [&dyn Scheme; 3] = [&Rfc9421::default(), &relaxed, &Simple];
        for scheme in schemes {
            let _ = scheme.prepare(&head, &policy.header_limits);
        }
        let _ = head.content_length();
        let _ = head.authority();
        let _ = (head.path(), head.query(), head.path_and_query());
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn verify_and_explain_never_panic_on_arbitrary_heads(
        head in arbitrary_head(),
        body in pvec(any::<u8>(), 0..64),
        policy in policies(),
        simple in any::<bool>(),
    ) {
        let scheme: Arc<dyn Scheme> = if simple { Arc::new(Simple) } else { Arc::new(Rfc9421::default()) };
        let guard = test_guard(scheme, policy);
        explain_agrees(&guard, &head, &body)?;
        let mut cuts = vec![0, body.len() / 2, body.len() / 2];
        cuts.sort_unstable();
        let _ = verify_chunked(&guard, &head, &body, &cuts);
    }

    #[test]
    fn verify_and_explain_never_panic_on_damaged_signed_heads(
        (s, head, body) in mutated_signed(),
        policy in policies(),
    ) {
        let guard = s.guard(policy);
        explain_agrees(&guard, &head, &body)?;
        let scheme: &dyn Scheme = &*guard.scheme().clone();
        let _ = scheme.prepare(&head, &policy.header_limits);
    }
}
