//! Errors with stable codes.
//!
//! Every failure is one [`ErrorCode`] (a stable string such as `ERR_SIGNATURE_MISMATCH`, an HTTP
//! status and a generic client-facing message) plus an internal reason for logs. Neither ever
//! contains a secret or an expected MAC: reasons are built only from what the client sent and from
//! configuration that is not secret.

use std::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $message:literal), )+) => {
        /// The stable classification of a failure. The canonical list is `tests/error_codes.json`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The stable string code, e.g. `ERR_SIGNATURE_MISMATCH`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )+ }
            }

            /// The HTTP status an adapter answers with.
            #[must_use]
            pub const fn status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )+ }
            }

            /// A generic message that is safe to send to the client.
            #[must_use]
            pub const fn message(self) -> &'static str {
                match self { $( ErrorCode::$variant => $message, )+ }
            }

            /// Looks a code up by its string form.
            #[must_use]
            pub fn from_code(code: &str) -> Option<ErrorCode> {
                match code { $( $code => Some(ErrorCode::$variant), )+ _ => None }
            }
        }
    };
}

error_codes! {
    /// Neither a signature nor the scheme's identifying headers are present.
    MissingSignature = ("ERR_MISSING_SIGNATURE", 401, "request is not signed"),
    /// A header the scheme needs is absent (e.g. `Signature` without `Signature-Input`).
    MissingHeader = ("ERR_MISSING_HEADER", 400, "a required signature header is missing"),
    /// `Signature`/`Signature-Input` or a scheme header is not well-formed.
    MalformedSignature = ("ERR_MALFORMED_SIGNATURE", 400, "signature headers are malformed"),
    /// Another header the verifier reads (a covered field, `Content-Digest`, `Content-Length`) is not well-formed.
    MalformedHeader = ("ERR_MALFORMED_HEADER", 400, "a request header is malformed"),
    /// A header the verifier reads is longer than the configured limit.
    HeaderTooLarge = ("ERR_HEADER_TOO_LARGE", 400, "a request header is too large"),
    /// No signature in the request carries a label the policy accepts.
    LabelNotAccepted = ("ERR_LABEL_NOT_ACCEPTED", 400, "no acceptable signature label"),
    /// A signature parameter the policy requires (`created`, `nonce`, `keyid`, `tag`) is absent.
    MissingParameter = ("ERR_MISSING_PARAMETER", 400, "a required signature parameter is missing"),
    /// A signature parameter is unknown, has the wrong type or a value out of range.
    InvalidParameter = ("ERR_INVALID_PARAMETER", 400, "a signature parameter is invalid"),
    /// A component the policy requires is not covered by the signature.
    MissingComponent = ("ERR_MISSING_COMPONENT", 400, "the signature does not cover a required component"),
    /// A covered component is not present in the request.
    ComponentNotFound = ("ERR_COMPONENT_NOT_FOUND", 400, "a covered component is absent from the request"),
    /// A covered component identifier or one of its parameters is not supported.
    UnsupportedComponent = ("ERR_UNSUPPORTED_COMPONENT", 400, "a covered component is not supported"),
    /// The signature names an algorithm this verifier does not implement.
    UnsupportedAlgorithm = ("ERR_UNSUPPORTED_ALGORITHM", 400, "signature algorithm is not supported"),
    /// The key id is not in the key ring.
    UnknownKey = ("ERR_UNKNOWN_KEY", 401, "authentication failed"),
    /// The key exists but its not-before time has not come.
    KeyNotYetValid = ("ERR_KEY_NOT_YET_VALID", 401, "authentication failed"),
    /// The key exists but its not-after time has passed.
    KeyExpired = ("ERR_KEY_EXPIRED", 401, "authentication failed"),
    /// The `alg` parameter disagrees with the key's algorithm.
    AlgorithmMismatch = ("ERR_ALGORITHM_MISMATCH", 401, "authentication failed"),
    /// The signature timestamp is older than the window allows.
    TimestampExpired = ("ERR_TIMESTAMP_EXPIRED", 401, "signature is too old"),
    /// The signature timestamp lies further in the future than the allowed skew.
    TimestampInFuture = ("ERR_TIMESTAMP_IN_FUTURE", 401, "signature timestamp is in the future"),
    /// The signature's own `expires` parameter has passed.
    SignatureExpired = ("ERR_SIGNATURE_EXPIRED", 401, "signature has expired"),
    /// The MAC does not match.
    SignatureMismatch = ("ERR_SIGNATURE_MISMATCH", 401, "authentication failed"),
    /// The request has a body but the signature does not bind it through a digest.
    DigestRequired = ("ERR_DIGEST_REQUIRED", 400, "the signature must cover a body digest"),
    /// The digest header names no supported algorithm.
    UnsupportedDigest = ("ERR_UNSUPPORTED_DIGEST", 400, "body digest algorithm is not supported"),
    /// The body does not match the signed digest.
    DigestMismatch = ("ERR_DIGEST_MISMATCH", 401, "body does not match the signed digest"),
    /// The body is larger than the limit (declared or streamed).
    BodyTooLarge = ("ERR_BODY_TOO_LARGE", 413, "request body is too large"),
    /// The body ended before the declared `Content-Length`, or ran past it.
    BodyLengthMismatch = ("ERR_BODY_LENGTH_MISMATCH", 400, "request body length does not match Content-Length"),
    /// The request's framing cannot be trusted: `Transfer-Encoding` together with `Content-Length`,
    /// a final transfer coding other than `chunked`, or a body the server could not read (bad
    /// chunk size, truncated chunk, premature end). The connection is closed after the answer.
    BadFraming = ("ERR_BAD_FRAMING", 400, "request framing is invalid"),
    /// The nonce was already used inside its window.
    Replay = ("ERR_REPLAY", 401, "request was already used"),
    /// Webhooks: this delivery was already processed (committed); answered with a 2xx so the
    /// provider stops retrying, without running the handler again.
    DuplicateDelivery = ("ERR_DUPLICATE_DELIVERY", 200, "delivery was already processed"),
    /// Webhooks (and `reserve` mode): a copy of this delivery is being processed right now;
    /// answered with `Retry-After`.
    DeliveryInProgress = ("ERR_DELIVERY_IN_PROGRESS", 409, "delivery is being processed"),
    /// The replay store is full of live entries (or this key's quota is used up).
    ReplayStoreFull = ("ERR_REPLAY_STORE_FULL", 503, "service temporarily unavailable"),
    /// The replay store cannot be reached (networked stores).
    ReplayStoreUnavailable = ("ERR_REPLAY_STORE_UNAVAILABLE", 503, "service temporarily unavailable"),
    /// Configuration rejected (short secret, bad key id, bad policy).
    InvalidConfig = ("ERR_INVALID_CONFIG", 500, "server configuration error"),
    /// An API was used out of order (e.g. a verification finished twice).
    InvalidState = ("ERR_INVALID_STATE", 500, "internal error"),
    /// An unexpected internal failure (bindings map caught panics here).
    Internal = ("ERR_INTERNAL", 500, "internal error"),
}

/// A verification or configuration failure: a stable [`ErrorCode`] plus an internal reason.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    reason: String,
}

impl Error {
    /// Builds an error. `reason` must never contain secret material.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Error { code, reason: reason.into() }
    }

    /// The stable classification.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The generic client-facing message.
    #[must_use]
    pub fn message(&self) -> &'static str {
        self.code.message()
    }

    /// The detailed reason, for server logs and `explain`.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("code", &self.code.as_str()).field("reason", &self.reason).finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.reason)
    }
}

impl std::error::Error for Error {}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for `Err(Error::new(code, reason))`.
pub(crate) fn fail<T>(code: ErrorCode, reason: impl Into<String>) -> Result<T> {
    Err(Error::new(code, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
            assert!(code.as_str().starts_with("ERR_"));
            assert!([200, 400, 401, 409, 413, 500, 503].contains(&code.status()));
        }
    }
}
