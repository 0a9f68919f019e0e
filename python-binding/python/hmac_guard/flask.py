"""Flask extension.

    from flask import Flask, g, request
    from hmac_guard.flask import HmacGuard

    app = Flask(__name__)
    app.config["HMAC_GUARD_KEYS"] = [
        {"id": "client-1", "secret": b"...32+ bytes...", "subject": "svc:billing"},
    ]
    hmac = HmacGuard(app)

    @app.post("/orders")
    @hmac.required
    def create_order():
        return {"by": g.hmac.subject, "order": request.get_json()}

Webhook receivers (one line per route; see :mod:`hmac_guard._webhook`)::

    from hmac_guard.flask import webhook

    @app.post("/hooks/stripe")
    @webhook("stripe", secrets=["whsec_..."])
    def on_stripe(delivery):
        ...  # delivery.type, delivery.id, delivery.payload, delivery.body
        return {"ok": True}

The view gets a :class:`~hmac_guard.WebhookDelivery`; the delivery is committed as a 2xx answer
is handed to the server (just before its last piece), and released when the view answers
anything else, raises, or the server stops writing early (a client gone; the provider's retry
then runs). A copy of a committed delivery is answered 200 without running the view, a copy in flight
409 with ``Retry-After``; every refusal is the core's (``Guard.refusal``).

``hmac.protect(blueprint)`` protects every view of a blueprint; ``HMAC_GUARD_PROTECT_ALL = True``
protects the whole app (``@hmac.exempt`` opts a view out). The body is streamed into the
verifier in chunks under ``HMAC_GUARD_BODY_LIMIT`` (413 as soon as it is crossed, nothing read
when a header check fails) and the view still gets the exact bytes through ``request.get_data()``,
``get_json()`` and ``form``. ``g.hmac`` holds the :class:`~hmac_guard.Verified` result. A body the
server cannot read (bad chunking, a client gone mid-body) is a 400 ``ERR_BAD_FRAMING``, a
refusal with body bytes unread answers with ``Connection: close``, and a 401 of the RFC 9421
scheme carries the ``Accept-Signature`` field the core builds (RFC 9421 §5.1).

Settings (``app.config``), each optional: every ``HMAC_GUARD_<NAME>`` is the
:class:`~hmac_guard.Guard` keyword ``<name>`` (``HMAC_GUARD_KEYS``, ``HMAC_GUARD_SCHEME``,
``HMAC_GUARD_PROFILE``, ``HMAC_GUARD_MAX_AGE_SECS``, ``HMAC_GUARD_BODY_LIMIT``,
``HMAC_GUARD_TRUST_PROXY``, ``HMAC_GUARD_REDIS_URL``, ``HMAC_GUARD_REDIS_TLS_CA``, ...), checked by
the core like the keyword (an unknown or bad one is ``ConfigError`` naming the setting), except
the extension's own ``HMAC_GUARD_CHUNK_SIZE`` and ``HMAC_GUARD_PROTECT_ALL``. Without
``HMAC_GUARD_REDIS_URL`` the ``HMAC_GUARD_REDIS_URL`` environment variable picks the store, and
without ``HMAC_GUARD_REDIS_TLS_CA`` the file named by ``HMAC_GUARD_REDIS_TLS_CA_FILE``.
"""

from __future__ import annotations

import functools
import io
from typing import Any, Callable, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, g, request

from ._errors import ConfigError, HmacGuardError, InvalidStateError
from ._native import Guard, ReplayTicket, Verified
from ._webhook import Once, WebhookDelivery, committing_last, delivery_of, settle, succeeded, webhook_guard
from ._wsgi import (
    BODY_READ_KEY,
    DEFAULT_CHUNK_SIZE,
    accept_signature,
    body_announced,
    body_unread,
    error_body,
    read_and_verify,
)

__all__ = ["HmacGuard", "guard_from_config", "verify_current_request", "webhook"]

F = TypeVar("F", bound=Callable[..., Any])

_PREFIX = "HMAC_GUARD_"
# The extension's own settings; every other HMAC_GUARD_* setting is a Guard keyword.
_FLASK_ONLY = ("HMAC_GUARD_CHUNK_SIZE", "HMAC_GUARD_PROTECT_ALL")

_EXEMPT_ATTR = "_hmac_guard_exempt"


def guard_from_config(config: Any) -> Guard:
    """A :class:`~hmac_guard.Guard` from ``HMAC_GUARD_*`` settings (unset ones keep the defaults).

    Each ``HMAC_GUARD_<NAME>`` is passed as the keyword ``<name>``: the core checks it (an unknown
    or bad one is :class:`~hmac_guard.ConfigError` naming the setting)."""
    options = {
        key[len(_PREFIX) :].lower(): value
        for key, value in config.items()
        if isinstance(key, str) and key.startswith(_PREFIX) and key not in _FLASK_ONLY
    }
    try:
        return Guard(**options)
    except ConfigError as e:
        # The core names the keyword (``max_age_secs ...``, ``unknown option "colour"``): name
        # the setting it came from.
        named = [n for n in options if e.reason.startswith((n, f'unknown option "{n}"'))]
        setting = f"{_PREFIX}{max(named, key=len).upper()}: " if named else ""
        raise ConfigError(f"{setting}{e.reason}") from None


class _State:
    def __init__(self, guard: Guard, chunk_size: int) -> None:
        self.guard = guard
        self.chunk_size = chunk_size


class HmacGuard:
    """The extension. ``HmacGuard(app)`` or ``ext = HmacGuard(); ext.init_app(app)``; pass
    ``guard=`` to use a :class:`~hmac_guard.Guard` built in code instead of the settings."""

    def __init__(self, app: Flask | None = None, *, guard: Guard | None = None) -> None:
        self._guard = guard
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        guard = self._guard if self._guard is not None else guard_from_config(app.config)
        chunk_size = int(app.config.get("HMAC_GUARD_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))
        if chunk_size < 1:
            raise ConfigError(f"HMAC_GUARD_CHUNK_SIZE = {chunk_size} must be at least 1")
        app.extensions["hmac_guard"] = _State(guard, chunk_size)
        app.register_error_handler(HmacGuardError, _error_response)
        if app.config.get("HMAC_GUARD_PROTECT_ALL", False):
            app.before_request(self._before_request)

    @property
    def guard(self) -> Guard:
        """The current app's guard (for key rotation: ``ext.guard.add_key(...)``)."""
        return cast(_State, current_app.extensions["hmac_guard"]).guard

    def required(self, view: F) -> F:
        """Decorator: the view runs only for a verified request."""

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_current_request()
            return view(*args, **kwargs)

        return cast(F, wrapper)

    def exempt(self, view: F) -> F:
        """Decorator: leave this view unchecked under ``protect()`` / ``HMAC_GUARD_PROTECT_ALL``."""
        setattr(view, _EXEMPT_ATTR, True)
        return view

    def protect(self, blueprint: Blueprint) -> Blueprint:
        """Verifies every request routed to ``blueprint`` (register it after calling this or before:
        both work)."""
        blueprint.before_request(self._before_request)
        return blueprint

    def _before_request(self) -> None:
        req = _request_object()
        endpoint = req.endpoint
        view = _app_object().view_functions.get(endpoint) if endpoint else None
        if view is not None and getattr(view, _EXEMPT_ATTR, False):
            return None
        if req.routing_exception is not None:  # let Flask answer 404/405
            return None
        verify_current_request()
        return None


# The objects behind Flask's context proxies, each resolved with one call per request instead of
# one proxy lookup per attribute access.
_request_object: Callable[[], Any] = cast(Any, request)._get_current_object
_app_object: Callable[[], Any] = cast(Any, current_app)._get_current_object
_g_object: Callable[[], Any] = cast(Any, g)._get_current_object


def verify_current_request() -> Verified:
    """Verifies the current request once (a repeat call returns the same result)."""
    ctx_g = _g_object()
    done = ctx_g.get("hmac")
    if done is not None:
        return cast(Verified, done)
    state: _State = _app_object().extensions["hmac_guard"]
    req = _request_object()
    environ = req.environ
    # Werkzeug caches what get_data()/get_json()/form read: the stream is spent, and verifying
    # what is left would blame the client for the server's order of operations.
    if "_cached_data" in vars(req) or "form" in vars(req):
        refusal = InvalidStateError(
            "the request body was read before hmac-guard verified it (request.get_data(), .json or .form"
            " in a before_request hook or another extension): protect the view before anything reads the body"
        )
        state.guard.refused(refusal.code, refusal.reason)  # counted and reported like the core's own
        raise refusal
    verified, body = read_and_verify(state.guard, environ, req.stream, state.chunk_size)
    # The view reads the same bytes: get_data()/get_json()/form use the cached data, and a
    # direct read of the stream or wsgi.input sees them too.
    req._cached_data = body
    req.__dict__["stream"] = io.BytesIO(body)
    environ["wsgi.input"] = io.BytesIO(body)
    ctx_g.hmac = verified
    return verified


def _error_response(exc: HmacGuardError) -> Response:
    state: _State = _app_object().extensions["hmac_guard"]
    body = error_body(exc, reason=state.guard.expose_reasons)
    response = current_app.response_class(body, status=exc.status, mimetype="application/json")
    environ = _request_object().environ
    # A 401 of the RFC 9421 scheme: what a signature must cover (RFC 9421 §5.1), as the core says.
    accept = accept_signature(state.guard, exc, environ)
    if accept is not None:
        response.headers["Accept-Signature"] = accept
    # Body bytes left unread (any refusal, not only a 413): ask the server to close the connection
    # rather than read them. (gunicorn drops an application's Connection header and closes by its
    # own rules: the sync worker always, gthread after draining at most 64 KiB.)
    if exc.status == 413 or body_unread(environ):
        response.headers["Connection"] = "close"
    return response


def webhook(
    preset: str | None = None,
    *,
    guard: Guard | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the view is a webhook receiver for ``preset`` (``"stripe"``, ``"github"``,
    ``"standard-webhooks"``, ...) with the :class:`~hmac_guard.Guard` options ``options``
    (``secrets=[...]``, ``body_limit``, ``dedupe_secs``, ``redis_url``, ...), or for the
    webhook guard ``guard``. The view is called as ``view(delivery, **url_values)`` with a
    :class:`~hmac_guard.WebhookDelivery`; the decorated view's ``.guard`` is the guard (for
    ``guard.rotate_secrets([...])``)."""
    hook_guard = webhook_guard(preset, guard, options)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def receiver(*args: Any, **kwargs: Any) -> Any:
            environ = _request_object().environ
            try:
                verified, body = read_and_verify(hook_guard, environ, _request_object().stream, chunk_size)
            except HmacGuardError as exc:
                return refusal_response(hook_guard, exc, environ)
            delivery: WebhookDelivery = delivery_of(verified, body)
            ticket = verified.replay_ticket
            try:
                response = current_app.make_response(view(delivery, *args, **kwargs))
            except BaseException:
                settle(ticket, commit=False)
                raise
            if not succeeded(response.status_code) or response.status_code == 204:
                # (Werkzeug never iterates a 204's body: it is committed here.)
                settle(ticket, commit=succeeded(response.status_code))
                return response
            return _settled_when_sent(response, ticket)

        receiver.guard = hook_guard  # type: ignore[attr-defined]
        return receiver

    return decorate


def _settled_when_sent(response: Response, ticket: ReplayTicket | None) -> Response:
    """Commits the delivery just before the server writes the last piece of the 2xx response;
    releases it when the server stops early (a client gone mid-response)."""
    once = Once(ticket)
    response.response = committing_last(response.response, once, lambda: True)
    response.call_on_close(lambda: once(False))  # no-op once settled
    return response


def refusal_response(guard: Guard, exc: HmacGuardError, environ: dict[str, Any]) -> Response:
    """The core's answer to a refusal (``Guard.refusal``) as a Flask response."""
    refusal = guard.refusal(exc, body_announced(environ), bool(environ.get(BODY_READ_KEY)))
    response = current_app.response_class(refusal.body, status=refusal.status)
    for name, value in refusal.headers():
        response.headers[name] = value
    return response
