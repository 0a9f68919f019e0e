//! Keys looked up by key id, replaceable at runtime.
//!
//! A [`Key`] keeps only the precomputed HMAC inner/outer hash states (built once from the secret,
//! zeroized on drop by `sha2`'s `zeroize` feature); the raw secret is wiped right after. Lookups
//! clone an `Arc` under a short read lock, so hashing never holds the lock and a key replaced or
//! removed mid-request stays alive until that request is done.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use parking_lot::RwLock;
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use crate::error::{ErrorCode, Result, fail};

/// Shortest secret accepted, in bytes (RFC 2104 recommends at least the hash output length).
pub const MIN_SECRET_LEN: usize = 32;
/// Longest key id accepted.
pub const MAX_KEY_ID_LEN: usize = 128;

/// HMAC algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC with SHA-256 (`hmac-sha256`).
    HmacSha256,
    /// HMAC with SHA-512 (`hmac-sha512`).
    HmacSha512,
}

impl Algorithm {
    /// The registry name, e.g. `hmac-sha256`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// Parses a registry name.
    ///
    /// # Errors
    /// `ERR_UNSUPPORTED_ALGORITHM` for any other name.
    pub fn from_name(name: &str) -> Result<Algorithm> {
        match name {
            "hmac-sha256" => Ok(Algorithm::HmacSha256),
            "hmac-sha512" => Ok(Algorithm::HmacSha512),
            // The name is not echoed: from configuration it may be a secret given in the wrong field.
            _ => fail(ErrorCode::UnsupportedAlgorithm, "the algorithm is not supported; use hmac-sha256 or hmac-sha512"),
        }
    }

    /// MAC output length in bytes.
    #[must_use]
    pub const fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// What a caller supplies to add a key. The secret is wiped when this is dropped.
pub struct KeySpec {
    /// Key id as clients send it.
    pub id: String,
    /// Secret bytes (at least [`MIN_SECRET_LEN`]).
    pub secret: Zeroizing<Vec<u8>>,
    /// Algorithm the key is used with.
    pub algorithm: Algorithm,
    /// The principal this key belongs to: after verification, the only source of identity.
    pub subject: Option<String>,
    /// Unix seconds before which the key is not accepted.
    pub not_before: Option<i64>,
    /// Unix seconds from which the key is no longer accepted.
    pub not_after: Option<i64>,
}

impl KeySpec {
    /// A key with the given id, secret and algorithm, no subject and no validity bounds.
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>, algorithm: Algorithm) -> Self {
        KeySpec {
            id: id.into(),
            secret: Zeroizing::new(secret.into()),
            algorithm,
            subject: None,
            not_before: None,
            not_after: None,
        }
    }

    /// Sets the subject.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the validity bounds (Unix seconds).
    #[must_use]
    pub fn with_validity(mut self, not_before: Option<i64>, not_after: Option<i64>) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySpec")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("algorithm", &self.algorithm)
            .field("subject", &self.subject)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish()
    }
}

#[derive(Clone)]
enum MacState {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// A MAC in progress, started from a key's precomputed state.
#[derive(Clone)]
pub struct MacInProgress(MacState);

impl MacInProgress {
    /// Feeds bytes into the MAC.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            MacState::Sha256(m) => m.update(data),
            MacState::Sha512(m) => m.update(data),
        }
    }

    /// Compares the MAC with `expected` in constant time (length first, which is public).
    #[must_use]
    pub fn verify(self, expected: &[u8]) -> bool {
        match self.0 {
            MacState::Sha256(m) => m.verify_slice(expected).is_ok(),
            MacState::Sha512(m) => m.verify_slice(expected).is_ok(),
        }
    }

    /// The MAC bytes, for signing.
    #[must_use]
    pub fn finalize(self) -> Vec<u8> {
        match self.0 {
            MacState::Sha256(m) => m.finalize().into_bytes().to_vec(),
            MacState::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for MacInProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacInProgress([redacted])")
    }
}

/// A verification key, immutable once built.
pub struct Key {
    id: Arc<str>,
    algorithm: Algorithm,
    subject: Option<Arc<str>>,
    not_before: Option<i64>,
    not_after: Option<i64>,
    mac: MacState,
    tally: crate::observe::KeyTally,
}

impl Key {
    /// Validates a spec and precomputes the HMAC state.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for a short secret, a bad key id or inverted validity bounds. The
    /// reason names the problem and never a value (an id and a secret swapped by mistake must not
    /// put the secret in a log); callers add which key and field it was.
    pub fn new(spec: KeySpec) -> Result<Key> {
        Key::with_floor(spec, MIN_SECRET_LEN)
    }

    /// As [`Key::new`] with another shortest secret: webhook providers issue (or let users type)
    /// secrets below [`MIN_SECRET_LEN`]; each preset documents its own floor.
    ///
    /// # Errors
    /// As [`Key::new`].
    pub fn with_floor(spec: KeySpec, min_secret_len: usize) -> Result<Key> {
        validate_key_id(&spec.id)?;
        if spec.secret.len() < min_secret_len.max(1) {
            return fail(
                ErrorCode::InvalidConfig,
                format!("the secret is {} bytes; at least {} are required", spec.secret.len(), min_secret_len.max(1)),
            );
        }
        if let (Some(nb), Some(na)) = (spec.not_before, spec.not_after)
            && na <= nb
        {
            return fail(ErrorCode::InvalidConfig, "not_after must be after not_before");
        }
        // `new_from_slice` accepts every length for HMAC; the error arm is unreachable in practice.
        let mac = match spec.algorithm {
            Algorithm::HmacSha256 => Hmac::<Sha256>::new_from_slice(&spec.secret).map(MacState::Sha256),
            Algorithm::HmacSha512 => Hmac::<Sha512>::new_from_slice(&spec.secret).map(MacState::Sha512),
        }
        .map_err(|_| crate::Error::new(ErrorCode::InvalidConfig, "HMAC key setup failed"))?;
        Ok(Key {
            id: Arc::from(spec.id.as_str()),
            algorithm: spec.algorithm,
            subject: spec.subject.as_deref().map(Arc::from),
            not_before: spec.not_before,
            not_after: spec.not_after,
            mac,
            tally: crate::observe::KeyTally::default(),
        })
    }

    /// This key's verdict counts (observability).
    pub(crate) fn tally(&self) -> &crate::observe::KeyTally {
        &self.tally
    }

    /// Key id.
    #[must_use]
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// Algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Subject (principal), if configured.
    #[must_use]
    pub fn subject(&self) -> Option<&Arc<str>> {
        self.subject.as_ref()
    }

    /// Not-before bound (Unix seconds).
    #[must_use]
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// Not-after bound (Unix seconds).
    #[must_use]
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// Checks the validity bounds at `now_secs`.
    ///
    /// # Errors
    /// `ERR_KEY_NOT_YET_VALID` or `ERR_KEY_EXPIRED`.
    pub fn check_validity(&self, now_secs: i64) -> Result<()> {
        if let Some(nb) = self.not_before
            && now_secs < nb
        {
            return fail(ErrorCode::KeyNotYetValid, format!("key {:?} is valid from {nb}", &*self.id));
        }
        if let Some(na) = self.not_after
            && now_secs >= na
        {
            return fail(ErrorCode::KeyExpired, format!("key {:?} stopped being valid at {na}", &*self.id));
        }
        Ok(())
    }

    /// Starts a MAC from the precomputed state (a copy of two hash states, no key schedule).
    #[must_use]
    pub fn start_mac(&self) -> MacInProgress {
        MacInProgress(self.mac.clone())
    }

    /// MAC of `data` in one call.
    #[must_use]
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = self.start_mac();
        m.update(data);
        m.finalize()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("subject", &self.subject)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A key id is any RFC 8941 sf-string (what RFC 9421's `keyid` carries): 1 to [`MAX_KEY_ID_LEN`]
/// printable ASCII characters, space, `"` and `\` included (the RFC 9421 signer and signature base
/// escape them). No control character can end up in a log line or a canonical string.
///
/// # Errors
/// `ERR_INVALID_CONFIG` when the id is empty, too long or has other characters. The reason never
/// quotes the id: it may be a secret given in the wrong field.
pub fn validate_key_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN {
        return fail(ErrorCode::InvalidConfig, format!("the key id must be 1..={MAX_KEY_ID_LEN} characters"));
    }
    if !id.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return fail(ErrorCode::InvalidConfig, "the key id may hold only printable ASCII characters (space to ~)");
    }
    Ok(())
}

/// A byte the `HG1` scheme accepts in `X-HMAC-Key-Id`: printable ASCII without space, `"` or `\`.
/// Narrower than [`validate_key_id`]: header values lose leading and trailing spaces, and the
/// canonical string is meant to be typed into `printf` (SPEC.md), where `\` is an escape.
pub(crate) fn is_key_id_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'"' && b != b'\\'
}

/// The set of keys a guard verifies with. Cheap to share (`Arc<KeyRing>`).
pub struct KeyRing {
    keys: RwLock<HashMap<Arc<str>, Arc<Key>>>,
    /// Shortest secret accepted ([`MIN_SECRET_LEN`] unless a webhook preset issues shorter ones).
    min_secret_len: usize,
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing::with_min_secret_len(MIN_SECRET_LEN)
    }
}

impl KeyRing {
    /// An empty key ring.
    #[must_use]
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// An empty key ring accepting secrets of at least `min_secret_len` bytes (webhook presets).
    #[must_use]
    pub fn with_min_secret_len(min_secret_len: usize) -> Self {
        KeyRing { keys: RwLock::new(HashMap::new()), min_secret_len }
    }

    /// Adds a key, or replaces the key with the same id. Verifications in flight keep the key
    /// they started with.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` when the spec is rejected.
    pub fn upsert(&self, spec: KeySpec) -> Result<()> {
        let key = Arc::new(Key::with_floor(spec, self.min_secret_len)?);
        self.keys.write().insert(Arc::clone(&key.id), key);
        Ok(())
    }

    /// Replaces every key at once (a webhook endpoint's secrets rotated): all are validated
    /// first, so a bad one leaves the ring as it was. Verifications in flight keep their keys.
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` when a spec is rejected.
    pub fn replace_all(&self, specs: Vec<KeySpec>) -> Result<()> {
        let mut keys = HashMap::with_capacity(specs.len());
        for spec in specs {
            let key = Arc::new(Key::with_floor(spec, self.min_secret_len)?);
            keys.insert(Arc::clone(&key.id), key);
        }
        *self.keys.write() = keys;
        Ok(())
    }

    /// Every key valid at `now_secs`, sorted by id, at most `max`: the candidates a webhook's
    /// signatures are checked against (its provider names no key).
    pub(crate) fn candidates(&self, now_secs: i64, max: usize) -> Vec<Arc<Key>> {
        let mut keys: Vec<Arc<Key>> = self.keys.read().values().filter(|k| k.check_validity(now_secs).is_ok()).cloned().collect();
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        keys.truncate(max);
        keys
    }

    /// Removes a key; returns whether it was present.
    pub fn remove(&self, id: &str) -> bool {
        self.keys.write().remove(id).is_some()
    }

    /// Looks a key up.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<Arc<Key>> {
        self.keys.read().get(id).cloned()
    }

    /// `(key id, accepted, rejected)` for every key, sorted by id.
    pub(crate) fn tallies(&self) -> Vec<(Arc<str>, u64, u64)> {
        let mut out: Vec<_> = self
            .keys
            .read()
            .values()
            .map(|k| {
                let (a, r) = k.tally().get();
                (Arc::clone(&k.id), a, r)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The key ids, sorted.
    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.keys.read().keys().map(|k| k.to_string()).collect();
        ids.sort();
        ids
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.read().len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").field("ids", &self.ids()).finish()
    }
}

/// Shortens client-supplied text before it goes into a reason string.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn rejects_short_secret_and_bad_ids() {
        let short = Key::new(KeySpec::new("k", &b"short"[..], Algorithm::HmacSha256));
        assert_eq!(short.unwrap_err().code(), ErrorCode::InvalidConfig);
        let too_long = "k".repeat(MAX_KEY_ID_LEN + 1);
        for bad in ["", "tab\there", "new\nline", "del\u{7f}", "ü", too_long.as_str()] {
            let r = Key::new(KeySpec::new(bad, SECRET, Algorithm::HmacSha256));
            assert_eq!(r.unwrap_err().code(), ErrorCode::InvalidConfig, "{bad:?}");
        }
    }

    #[test]
    fn key_ids_are_any_sf_string() {
        let longest = "~".repeat(MAX_KEY_ID_LEN);
        for good in ["k1", "has space", " padded ", "quo\"te", "back\\slash", r#"all "of" \ them"#, longest.as_str()] {
            let key = Key::new(KeySpec::new(good, SECRET, Algorithm::HmacSha256)).unwrap();
            assert_eq!(&**key.id(), good);
        }
        // The HG1 header rule stays narrower.
        assert!(is_key_id_byte(b'a') && !is_key_id_byte(b' ') && !is_key_id_byte(b'"') && !is_key_id_byte(b'\\'));
    }

    #[test]
    fn configuration_errors_name_the_problem_not_the_value() {
        let secret = "swapped-secret-0123456789abcdef-0123456789";
        // Id and secret swapped: the "id" is the secret, the "secret" is short.
        let swapped = Key::new(KeySpec::new(secret, &b"k1"[..], Algorithm::HmacSha256)).unwrap_err();
        assert_eq!(swapped.reason(), "the secret is 2 bytes; at least 32 are required");
        let inverted = KeySpec::new(secret, SECRET, Algorithm::HmacSha256).with_validity(Some(10), Some(10));
        assert_eq!(Key::new(inverted).unwrap_err().reason(), "not_after must be after not_before");
        for bad_id in [format!("{secret}\n"), secret.repeat(4)] {
            let e = Key::new(KeySpec::new(bad_id, SECRET, Algorithm::HmacSha256)).unwrap_err();
            assert!(!e.to_string().contains(secret) && !format!("{e:?}").contains(secret), "{e}");
        }
        let e = Algorithm::from_name(secret).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnsupportedAlgorithm);
        assert!(!e.to_string().contains("swapped"), "{e}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let spec = KeySpec::new("k1", SECRET, Algorithm::HmacSha256);
        let shown = format!("{spec:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        let key = Key::new(spec).unwrap();
        let shown = format!("{key:?} {:?}", key.start_mac());
        assert!(shown.contains("[redacted]") && !shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn mac_matches_openssl_and_verifies_in_constant_time() {
        // printf 'what do ya want for nothing?' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
        let key = Key::new(KeySpec::new("k", SECRET, Algorithm::HmacSha256)).unwrap();
        let mac = key.mac(b"what do ya want for nothing?");
        assert_eq!(crate::digest::to_hex(&mac), "137e6557c3c13a1ca5dc7e52a389a0f86be8cb4db4ae61c62396058b00acacd0");
        let mut m = key.start_mac();
        m.update(b"what do ya want for nothing?");
        assert!(m.clone().verify(&mac));
        assert!(!m.clone().verify(&mac[..31]));
        let mut wrong = mac.clone();
        wrong[31] ^= 1;
        assert!(!m.verify(&wrong));
    }

    #[test]
    fn validity_bounds() {
        let key = Key::new(KeySpec::new("k", SECRET, Algorithm::HmacSha512).with_validity(Some(100), Some(200))).unwrap();
        assert_eq!(key.check_validity(99).unwrap_err().code(), ErrorCode::KeyNotYetValid);
        key.check_validity(100).unwrap();
        key.check_validity(199).unwrap();
        assert_eq!(key.check_validity(200).unwrap_err().code(), ErrorCode::KeyExpired);
    }

    #[test]
    fn replace_and_remove_while_a_lookup_is_held() {
        let ring = KeyRing::new();
        ring.upsert(KeySpec::new("k", SECRET, Algorithm::HmacSha256)).unwrap();
        let held = ring.get("k").unwrap();
        ring.upsert(KeySpec::new("k", SECRET, Algorithm::HmacSha512)).unwrap();
        assert_eq!(held.algorithm(), Algorithm::HmacSha256);
        assert_eq!(ring.get("k").unwrap().algorithm(), Algorithm::HmacSha512);
        assert!(ring.remove("k"));
        assert!(ring.get("k").is_none());
        assert_eq!(held.mac(b"x").len(), 32);
    }
}
