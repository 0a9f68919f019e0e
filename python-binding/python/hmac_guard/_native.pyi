"""Type stubs for the native module (checked against the build with ``mypy.stubtest``)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, Union

from typing_extensions import TypeAlias, final

_Body: TypeAlias = Union[bytes, bytearray, memoryview]
_HeaderText: TypeAlias = Union[str, bytes]
_Headers: TypeAlias = Union[Mapping[str, _HeaderText], Iterable[tuple[_HeaderText, _HeaderText]], None]

__all__ = [
    "ERROR_CODES",
    "GIL_RELEASE_THRESHOLD",
    "Explanation",
    "Guard",
    "ManualClock",
    "ReplayTicket",
    "Signer",
    "Verification",
    "Verified",
    "__version__",
    "_mac_for_vectors",
    "_panic_for_tests",
    "_str_fast_path",
    "run_cli",
]
__version__: Final[str]
ERROR_CODES: Final[list[tuple[str, int, str]]]
GIL_RELEASE_THRESHOLD: Final[int]

def _panic_for_tests() -> None: ...
def _mac_for_vectors(algorithm: str, secret: bytes | bytearray | str, data: bytes) -> bytes: ...
def _str_fast_path() -> bool: ...
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
        scheme: Literal["rfc9421", "simple"] = "rfc9421",
        keys: Iterable[Mapping[str, Any]] | None = None,
        max_age_secs: int = 300,
        max_future_skew_secs: int = 30,
        body_limit: int = 1048576,
        require_nonce: bool = True,
        required_components: Sequence[str] | None = None,
        required_params: Sequence[str] | None = None,
        accepted_labels: Sequence[str] | None = None,
        required_tag: str | None = None,
        replay: Literal["consume", "reserve"] = "consume",
        reserve_hold_secs: int = 60,
        store_capacity: int = 1000000,
        per_key_quota: int | None = None,
        max_header_len: int = 8192,
        clock: ManualClock | None = None,
        redis_url: str | None = None,
        redis_prefix: str = "hmac-guard",
        redis_timeout_ms: int = 250,
        redis_fail_open: bool = False,
        redis_tls_ca_pem: bytes | bytearray | str | None = None,
    ) -> Guard: ...
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
        algorithm: Literal["hmac-sha256", "hmac-sha512"] = "hmac-sha256",
        subject: str | None = None,
        not_before: int | None = None,
        not_after: int | None = None,
    ) -> None: ...
    def remove_key(self, id: str) -> bool: ...
    def begin(
        self, method: str, url: str, headers: _Headers, *, url_scheme: str | None = None
    ) -> Verification: ...
    def verify_environ(
        self, environ: Mapping[str, Any], target: str, stream: Any = None, chunk_size: int = 65536
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
    def component(self, id: str) -> str | None: ...

@final
class ReplayTicket:
    """A two-phase replay reservation (``Guard(replay="reserve")``)."""

    def commit(self) -> None: ...
    def release(self) -> None: ...

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
        algorithm: Literal["hmac-sha256", "hmac-sha512"] = "hmac-sha256",
        scheme: Literal["rfc9421", "simple"] = "rfc9421",
        label: str = "sig1",
        components: Sequence[str] | None = None,
        tag: str | None = None,
        include_alg: bool = False,
        digest: Literal["sha-256", "sha-512"] = "sha-256",
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
