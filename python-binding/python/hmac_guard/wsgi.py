"""WSGI middleware for any WSGI application (Django, Flask, Falcon, Bottle, …).

    from hmac_guard import Guard
    from hmac_guard.wsgi import HmacGuardMiddleware

    application = HmacGuardMiddleware(application, Guard(keys=[...]), path_prefixes=["/api/"])

Verified requests reach the application with ``environ["hmac_guard.verified"]`` set and the exact
body bytes in ``wsgi.input``; failures get a JSON ``{"error": {"code", "message"}}`` response (a
body the server could not read: 400 ``ERR_BAD_FRAMING``), with ``Connection: close`` when body
bytes were left unread, and a 401 of the RFC 9421 scheme with the ``Accept-Signature`` field the
core builds (RFC 9421 §5.1).

A webhook receiver for any WSGI application: ``application = webhook("github",
secrets=[...])(application)`` verifies each delivery, puts the
:class:`~hmac_guard.WebhookDelivery` in ``environ["hmac_guard.webhook"]``, answers copies and
refusals from the core, and commits the delivery just before the last chunk of a 2xx response
is handed to the server (released on another status, an exception, or the server closing the
response early: a client gone).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from http import HTTPStatus
from typing import Any, Callable

from ._errors import HmacGuardError
from ._native import Guard, ReplayTicket
from ._webhook import Once, committing_last, delivery_of, succeeded, webhook_guard
from ._wsgi import (
    BODY_READ_KEY,
    DEFAULT_CHUNK_SIZE,
    StartResponse,
    accept_signature,
    body_announced,
    body_unread,
    error_response,
    read_and_verify,
)

__all__ = ["ENVIRON_KEY", "WEBHOOK_KEY", "HmacGuardMiddleware", "webhook"]

ENVIRON_KEY = "hmac_guard.verified"
WEBHOOK_KEY = "hmac_guard.webhook"

WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


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


def webhook(
    preset: str | None = None,
    *,
    guard: Guard | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> Callable[[WSGIApp], WSGIApp]:
    """Wraps a WSGI application into a webhook receiver for ``preset`` with the
    :class:`~hmac_guard.Guard` options ``options`` (``secrets=[...]``, ...), or for ``guard``.
    The wrapped application's ``.guard`` is the guard (``guard.rotate_secrets([...])``)."""
    hook_guard = webhook_guard(preset, guard, options)

    def wrap(app: WSGIApp) -> WSGIApp:
        def receiver(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            try:
                verified, body = read_and_verify(hook_guard, environ, chunk_size=chunk_size)
            except HmacGuardError as exc:
                refusal = hook_guard.refusal(exc, body_announced(environ), bool(environ.get(BODY_READ_KEY)))
                status = HTTPStatus(refusal.status)
                start_response(f"{status.value} {status.phrase}", refusal.headers())
                return [refusal.body]
            environ[WEBHOOK_KEY] = delivery_of(verified, body)
            environ[ENVIRON_KEY] = verified
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            return _Settling(app, environ, start_response, verified.replay_ticket)

        receiver.guard = hook_guard  # type: ignore[attr-defined]
        return receiver

    return wrap


class _Settling:
    """The application's response, passed through; the reservation is committed just before the
    last chunk of a 2xx response is handed to the server, and released on another status, an
    exception, or the server closing the response early (a client gone)."""

    def __init__(
        self,
        app: WSGIApp,
        environ: dict[str, Any],
        start_response: StartResponse,
        ticket: ReplayTicket | None,
    ) -> None:
        self._once = Once(ticket)
        self._status = 0

        def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self._status = int(status.split(" ", 1)[0])
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            self._inner = app(environ, starting)
        except BaseException:
            self._once(False)
            raise

    def __iter__(self) -> Iterator[bytes]:
        return committing_last(self._inner, self._once, lambda: succeeded(self._status))

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._once(False)  # no-op once settled
