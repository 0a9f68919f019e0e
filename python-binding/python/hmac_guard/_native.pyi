"""Type stubs for the native module (checked against the build with ``mypy.stubtest``)."""

import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, Union

from typing_extensions import TypeAlias, final

from hmac_guard._errors import HmacGuardError
from hmac_guard._observe import GuardEvent

_Body: TypeAlias = Union[bytes, bytearray, memoryview]
_HeaderText: TypeAlias = Union[str, bytes]
_Preset: TypeAlias = Literal["standard-webhooks", "svix", "stripe", "github", "slack", "shopify"]
_Scheme: TypeAlias = Union[Literal["rfc9421", "simple"], _Preset]
_Headers: TypeAlias = Union[Mapping[str, _HeaderText], Iterable[tuple[_HeaderText, _HeaderText]], None]

__all__ = [
    "CONFIG_FIELDS",
    "ERROR_CODES",
    "GIL_RELEASE_THRESHOLD",
    "Explanation",
    "Guard",
    "ManualClock",
    "Refusal",
    "ReplayTicket",
    "SignedWebhook",
    "Signer",
    "Verification",
    "Verified",
    "Webhook",
    "__version__",
    "_mac_for_vectors",
    "_panic_async_for_tests",
    "_panic_for_tests",
    "_str_fast_path",
    "announces_body",
    "run_cli",
    "sign_webhook",
    "webhook_handled",
]
__version__: Final[str]
ERROR_CODES: Final[list[tuple[str, int, str]]]
CONFIG_FIELDS: Final[list[tuple[str, str]]]
"""``(canonical id, keyword name)`` of every ``Guard`` option and key field (``key.*``)."""
GIL_RELEASE_THRESHOLD: Final[int]

def _panic_for_tests() -> None: ...
def _panic_async_for_tests() -> Coroutine[Any, Any, None]: ...
def _mac_for_vectors(algorithm: str | None, secret: bytes | bytearray | str, data: bytes) -> bytes: ...
def _str_fast_path() -> bool: ...
def announces_body(content_length: str | None, transfer_encoding: str | None) -> bool:
    """Whether a request announces a body, from its raw ``Content-Length`` and
    ``Transfer-Encoding`` values (the core decides it for every adapter)."""

def run_cli(argv: Sequence[str]) -> int:
    """Runs the ``hmac-guard`` tool on the process's stdin/stdout/stderr; returns the exit code."""

@final
class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __new__(cls, now: int) -> ManualClock: ...
    def set(self, now: int) -> None: ...
    def advance(self, secs: float) -> None: ...
    def now(self) -> int: ...

@final
class Guard:
    """A configured verifier. Thread-safe; share one per application."""

    def __new__(
        cls,
        *,
        scheme: _Scheme | None = ...,
        profile: Literal["strict", "interop"] | None = ...,
        keys: Sequence[Mapping[str, Any]] | None = ...,
        max_age_secs: int | None = ...,
        max_future_skew_secs: int | None = ...,
        body_limit: int | None = ...,
        require_nonce: bool | None = ...,
        required_components: Sequence[str] | None = ...,
        required_params: Sequence[str] | None = ...,
        accepted_labels: Sequence[str] | None = ...,
        required_tag: str | None = ...,
        replay: Literal["consume", "reserve"] | None = ...,
        reserve_hold_secs: int | None = ...,
        max_header_len: int | None = ...,
        min_nonce_len: int | None = ...,
        max_nonce_len: int | None = ...,
        max_components: int | None = ...,
        trust_proxy: bool | None = ...,
        store_capacity: int | None = ...,
        per_key_quota: int | None = ...,
        redis_url: str | None = ...,
        redis_prefix: str | None = ...,
        redis_timeout_ms: int | None = ...,
        redis_fail_open: bool | None = ...,
        redis_tls_ca: bytes | bytearray | str | None = ...,
        clock: ManualClock | None = ...,
        expose_reasons: bool | None = ...,
        on_event: Callable[[GuardEvent], object] | None = ...,
        logger: logging.Logger | logging.LoggerAdapter[Any] | Literal[False] | None = ...,
        report_accepted: bool | None = ...,
        log_rate: int | None = ...,
        log_level: Literal["debug", "info", "warn"] | None = ...,
        secrets: Sequence[str] | str | None = ...,
        tolerance_secs: int | None = ...,
        dedupe_secs: int | None = ...,
        endpoint: str | None = ...,
    ) -> Guard:
        """Options are checked by the core (``None``: the default); a bad one is ``ConfigError``.
        ``on_event`` gets every event the core reports; ``logger`` (default: the ``hmac_guard``
        logger; ``False``: none) the ones it says to log (docs/observability.md)."""
    @property
    def settings(self) -> dict[str, Any]:
        """The effective settings, defaults filled in, by canonical id (``policy.max_age_secs``)."""
    @property
    def expose_reasons(self) -> bool:
        """Whether the adapters' JSON errors carry the error's reason (development only)."""
    @property
    def logger_choice(self) -> Literal["default", "off", "custom"]:
        """Where log lines go: the ``hmac_guard`` logger, none, or the ``logger`` given."""
    @property
    def fail_open_uses(self) -> int:
        """Requests accepted without replay protection (a fail-open store that could not answer)."""
    def stats(self) -> dict[str, Any]:
        """The counters and the replay store's health (docs/observability.md)."""
    def metric_families(self) -> list[dict[str, Any]]:
        """The Prometheus metric families: ``[{name, type, help, samples: [{name, labels, value}]}]``."""
    def metrics(self, labels: Mapping[str, str] | None = None) -> str:
        """The metrics in the Prometheus text format, each sample with ``labels`` too."""
    def refused(self, code: str, reason: str) -> None:
        """Counts and reports a refusal an adapter made itself (``code``: ``"ERR_..."``)."""
    @property
    def scheme(self) -> str: ...
    @property
    def store(self) -> Literal["memory", "redis"]: ...
    @property
    def body_limit(self) -> int: ...
    def key_ids(self) -> list[str]: ...
    def add_key(
        self,
        id: str,
        secret: bytes | bytearray | str,
        *,
        algorithm: Literal["hmac-sha256", "hmac-sha512"] | None = None,
        subject: str | None = None,
        not_before: int | None = None,
        not_after: int | None = None,
    ) -> None: ...
    def remove_key(self, id: str) -> bool: ...
    def begin(
        self, method: str, url: str, headers: _Headers, *, url_scheme: str | None = None
    ) -> Verification: ...
    def verify_environ(
        self, environ: Mapping[str, Any], target: str, stream: Any = None, chunk_size: int | None = None
    ) -> tuple[Verified, bytes]:
        """Verifies a WSGI request: the head from the environ (``target`` is the request-target),
        then the body read from ``stream`` (default ``environ["wsgi.input"]``) in chunks under
        the body limit. Returns the result and the exact body bytes."""
    def verify(
        self,
        method: str,
        url: str,
        headers: _Headers,
        body: _Body | None = None,
        *,
        url_scheme: str | None = None,
    ) -> Verified: ...
    def accept_signature(self, code: str, with_body: bool) -> str | None:
        """The ``Accept-Signature`` field value (RFC 9421 §5.1) a refusal with ``code`` carries:
        only for a 401 of the RFC 9421 scheme, else ``None``. ``with_body``: the refused request
        announced a body (``content-digest`` is then asked for too)."""
    def refusal(self, error: HmacGuardError, announced_body: bool, body_fully_read: bool) -> Refusal:
        """The core's answer to a request refused with ``error``: status, JSON body, and the
        ``Accept-Signature``, ``Retry-After`` and ``Connection: close`` fields it asks for."""
    def webhook_preset(self) -> str:
        """The webhook preset this guard verifies; ``ConfigError`` for a guard of signed requests."""
    def rotate_secrets(self, secrets: Sequence[str] | str) -> None:
        """Replaces a webhook preset's secrets at once (checked as the ``secrets`` option)."""
    def explain(
        self,
        method: str,
        url: str,
        headers: _Headers,
        body: _Body | None = None,
        *,
        url_scheme: str | None = None,
    ) -> Explanation: ...

@final
class Verification:
    """A verification in progress: ``update()`` each body chunk, then ``finish()`` once."""

    def update(self, data: _Body) -> None: ...
    def finish(self) -> Verified: ...
    def finish_async(self) -> Coroutine[Any, Any, Verified]:
        """``finish()`` for an asyncio event loop: the claim runs on the replay store's async
        client (Redis) while the loop goes on; await it once."""
    def refuse(self, code: str, reason: str) -> None:
        """Ends the verification with a refusal found while reading the body (``ERR_BAD_FRAMING``):
        counted as that rejection, not as an abandoned verification."""
    @property
    def bytes_seen(self) -> int: ...
    @property
    def finished(self) -> bool: ...

@final
class Verified:
    """A verified request: act only on these values."""

    @property
    def scheme(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def key_id(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def created(self) -> int | None: ...
    @property
    def expires(self) -> int | None: ...
    @property
    def nonce(self) -> str | None: ...
    @property
    def tag(self) -> str | None: ...
    @property
    def covered(self) -> list[tuple[str, str]]: ...
    @property
    def body_len(self) -> int: ...
    @property
    def replay_ticket(self) -> ReplayTicket | None: ...
    @property
    def webhook(self) -> Webhook | None:
        """A webhook preset's delivery (provider, id, type, json, dedupe); else ``None``."""
    def component(self, id: str) -> str | None: ...

@final
class ReplayTicket:
    """A two-phase replay reservation (``Guard(replay="reserve")``)."""

    def commit(self) -> None: ...
    def release(self) -> None: ...
    def commit_async(self) -> Coroutine[Any, Any, None]:
        """``commit()`` awaited on the replay store's async client (Redis)."""
    def release_async(self) -> Coroutine[Any, Any, None]:
        """``release()`` awaited on the replay store's async client (Redis)."""

@final
class Webhook:
    """What a verified webhook delivery is (``Verified.webhook``)."""

    @property
    def provider(self) -> str: ...
    @property
    def id(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def json(self) -> bool: ...
    @property
    def dedupe(self) -> Literal["signed-id", "body-id", "signature"]: ...

@final
class Refusal:
    """The core's answer to a refused request (``Guard.refusal``)."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def accept_signature(self) -> str | None: ...
    @property
    def close(self) -> bool: ...
    @property
    def retry_after(self) -> int | None: ...
    def headers(self) -> list[tuple[str, str]]:
        """``Content-Type``, ``Content-Length``, then the fields the core asks for."""

@final
class SignedWebhook:
    """A delivery signed as its provider would (``sign_webhook``)."""

    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def signed(self) -> bytes: ...

def sign_webhook(
    preset: _Preset,
    *,
    secret: str | None = None,
    secrets: Sequence[str] | str | None = None,
    body: _Body,
    timestamp: int | None = None,
    id: str | None = None,
) -> SignedWebhook:
    """The provider's headers for ``body`` signed with ``secret`` (or each of ``secrets``), and
    the exact bytes the MAC covers. ``timestamp``: Unix seconds (default now); ``id``: the
    Standard Webhooks delivery id (default random)."""

@final
class Explanation:
    """What the server computed for a request, check by check (``str()`` gives a report)."""

    @property
    def scheme(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def key_id(self) -> str | None: ...
    @property
    def covered(self) -> list[tuple[str, str]]: ...
    @property
    def signature_base(self) -> str | None: ...
    @property
    def checks(self) -> list[tuple[str, str, str | None]]: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_reason(self) -> str | None: ...
    @property
    def ok(self) -> bool: ...

@final
class Signer:
    """Signs requests with one key; ``sign()`` returns the headers to add."""

    def __new__(
        cls,
        key_id: str,
        secret: bytes | bytearray | str,
        *,
        algorithm: Literal["hmac-sha256", "hmac-sha512"] | None = None,
        scheme: Literal["rfc9421", "simple"] | None = None,
        label: str | None = None,
        components: Sequence[str] | None = None,
        tag: str | None = None,
        include_alg: bool | None = None,
        digest: Literal["sha-256", "sha-512"] | None = None,
        expires_in: int | None = None,
        clock: ManualClock | None = None,
    ) -> Signer: ...
    @property
    def key_id(self) -> str: ...
    @property
    def scheme(self) -> str: ...
    def sign(
        self,
        method: str,
        url: str,
        headers: _Headers = None,
        body: _Body | None = None,
        *,
        created: int | None = None,
        nonce: str | None = None,
        components: Sequence[str] | None = None,
        url_scheme: str | None = None,
    ) -> list[tuple[str, str]]: ...
    def sign_with_base(
        self,
        method: str,
        url: str,
        headers: _Headers = None,
        body: _Body | None = None,
        *,
        created: int | None = None,
        nonce: str | None = None,
        components: Sequence[str] | None = None,
        url_scheme: str | None = None,
    ) -> tuple[list[tuple[str, str]], str]:
        """As ``sign`` (same arguments), also returning the signature base the headers sign:
        ``(headers, base)``. Compare ``base`` byte for byte with
        ``guard.explain(...).signature_base`` on the server to find a mismatch."""

def webhook_handled(status: int) -> bool:
    """Whether a handler's answer with ``status`` commits the delivery (else it is released so
    the provider's retry runs): the core's rule."""
