//! Signing, for clients and tests. The RFC 9421 signer builds its signature base with the
//! verifier's own parser and component code, so what it signs is exactly what a verifier checks.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};

use crate::clock::{Clock, SystemClock};
use crate::digest::{DigestAlgorithm, content_digest_value, sha256_hex, to_hex};
use crate::error::{ErrorCode, Result, fail};
use crate::keyring::{Key, KeySpec};
use crate::request::RequestHead;
use crate::rfc9421::{Rfc9421, Rfc9421Config};
use crate::scheme::{HeaderLimits, MacInput, Scheme};
use crate::sf;
use crate::simple::{CONTENT_SHA256_HEADER, KEY_ID_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, canonical_string};

/// Options for an RFC 9421 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421SignOptions {
    /// Signature label.
    pub label: String,
    /// Covered components (plain names or serialized identifiers); `None` covers `@method
    /// @authority @path @query`, plus `content-digest` when there is a body.
    pub components: Option<Vec<String>>,
    /// `created`; `None` takes the clock.
    pub created: Option<i64>,
    /// Adds `expires = created + this`.
    pub expires_in: Option<u32>,
    /// `nonce`; `None` draws 128 random bits.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// Whether to add the `alg` parameter.
    pub include_alg: bool,
    /// Digest algorithm for `Content-Digest`.
    pub digest: DigestAlgorithm,
}

impl Default for Rfc9421SignOptions {
    fn default() -> Self {
        Rfc9421SignOptions {
            label: "sig1".into(),
            components: None,
            created: None,
            expires_in: None,
            nonce: None,
            tag: None,
            include_alg: false,
            digest: DigestAlgorithm::Sha256,
        }
    }
}

/// Options for a simple-scheme signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleSignOptions {
    /// Timestamp; `None` takes the clock.
    pub timestamp: Option<i64>,
    /// Nonce; `None` draws 128 random bits.
    pub nonce: Option<String>,
}

/// Signs requests with one key.
#[derive(Clone)]
pub struct Signer {
    key: Arc<Key>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("key", &self.key).finish_non_exhaustive()
    }
}

/// 128 random bits, URL-safe base64 (22 characters): valid in both schemes.
///
/// # Errors
/// `ERR_INTERNAL` if the OS random source fails.
pub fn random_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| crate::Error::new(ErrorCode::Internal, "OS random source failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl Signer {
    /// A signer for a key.
    ///
    /// # Errors
    /// As [`Key::new`].
    pub fn new(spec: KeySpec) -> Result<Self> {
        Ok(Signer { key: Arc::new(Key::new(spec)?), clock: Arc::new(SystemClock) })
    }

    /// Uses another clock for `created`/timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// RFC 9421 headers to add: `Content-Digest` (when covered), `Signature-Input`, `Signature`.
    /// `head` must carry what the components need (e.g. `Host` for `@authority`).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for bad options; component errors when the request lacks a component.
    pub fn sign_rfc9421(&self, head: &RequestHead, body: &[u8], opts: &Rfc9421SignOptions) -> Result<Vec<(String, String)>> {
        self.sign_rfc9421_with_base(head, body, opts).map(|(headers, _)| headers)
    }

    /// As [`Signer::sign_rfc9421`], also returning the signature base the MAC covers, so a client
    /// can diff it with the base a server's `explain` reports.
    ///
    /// # Errors
    /// As [`Signer::sign_rfc9421`].
    pub fn sign_rfc9421_with_base(
        &self,
        head: &RequestHead,
        body: &[u8],
        opts: &Rfc9421SignOptions,
    ) -> Result<(Vec<(String, String)>, String)> {
        if sf::parse_dictionary(&format!("{}=1", opts.label)).map(|d| d.len()) != Ok(1) {
            return fail(ErrorCode::InvalidConfig, "label must be a structured-field key (lowercase, digits, _-.*)");
        }
        let components = match &opts.components {
            Some(c) => c.clone(),
            None => {
                let mut c: Vec<String> = ["@method", "@authority", "@path", "@query"].map(String::from).to_vec();
                if !body.is_empty() {
                    c.push("content-digest".into());
                }
                c
            }
        };
        let mut out = Vec::new();
        let mut head = head.clone();
        // The verifier's default for a scheme the caller cannot tell: sign what it will check.
        if head.scheme.is_empty() {
            head.scheme = crate::config::DEFAULT_URL_SCHEME.to_string();
        }
        head.headers.retain(|(n, _)| !["signature", "signature-input"].iter().any(|h| n.eq_ignore_ascii_case(h)));
        if components.iter().any(|c| c == "content-digest") {
            head.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-digest"));
            let value = content_digest_value(opts.digest, body);
            head.headers.push(("Content-Digest".into(), value.clone()));
            out.push(("Content-Digest".to_string(), value));
        }

        let created = opts.created.unwrap_or_else(|| self.clock.now_secs());
        let nonce = match &opts.nonce {
            Some(n) => n.clone(),
            None => random_nonce()?,
        };
        let mut member = String::from("(");
        for (i, c) in components.iter().enumerate() {
            if i > 0 {
                member.push(' ');
            }
            if c.starts_with('"') {
                member.push_str(c);
            } else {
                sf::write_string(&mut member, c);
            }
        }
        member.push(')');
        member.push_str(&format!(";created={created}"));
        if let Some(exp) = opts.expires_in {
            member.push_str(&format!(";expires={}", created.saturating_add(i64::from(exp))));
        }
        member.push_str(";nonce=");
        sf::write_string(&mut member, &nonce);
        member.push_str(";keyid=");
        sf::write_string(&mut member, self.key.id());
        if opts.include_alg {
            member.push_str(&format!(";alg=\"{}\"", self.key.algorithm().name()));
        }
        if let Some(tag) = &opts.tag {
            member.push_str(";tag=");
            sf::write_string(&mut member, tag);
        }
        let input = format!("{}={member}", opts.label);
        head.headers.push(("Signature-Input".into(), input));
        head.headers.push(("Signature".into(), format!("{}=::", opts.label)));

        // Parse what we wrote with the verifier's own code: same identifiers, same values, same base.
        let relaxed = Rfc9421::new(Rfc9421Config {
            required_components: Vec::new(),
            required_params: Vec::new(),
            accepted_labels: Some(vec![opts.label.clone()]),
            required_tag: None,
        })?;
        let limits = HeaderLimits { max_header_len: usize::MAX / 4, ..HeaderLimits::default() };
        let prepared = relaxed.prepare(&head, &limits).map_err(|e| {
            if e.code() == ErrorCode::MalformedSignature {
                crate::Error::new(ErrorCode::InvalidConfig, format!("sign options: {}", e.reason()))
            } else {
                e
            }
        })?;
        if prepared.mac_input != MacInput::Base {
            return fail(ErrorCode::Internal, "RFC 9421 MACs always cover the base");
        }
        let base = prepared.covered.text();
        let mac = self.key.mac(base.as_bytes());
        // The base's last line carries the canonical Signature-Input member after the label.
        let canonical_input = base.rsplit_once("\"@signature-params\": ").map_or("", |(_, p)| p);
        out.push(("Signature-Input".into(), format!("{}={canonical_input}", opts.label)));
        out.push(("Signature".into(), format!("{}=:{}:", opts.label, B64.encode(mac))));
        Ok((out, base.to_string()))
    }

    /// Simple-scheme headers to add.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` when the nonce, method or target cannot be carried in the scheme.
    pub fn sign_simple(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        opts: &SimpleSignOptions,
    ) -> Result<Vec<(String, String)>> {
        self.sign_simple_with_base(method, path_and_query, body, opts).map(|(headers, _)| headers)
    }

    /// As [`Signer::sign_simple`], also returning the canonical string the MAC covers.
    ///
    /// # Errors
    /// As [`Signer::sign_simple`].
    pub fn sign_simple_with_base(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        opts: &SimpleSignOptions,
    ) -> Result<(Vec<(String, String)>, String)> {
        let timestamp = opts.timestamp.unwrap_or_else(|| self.clock.now_secs()).to_string();
        let nonce = match &opts.nonce {
            Some(n) => n.clone(),
            None => random_nonce()?,
        };
        if nonce.is_empty() || !nonce.bytes().all(crate::simple::is_nonce_byte) {
            return fail(ErrorCode::InvalidConfig, "nonce has characters outside [A-Za-z0-9-_.~+/=]");
        }
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_graphic()) {
            return fail(ErrorCode::InvalidConfig, "method is not a token");
        }
        // HG1 carries the key id in a header whose outer spaces a server trims: its narrower rule.
        if !self.key.id().bytes().all(crate::keyring::is_key_id_byte) {
            return fail(ErrorCode::InvalidConfig, "the simple scheme's key ids may not hold a space, quote or backslash");
        }
        if !path_and_query.starts_with('/') || !path_and_query.bytes().all(|b| b.is_ascii_graphic()) {
            return fail(ErrorCode::InvalidConfig, "path must start with / and be printable ASCII (percent-encode the rest)");
        }
        let content = sha256_hex(body);
        let canonical = canonical_string(method, path_and_query, &timestamp, &nonce, self.key.id(), &content);
        let mac = to_hex(&self.key.mac(canonical.as_bytes()));
        let headers = vec![
            (KEY_ID_HEADER.into(), self.key.id().to_string()),
            (TIMESTAMP_HEADER.into(), timestamp),
            (NONCE_HEADER.into(), nonce),
            (CONTENT_SHA256_HEADER.into(), content),
            (SIGNATURE_HEADER.into(), mac),
        ];
        Ok((headers, canonical))
    }
}
