"""WSGI middleware for any WSGI application (Django, Flask, Falcon, Bottle, …).

    from hmac_guard import Guard
    from hmac_guard.wsgi import HmacGuardMiddleware

    application = HmacGuardMiddleware(application, Guard(keys=[...]), path_prefixes=["/api/"])

Verified requests reach the application with ``environ["hmac_guard.verified"]`` set and the exact
body bytes in ``wsgi.input``; failures get a JSON ``{"error": {"code", "message"}}`` response (a
body the server could not read: 400 ``ERR_BAD_FRAMING``), with ``Connection: close`` when body
bytes were left unread, and a 401 of the RFC 9421 scheme with the ``Accept-Signature`` field the
core builds (RFC 9421 §5.1).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, Callable

from ._errors import HmacGuardError
from ._native import Guard
from ._wsgi import (
    DEFAULT_CHUNK_SIZE,
    StartResponse,
    accept_signature,
    body_unread,
    error_response,
    read_and_verify,
)

__all__ = ["ENVIRON_KEY", "HmacGuardMiddleware"]

ENVIRON_KEY = "hmac_guard.verified"


class HmacGuardMiddleware:
    """Verifies requests before they reach ``app``.

    ``path_prefixes``: only requests whose path starts with one of these are checked (default:
    every request). ``exempt``: a predicate on the environ for requests to pass through unchecked.
    """

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        guard: Guard,
        *,
        path_prefixes: Sequence[str] | None = None,
        exempt: Callable[[dict[str, Any]], bool] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.app = app
        self.guard = guard
        self.path_prefixes = tuple(path_prefixes) if path_prefixes is not None else None
        self.exempt = exempt
        self.chunk_size = chunk_size

    def _applies(self, environ: dict[str, Any]) -> bool:
        if self.exempt is not None and self.exempt(environ):
            return False
        if self.path_prefixes is None:
            return True
        path: str = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        return path.startswith(self.path_prefixes)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._applies(environ):
            return self.app(environ, start_response)
        try:
            verified, body = read_and_verify(self.guard, environ, chunk_size=self.chunk_size)
        except HmacGuardError as exc:
            # Body bytes left unread: Connection: close, and nothing more is read.
            return error_response(
                exc,
                start_response,
                close=body_unread(environ),
                accept_signature=accept_signature(self.guard, exc, environ),
                reason=self.guard.expose_reasons,
            )
        environ[ENVIRON_KEY] = verified
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
