"""FastAPI / Starlette dependency.

    from fastapi import Depends, FastAPI
    from hmac_guard import Guard, Verified
    from hmac_guard.fastapi import HmacVerifier, install_error_handler

    guard = Guard(keys=[...])
    verified = HmacVerifier(guard)
    app = FastAPI()
    install_error_handler(app)

    @app.post("/orders")
    async def create(order: dict, hmac: Verified = Depends(verified)):
        return {"by": hmac.subject}

Where :class:`hmac_guard.asgi.HmacGuardMiddleware` already verified the request, the dependency
returns that result. Otherwise it verifies the request itself: it streams the body under the cap
when nothing has read it yet, and else checks the body FastAPI has already read for the
endpoint's body parameters (FastAPI reads those before dependencies run, so for a hard cap on
such endpoints use the middleware). Errors are ``{"error": {"code", "message"}}`` responses once
:func:`install_error_handler` is installed, with ``Connection: close`` when the body was left
unread (a refusal before or while streaming it) and, on a 401 of the RFC 9421 scheme, the
``Accept-Signature`` field the core builds (RFC 9421 §5.1).

Webhook receivers, one line per route::

    from hmac_guard import WebhookDelivery
    from hmac_guard.fastapi import webhook

    @app.post("/hooks/stripe")
    @webhook("stripe", secrets=["whsec_..."])
    async def on_stripe(delivery: WebhookDelivery):
        return {"ok": True}

The endpoint gets a :class:`~hmac_guard.WebhookDelivery` (and the Starlette ``Request`` when it
has a parameter named ``request``; sync or async; it returns a
``Response`` or anything ``jsonable_encoder`` takes). The delivery is committed when the answer
is 2xx and the client is still there, and released on another status, an exception, or a client
gone (the provider's retry then runs); the claim, commit and release are awaited (Redis never
blocks the event loop). A copy of a committed delivery is answered 200 without running the
endpoint, a copy in flight 409 with ``Retry-After``; every refusal is the core's.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ._errors import HmacGuardError
from ._native import Guard, Verified
from ._webhook import delivery_of, settle_async, succeeded, webhook_guard
from .asgi import SCOPE_KEY, ClientDisconnected, _body_announced, finish, request_head

# In the scope after the dependency refused a request: whether the body was read to its end, and
# the guard that refused it (for the ``Accept-Signature`` field).
_BODY_READ_KEY = "hmac_guard.body_read"
_GUARD_KEY = "hmac_guard.guard"

__all__ = ["HmacVerifier", "error_response", "install_error_handler", "webhook"]


class HmacVerifier:
    """A dependency: ``Depends(HmacVerifier(guard))`` gives the :class:`~hmac_guard.Verified`."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    async def __call__(self, request: Request) -> Verified:
        done = request.scope.get(SCOPE_KEY)
        if done is not None:
            return done  # type: ignore[no-any-return]
        cached: Any = getattr(request, "_body", None)
        read = cached is not None
        try:
            method, target, headers, url_scheme = request_head(request.scope)
            verification = self.guard.begin(method, target, headers, url_scheme=url_scheme)
            if cached is None:
                chunks: list[bytes] = []
                try:
                    async for chunk in request.stream():
                        if chunk:
                            verification.update(chunk)  # raises as soon as the limit is crossed
                            chunks.append(chunk)
                except ClientDisconnect:
                    raise ClientDisconnected from None
                read = True
                body = b"".join(chunks)
                request._body = body  # the endpoint's request.body()/json() see the same bytes
            else:
                verification.update(cached)
            verified = await finish(self.guard, verification)
        except HmacGuardError:
            request.scope[_BODY_READ_KEY] = read
            request.scope[_GUARD_KEY] = self.guard
            raise
        request.scope[SCOPE_KEY] = verified
        return verified


def error_response(
    exc: HmacGuardError,
    *,
    close: bool = False,
    accept_signature: str | None = None,
    reason: bool = False,
) -> Response:
    """The JSON error response for an :class:`~hmac_guard.HmacGuardError`; ``close`` (body bytes
    left unread; always for a 413) adds ``Connection: close``, on which uvicorn closes the
    connection instead of reading the rest of the body; ``accept_signature`` (from
    ``guard.accept_signature(exc.code, with_body)``) adds the ``Accept-Signature`` field;
    ``reason`` (``guard.expose_reasons``: development only) the error's reason."""
    headers: dict[str, str] = {}
    if accept_signature is not None:
        headers["Accept-Signature"] = accept_signature
    if close or exc.status == 413:
        headers["Connection"] = "close"
    return JSONResponse(exc.to_dict(reason=reason), status_code=exc.status, headers=headers or None)


def _body_unread(request: Request) -> bool:
    read = request.scope.get(_BODY_READ_KEY)
    if read is not None:
        return not read
    return getattr(request, "_body", None) is None and _body_announced(request.scope)


def install_error_handler(app: Any) -> None:
    """Registers :func:`error_response` for every :class:`~hmac_guard.HmacGuardError`, with
    ``Connection: close`` when the request's body was left unread, and, for a refusal by
    :class:`HmacVerifier` that is a 401 of the RFC 9421 scheme, ``Accept-Signature``."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HmacGuardError)
        guard: Guard | None = request.scope.get(_GUARD_KEY)
        accept = guard.accept_signature(exc.code, _body_announced(request.scope)) if guard else None
        reason = guard is not None and guard.expose_reasons
        return error_response(exc, close=_body_unread(request), accept_signature=accept, reason=reason)

    app.add_exception_handler(HmacGuardError, handler)


def webhook(
    preset: str | None = None, *, guard: Guard | None = None, **options: Any
) -> Callable[[Callable[..., Any]], Callable[[Request], Any]]:
    """Decorator (under ``@app.post(path)``): the endpoint is a webhook receiver for ``preset``
    with the :class:`~hmac_guard.Guard` options ``options`` (``secrets=[...]``, ``redis_url``,
    ...), or for ``guard``; it is called with the :class:`~hmac_guard.WebhookDelivery`. The
    decorated endpoint's ``.guard`` is the guard (``guard.rotate_secrets([...])``)."""
    hook_guard = webhook_guard(preset, guard, options)

    def decorate(handler: Callable[..., Any]) -> Callable[[Request], Any]:
        wants_request = "request" in inspect.signature(handler).parameters
        is_async = inspect.iscoroutinefunction(handler)

        async def receiver(request: Request) -> Response:
            complete = False
            try:
                method, target, headers, url_scheme = request_head(request.scope)
                verification = hook_guard.begin(method, target, headers, url_scheme=url_scheme)
                chunks: list[bytes] = []
                try:
                    async for chunk in request.stream():
                        if chunk:
                            verification.update(chunk)  # raises as soon as the limit is crossed
                            chunks.append(chunk)
                except ClientDisconnect:
                    return Response(status_code=400)  # nobody is left to read it
                complete = True
                verified = await finish(hook_guard, verification)
            except HmacGuardError as exc:
                refusal = hook_guard.refusal(exc, _body_announced(request.scope), complete)
                return Response(refusal.body, status_code=refusal.status, headers=dict(refusal.headers()))
            ticket = verified.replay_ticket
            try:
                delivery = delivery_of(verified, b"".join(chunks))
                call = (
                    functools.partial(handler, delivery, request=request)
                    if wants_request
                    else functools.partial(handler, delivery)
                )
                # A plain def runs in the thread pool, as FastAPI runs plain endpoints.
                result = await call() if is_async else await run_in_threadpool(call)
                if inspect.isawaitable(result):
                    result = await result
                response = result if isinstance(result, Response) else JSONResponse(jsonable_encoder(result))
            except BaseException:
                await settle_async(hook_guard, ticket, commit=False)
                raise
            commit = succeeded(response.status_code) and not await request.is_disconnected()
            await settle_async(hook_guard, ticket, commit=commit)
            return response

        receiver.__name__ = getattr(handler, "__name__", "webhook")
        receiver.__qualname__ = getattr(handler, "__qualname__", receiver.__name__)
        receiver.__doc__ = handler.__doc__
        receiver.guard = hook_guard  # type: ignore[attr-defined]
        return receiver

    return decorate


def jsonable_encoder(value: Any) -> Any:
    """FastAPI's ``jsonable_encoder`` when FastAPI is installed (plain Starlette: the value)."""
    try:
        from fastapi.encoders import jsonable_encoder as encode
    except ImportError:  # Starlette alone
        return value
    return encode(value)
