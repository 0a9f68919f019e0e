"""WSGI plumbing shared by the Flask extension and the WSGI middleware: read the request head
from the environ, stream the body into a verification under the cap, hand the bytes back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import quote

from ._errors import HmacGuardError
from ._native import Guard, Verified

DEFAULT_CHUNK_SIZE = 64 * 1024

StartResponse = Callable[..., Any]


def request_head(environ: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], str]:
    """``(method, target, headers, url_scheme)`` as the client sent them.

    The target is the raw request-target when the server reports it (gunicorn and Werkzeug set
    ``RAW_URI``/``REQUEST_URI``), else it is rebuilt from ``SCRIPT_NAME``/``PATH_INFO`` and
    ``QUERY_STRING``.
    """
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target:
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
        target = quote(path, safe="/;:@&=+$,!~*'()%") or "/"
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-"), value))
    return environ.get("REQUEST_METHOD", "GET"), target, headers, environ.get("wsgi.url_scheme", "http")


def read_and_verify(
    guard: Guard, environ: dict[str, Any], stream: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[Verified, bytes]:
    """Verifies the request in ``environ``: every header check first (nothing is read if they
    fail), then the body streamed in chunks; at most ``body_limit + 1`` bytes are ever read, so
    an oversized body fails with ``BodyTooLargeError`` without reading the rest. Returns the
    verified result and the exact body bytes."""
    method, target, headers, url_scheme = request_head(environ)
    verification = guard.begin(method, target, headers, url_scheme=url_scheme)
    if stream is None:
        stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    # Without Content-Length, a WSGI server may only be read to EOF when it says the input is
    # terminated (PEP 3333); otherwise the body is treated as empty, as Werkzeug does.
    readable = bool(length) or bool(environ.get("wsgi.input_terminated"))
    chunks: list[bytes] = []
    if readable:
        room = guard.body_limit + 1
        # With a Content-Length within the limit, stop after that many bytes instead of asking the
        # stream for an EOF it would answer with b"" (the core still checks the count).
        declared = _declared_length(length)
        if declared is not None and declared < room:
            room = declared
        while room > 0:
            chunk = stream.read(min(chunk_size, room))
            if not chunk:
                break
            verification.update(chunk)  # raises as soon as the limit is crossed
            chunks.append(chunk)
            room -= len(chunk)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return verification.finish(), bytes(body)


def _declared_length(value: Any) -> int | None:
    """Content-Length as a number, or None when absent or not a plain decimal (then the body is
    read up to the limit and the core judges the header)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def error_body(exc: HmacGuardError) -> bytes:
    return json.dumps(exc.to_dict()).encode()


def error_response(exc: HmacGuardError, start_response: StartResponse) -> Iterable[bytes]:
    """A JSON error response: ``{"error": {"code", "message"}}`` with the error's status. The
    generic message only: the internal reason is for logs."""
    body = error_body(exc)
    status = f"{exc.status} {_REASONS.get(exc.status, 'Error')}"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if exc.status == 413:
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
