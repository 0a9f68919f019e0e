//! The scheme abstraction: how a signature is found in a request head.
//!
//! A scheme reads headers and returns a [`Prepared`] request: the key id, timestamp, nonce, what
//! the MAC covers and how the body is bound. The verifier then applies every check in one fixed
//! order, whatever the scheme. Webhook provider schemes fit the same shape: GitHub's MAC covers
//! the raw body ([`MacInput::BodyAppended`] with an empty prefix), Stripe's covers
//! `timestamp "." body`, both without a key id header (the scheme names a configured key).

use std::fmt;
use std::ops::Range;

use crate::digest::ExpectedDigest;
use crate::error::Result;
use crate::keyring::Algorithm;
use crate::request::RequestHead;

/// Bounds on what the verifier reads from headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Longest value of any one header the scheme reads (all instances combined).
    pub max_header_len: usize,
    /// Shortest nonce accepted.
    pub min_nonce_len: usize,
    /// Longest nonce accepted.
    pub max_nonce_len: usize,
    /// Most covered components in one signature.
    pub max_components: usize,
}

impl Default for HeaderLimits {
    fn default() -> Self {
        HeaderLimits { max_header_len: 8 * 1024, min_nonce_len: 8, max_nonce_len: 128, max_components: 32 }
    }
}

/// What the MAC is computed over.
#[derive(Clone, PartialEq, Eq)]
pub enum MacInput {
    /// The signature base, [`Covered::text`]. The body is bound separately through a signed
    /// digest, so the MAC is checked before any body byte is read.
    Base,
    /// `prefix || body || suffix`: the MAC can only be checked once the body has streamed.
    BodyAppended {
        /// Bytes before the body.
        prefix: Vec<u8>,
        /// Bytes after the body.
        suffix: Vec<u8>,
    },
}

impl fmt::Debug for MacInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacInput::Base => f.write_str("Base"),
            MacInput::BodyAppended { prefix, suffix } => f
                .debug_struct("BodyAppended")
                .field("prefix", &String::from_utf8_lossy(prefix))
                .field("suffix", &String::from_utf8_lossy(suffix))
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CoveredId {
    Static(&'static str),
    Span(Range<usize>),
}

/// The signature base text and, inside it, each covered component's identifier and value.
///
/// Built in one buffer so the hot path allocates once; the values a client signed are read back
/// from the same bytes the MAC covered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Covered {
    text: String,
    entries: Vec<(CoveredId, Range<usize>)>,
}

impl Covered {
    /// An empty base with room for `capacity` bytes.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Covered { text: String::with_capacity(capacity), entries: Vec::with_capacity(8) }
    }

    /// The base text (what the MAC covers for [`MacInput::Base`]).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The buffer, for schemes that write the base.
    pub fn text_mut(&mut self) -> &mut String {
        &mut self.text
    }

    /// Records a component whose identifier is `id` and whose value is `value` (a range of the text).
    pub fn push_static(&mut self, id: &'static str, value: Range<usize>) {
        self.entries.push((CoveredId::Static(id), value));
    }

    /// Records a component whose identifier and value are both ranges of the text.
    pub fn push_span(&mut self, id: Range<usize>, value: Range<usize>) {
        self.entries.push((CoveredId::Span(id), value));
    }

    fn slice(&self, r: &Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or_default()
    }

    /// (identifier, value) pairs in signing order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(id, v)| {
            let id = match id {
                CoveredId::Static(s) => s,
                CoveredId::Span(r) => self.slice(r),
            };
            (id, self.slice(v))
        })
    }

    /// The value signed for `id`: a plain name (`@path`, `content-type`) or a serialized
    /// identifier (`"@query-param";name="id"`).
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&str> {
        self.iter()
            .find(|(i, _)| {
                *i == id || (i.len() == id.len() + 2 && i.starts_with('"') && i.ends_with('"') && &i[1..i.len() - 1] == id)
            })
            .map(|(_, v)| v)
    }

    /// Number of covered components.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is covered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Owned copies of the pairs.
    #[must_use]
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter().map(|(i, v)| (i.to_string(), v.to_string())).collect()
    }
}

/// How the body is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyBinding {
    /// The signature covers a digest of the body; the streamed body is compared with it.
    Digest(ExpectedDigest),
    /// The MAC itself runs over the body ([`MacInput::BodyAppended`]).
    InMac,
    /// Nothing binds a body: any body byte is rejected with `ERR_DIGEST_REQUIRED`.
    None,
}

/// A request head parsed by a scheme, ready for the verifier's checks.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Scheme name, also the replay-store namespace.
    pub scheme: &'static str,
    /// The signature label (RFC 9421), if the scheme has labels.
    pub label: Option<String>,
    /// Key id the request names.
    pub key_id: String,
    /// Signature creation time, Unix seconds.
    pub created: Option<i64>,
    /// Signature expiry, Unix seconds, when the signer set one.
    pub expires: Option<i64>,
    /// Nonce, if the request carries one.
    pub nonce: Option<String>,
    /// Algorithm the request claims; must agree with the key.
    pub algorithm: Option<Algorithm>,
    /// Application tag (RFC 9421 `tag`).
    pub tag: Option<String>,
    /// The signature base and the covered components (identifier, signed value) inside it.
    pub covered: Covered,
    /// What the MAC covers.
    pub mac_input: MacInput,
    /// The MAC the client sent.
    pub signature: Vec<u8>,
    /// How the body is bound.
    pub body: BodyBinding,
    /// A webhook provider's signatures and ids: set by the webhook presets, which name no key
    /// (every secret of the endpoint is a candidate) and may sign several MACs.
    pub webhook: Option<Box<crate::webhook::WebhookPrepared>>,
}

/// A signature scheme.
pub trait Scheme: Send + Sync + fmt::Debug {
    /// Stable scheme name (`rfc9421`, `simple`, …).
    fn name(&self) -> &'static str;

    /// Parses the head. Must not look up keys or read the clock: the verifier does that.
    ///
    /// # Errors
    /// Any header-level problem, with the code that names it.
    fn prepare(&self, head: &RequestHead, limits: &HeaderLimits) -> Result<Prepared>;

    /// What a client must sign, as an `Accept-Signature` field value (RFC 9421 §5.1), for a 401
    /// answer; `None` for schemes without such a header. `nonce`: whether the policy requires one;
    /// `with_body`: whether the refused request carried a body (then a digest must be covered).
    fn accept_signature(&self, _nonce: bool, _with_body: bool) -> Option<String> {
        None
    }
}
