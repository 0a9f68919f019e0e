"""WSGI plumbing shared by the Flask extension and the WSGI middleware: read the request head
from the environ, stream the body into a verification under the cap, hand the bytes back.

Request intake (``core/src/intake.rs``, rules 4 and 5): a body the server cannot read — a bad
chunk size, a truncated chunk, the connection ending before the declared length (gunicorn's
``gunicorn.http.errors.*`` and ``NoMoreData``, Werkzeug's ``ClientDisconnected``, an ``OSError``
or ``ValueError`` from ``wsgi.input``) — is :class:`~hmac_guard.BadFramingError` (400), and a
refusal with body bytes still unread is answered with ``Connection: close``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Callable, cast
from urllib.parse import quote

from ._errors import BadFramingError, HmacGuardError
from ._native import Guard, Verified, announces_body

DEFAULT_CHUNK_SIZE = 64 * 1024

# In the environ after a refusal by :func:`read_and_verify`: whether the body was read to its end.
BODY_READ_KEY = "hmac_guard.body_read"

StartResponse = Callable[..., Any]


def request_target(environ: dict[str, Any]) -> str:
    """The request-target as the client sent it: the raw one when the server reports it (gunicorn
    and Werkzeug set ``RAW_URI``/``REQUEST_URI``), else rebuilt from ``SCRIPT_NAME``/``PATH_INFO``
    and ``QUERY_STRING``."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
        target = quote(path, safe="/;:@&=+$,!~*'()%") or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    return cast(str, target)


def request_head(environ: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], str]:
    """``(method, target, headers, url_scheme)`` as the client sent them (see
    :func:`request_target`). :func:`read_and_verify` reads the same head natively
    (``Guard.verify_environ``)."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-"), value))
    method = environ.get("REQUEST_METHOD", "GET")
    # No wsgi.url_scheme (PEP 3333 requires one): "" lets the core take its default scheme.
    return method, request_target(environ), headers, environ.get("wsgi.url_scheme", "")


class _Input:
    """The body stream as the native reader sees it: a read that fails is the server failing to
    read the body as the client framed it (:class:`BadFramingError`), and whether the body was
    read to its end is recorded (``complete``)."""

    __slots__ = ("_left", "_stream", "complete")

    def __init__(self, stream: Any, declared: int | None) -> None:
        self._stream = stream
        self._left = declared
        self.complete = False

    def read(self, size: int) -> Any:
        try:
            data = self._stream.read(size)
        except HmacGuardError:
            raise
        except Exception as exc:  # whatever the server raises: its framing errors have no common base
            raise BadFramingError(f"the request body could not be read ({type(exc).__name__})") from exc
        if not data:
            if self._left is not None and self._left > 0:
                # The stream ended before the declared length: the connection did.
                raise BadFramingError(f"the body ended {self._left} bytes short of its Content-Length")
            self.complete = True
        elif self._left is not None:
            self._left -= len(data)
            if self._left <= 0:
                self.complete = True
        return data


def _declared_length(environ: dict[str, Any]) -> int | None:
    value = environ.get("CONTENT_LENGTH")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def read_and_verify(
    guard: Guard, environ: dict[str, Any], stream: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[Verified, bytes]:
    """Verifies the request in ``environ``: every header check first (nothing is read if they
    fail), then the body streamed in chunks; at most ``body_limit + 1`` bytes are ever read, so
    an oversized body fails with ``BodyTooLargeError`` without reading the rest. Returns the
    verified result and the exact body bytes. (One native call: ``Guard.verify_environ``.)

    A body the server cannot read raises :class:`~hmac_guard.BadFramingError`. On any refusal,
    ``environ["hmac_guard.body_read"]`` tells whether the body was read to its end (see
    :func:`body_unread`)."""
    body = _Input(environ["wsgi.input"] if stream is None else stream, _declared_length(environ))
    try:
        return guard.verify_environ(environ, request_target(environ), body, chunk_size)
    except HmacGuardError:
        environ[BODY_READ_KEY] = body.complete
        raise


def body_unread(environ: dict[str, Any]) -> bool:
    """Whether body bytes of this request may still be unread: a body is announced
    (``Content-Length`` other than 0, or ``Transfer-Encoding``) and :func:`read_and_verify` did
    not read it to its end. A refusal then closes the connection (``Connection: close``)."""
    if environ.get(BODY_READ_KEY):
        return False
    return body_announced(environ)


def body_announced(environ: dict[str, Any]) -> bool:
    """Whether the request announces a body; the core decides (``intake::announces_body``)."""
    return announces_body(environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING"))


def accept_signature(guard: Guard, exc: HmacGuardError, environ: dict[str, Any]) -> str | None:
    """The ``Accept-Signature`` value the core asks this refusal to carry (RFC 9421 §5.1: a 401 of
    the RFC 9421 scheme), or ``None``."""
    return guard.accept_signature(exc.code, body_announced(environ))


def error_body(exc: HmacGuardError, *, reason: bool = False) -> bytes:
    """The JSON error body; ``reason`` adds the error's reason (``guard.expose_reasons``)."""
    return json.dumps(exc.to_dict(reason=reason)).encode()


def error_response(
    exc: HmacGuardError,
    start_response: StartResponse,
    *,
    close: bool = False,
    accept_signature: str | None = None,
    reason: bool = False,
) -> Iterable[bytes]:
    """A JSON error response: ``{"error": {"code", "message"}}`` with the error's status. The
    generic message only: the internal reason is for logs, unless ``reason`` (pass
    ``guard.expose_reasons``: development only) adds it. ``close`` (body bytes left unread, see
    :func:`body_unread`; always for a 413) adds ``Connection: close``; ``accept_signature`` (see
    :func:`accept_signature`) adds that field."""
    body = error_body(exc, reason=reason)
    status = f"{exc.status} {_REASONS.get(exc.status, 'Error')}"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if accept_signature is not None:
        headers.append(("Accept-Signature", accept_signature))
    if close or exc.status == 413:
        headers.append(("Connection", "close"))
    start_response(status, headers)
    return [body]


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
