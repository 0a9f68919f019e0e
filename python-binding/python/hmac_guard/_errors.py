"""Exception hierarchy. One class per core error code; every instance carries ``.code``,
``.status``, ``.message`` (generic, safe to send to a client) and ``.reason`` (detail for logs).

The native module raises these through :func:`_from_native`; the codes, statuses and messages
come from the core (``_native.ERROR_CODES``), never from a second table here.
"""

from __future__ import annotations

from typing import ClassVar

from . import _native

__all__ = [
    "AlgorithmMismatchError",
    "AuthenticationError",
    "BadFramingError",
    "BodyLengthMismatchError",
    "BodyTooLargeError",
    "ComponentNotFoundError",
    "ConfigError",
    "DeliveryError",
    "DeliveryInProgressError",
    "DigestMismatchError",
    "DigestRequiredError",
    "DuplicateDeliveryError",
    "ExpiredError",
    "HeaderTooLargeError",
    "HmacGuardError",
    "InternalError",
    "InvalidParameterError",
    "InvalidStateError",
    "KeyExpiredError",
    "KeyNotYetValidError",
    "KeyRejectedError",
    "LabelNotAcceptedError",
    "MalformedError",
    "MalformedHeaderError",
    "MalformedSignatureError",
    "MissingComponentError",
    "MissingHeaderError",
    "MissingParameterError",
    "MissingSignatureError",
    "ReplayError",
    "ReplayStoreFullError",
    "ReplayStoreUnavailableError",
    "SignatureError",
    "SignatureExpiredError",
    "SignatureMismatchError",
    "StoreUnavailableError",
    "TimestampExpiredError",
    "TimestampInFutureError",
    "TooLargeError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "UnsupportedComponentError",
    "UnsupportedDigestError",
    "error_class",
]

_INFO: dict[str, tuple[int, str]] = {code: (status, message) for code, status, message in _native.ERROR_CODES}


class HmacGuardError(Exception):
    """Base class of every hmac-guard error."""

    code: ClassVar[str] = "ERR_INTERNAL"
    status: ClassVar[int] = 500
    message: ClassVar[str] = "internal error"

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        #: Internal detail for server logs. Never contains a secret or an expected MAC; still,
        #: send clients only ``code`` and ``message``.
        self.reason = reason or self.message

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"

    def to_dict(self, *, reason: bool = False) -> dict[str, dict[str, str]]:
        """The JSON error body the adapters send: ``{"error": {"code", "message"}}``; with
        ``reason=True`` (a guard built with ``expose_reasons``, development only) also ``reason``."""
        error = {"code": self.code, "message": self.message}
        if reason:
            error["reason"] = self.reason
        return {"error": error}


# Categories (what an application usually branches on).
class MalformedError(HmacGuardError):
    """The request's signature headers or a header the verifier reads are not well-formed (400)."""

    status = 400


class AuthenticationError(HmacGuardError):
    """The request is not signed by a valid, currently accepted key (401)."""

    status = 401


class KeyRejectedError(AuthenticationError):
    """The key is unknown, not yet valid, expired, or used with another algorithm."""


class SignatureError(AuthenticationError):
    """The MAC or the signed body digest does not match."""


class ExpiredError(AuthenticationError):
    """The signature timestamp is outside the accepted window, or the signature expired."""


class ReplayError(AuthenticationError):
    """The nonce was already used inside its window."""

    code = "ERR_REPLAY"


class TooLargeError(HmacGuardError):
    """The body is larger than the configured limit (413)."""

    status = 413


class StoreUnavailableError(HmacGuardError):
    """The replay store is full of live entries or unreachable; fails closed (503)."""

    status = 503


class DeliveryError(HmacGuardError):
    """A copy of a webhook delivery that was already claimed: answered from the core's refusal
    (200 for one already processed, 409 with ``Retry-After`` for one still in flight), and the
    handler does not run."""


class ConfigError(HmacGuardError):
    """The configuration was rejected (short secret, bad key id, bad policy)."""

    code = "ERR_INVALID_CONFIG"


class InternalError(HmacGuardError):
    """An unexpected internal failure (a caught Rust panic lands here)."""

    code = "ERR_INTERNAL"


# One class per code.
class MissingSignatureError(AuthenticationError):
    code = "ERR_MISSING_SIGNATURE"


class MissingHeaderError(MalformedError):
    code = "ERR_MISSING_HEADER"


class MalformedSignatureError(MalformedError):
    code = "ERR_MALFORMED_SIGNATURE"


class MalformedHeaderError(MalformedError):
    code = "ERR_MALFORMED_HEADER"


class HeaderTooLargeError(MalformedError):
    code = "ERR_HEADER_TOO_LARGE"


class LabelNotAcceptedError(MalformedError):
    code = "ERR_LABEL_NOT_ACCEPTED"


class MissingParameterError(MalformedError):
    code = "ERR_MISSING_PARAMETER"


class InvalidParameterError(MalformedError):
    code = "ERR_INVALID_PARAMETER"


class MissingComponentError(MalformedError):
    code = "ERR_MISSING_COMPONENT"


class ComponentNotFoundError(MalformedError):
    code = "ERR_COMPONENT_NOT_FOUND"


class UnsupportedComponentError(MalformedError):
    code = "ERR_UNSUPPORTED_COMPONENT"


class UnsupportedAlgorithmError(MalformedError):
    code = "ERR_UNSUPPORTED_ALGORITHM"


class UnknownKeyError(KeyRejectedError):
    code = "ERR_UNKNOWN_KEY"


class KeyNotYetValidError(KeyRejectedError):
    code = "ERR_KEY_NOT_YET_VALID"


class KeyExpiredError(KeyRejectedError):
    code = "ERR_KEY_EXPIRED"


class AlgorithmMismatchError(KeyRejectedError):
    code = "ERR_ALGORITHM_MISMATCH"


class TimestampExpiredError(ExpiredError):
    code = "ERR_TIMESTAMP_EXPIRED"


class TimestampInFutureError(ExpiredError):
    code = "ERR_TIMESTAMP_IN_FUTURE"


class SignatureExpiredError(ExpiredError):
    code = "ERR_SIGNATURE_EXPIRED"


class SignatureMismatchError(SignatureError):
    code = "ERR_SIGNATURE_MISMATCH"


class DigestRequiredError(MalformedError):
    code = "ERR_DIGEST_REQUIRED"


class UnsupportedDigestError(MalformedError):
    code = "ERR_UNSUPPORTED_DIGEST"


class DigestMismatchError(SignatureError):
    code = "ERR_DIGEST_MISMATCH"


class BodyTooLargeError(TooLargeError):
    code = "ERR_BODY_TOO_LARGE"


class BodyLengthMismatchError(MalformedError):
    code = "ERR_BODY_LENGTH_MISMATCH"


class BadFramingError(MalformedError):
    """The request's framing cannot be trusted (Transfer-Encoding with Content-Length, a bad or
    truncated chunked body); the connection is closed after the answer."""

    code = "ERR_BAD_FRAMING"


class ReplayStoreFullError(StoreUnavailableError):
    code = "ERR_REPLAY_STORE_FULL"


class ReplayStoreUnavailableError(StoreUnavailableError):
    code = "ERR_REPLAY_STORE_UNAVAILABLE"


class DuplicateDeliveryError(DeliveryError):
    """A copy of a webhook delivery already processed: answered 200 so the provider stops
    retrying, without running the handler again."""

    code = "ERR_DUPLICATE_DELIVERY"


class DeliveryInProgressError(DeliveryError):
    """A copy of a webhook delivery whose handler is still running: 409 with ``Retry-After``."""

    code = "ERR_DELIVERY_IN_PROGRESS"


class InvalidStateError(InternalError):
    """An API was used out of order (a verification finished twice, used after finish)."""

    code = "ERR_INVALID_STATE"


_BY_CODE: dict[str, type[HmacGuardError]] = {}


def _register(cls: type[HmacGuardError]) -> None:
    for sub in cls.__subclasses__():
        if "code" in vars(sub):
            status, message = _INFO[sub.code]
            sub.status, sub.message = status, message
            _BY_CODE[sub.code] = sub
        _register(sub)


_register(HmacGuardError)


def error_class(code: str) -> type[HmacGuardError]:
    """The exception class raised for an error code (``HmacGuardError`` for an unknown code)."""
    return _BY_CODE.get(code, HmacGuardError)


def _from_native(code: str, reason: str) -> HmacGuardError:
    """Called by the native module to build the exception for a core error."""
    cls = _BY_CODE.get(code)
    if cls is None:  # a code newer than this table: still an HmacGuardError with that code
        exc = HmacGuardError(reason)
        exc.code = code  # type: ignore[misc]
        exc.status = _INFO.get(code, (500, ""))[0]  # type: ignore[misc]
        return exc
    return cls(reason)
