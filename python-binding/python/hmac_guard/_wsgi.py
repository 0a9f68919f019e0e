"""WSGI plumbing shared by the Flask extension and the WSGI middleware: read the request head
from the environ, stream the body into a verification under the cap, hand the bytes back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Callable, cast
from urllib.parse import quote

from ._errors import HmacGuardError
from ._native import Guard, Verified

DEFAULT_CHUNK_SIZE = 64 * 1024

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
    return method, request_target(environ), headers, environ.get("wsgi.url_scheme", "http")


def read_and_verify(
    guard: Guard, environ: dict[str, Any], stream: Any = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> tuple[Verified, bytes]:
    """Verifies the request in ``environ``: every header check first (nothing is read if they
    fail), then the body streamed in chunks; at most ``body_limit + 1`` bytes are ever read, so
    an oversized body fails with ``BodyTooLargeError`` without reading the rest. Returns the
    verified result and the exact body bytes. (One native call: ``Guard.verify_environ``.)"""
    return guard.verify_environ(environ, request_target(environ), stream, chunk_size)


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
