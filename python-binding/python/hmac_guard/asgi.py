"""ASGI middleware (Starlette, FastAPI, Quart, any ASGI 3 app).

    from hmac_guard import Guard
    from hmac_guard.asgi import HmacGuardMiddleware

    app.add_middleware(HmacGuardMiddleware, guard=Guard(keys=[...]), path_prefixes=["/api/"])

The body is streamed into the verifier as it arrives (413 as soon as the limit is crossed,
nothing read when a header check fails); after verification the same bytes are replayed to the
application, then ``receive`` passes through (so disconnect detection keeps working and nothing
hangs). The result is in ``scope["hmac"]`` (``request.state.hmac`` in Starlette/FastAPI).

A 401 of the RFC 9421 scheme carries the ``accept-signature`` field the core builds (RFC 9421
§5.1: what a signature must cover). A refusal with body bytes still unread answers with
``connection: close`` and receives nothing more: the server then closes the connection instead
of reading the rest (uvicorn: h11 and httptools both end a response carrying ``connection:
close`` by closing the transport, and without it they go on reading and discarding the unread
body). Both ``Transfer-Encoding`` and
``Content-Length`` reach the core as the server passed them (it refuses the pair with
``ERR_BAD_FRAMING``). A server that cannot parse the body (bad chunking) answers 400 itself and
reports a disconnect; a client gone mid-body is :class:`ClientDisconnected`, a
:class:`~hmac_guard.BadFramingError` nobody is left to receive.

A webhook receiver for any ASGI application: ``app = webhook("stripe", secrets=[...])(app)``
verifies each delivery (the claim awaited: never blocking the loop on Redis), puts the
:class:`~hmac_guard.WebhookDelivery` in ``scope["hmac_guard.webhook"]`` (and
``request.state`` in Starlette), answers copies and refusals from the core (``Guard.refusal``),
and commits the delivery just before the last piece of a 2xx response is sent (released on
another status, an exception, or a client gone before that).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, MutableMapping, Sequence
from typing import Any, Callable

from ._errors import BadFramingError, HmacGuardError
from ._native import Guard, Verification, Verified, announces_body
from ._webhook import delivery_of, settle_async, succeeded, webhook_guard

__all__ = [
    "SCOPE_KEY",
    "WEBHOOK_KEY",
    "HmacGuardMiddleware",
    "finish",
    "read_and_verify",
    "request_head",
    "send_error",
    "send_refusal",
    "webhook",
]

SCOPE_KEY = "hmac"
WEBHOOK_KEY = "hmac_guard.webhook"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientDisconnected(BadFramingError):
    """The client went away before the body was complete (``ERR_BAD_FRAMING``; there is nobody
    left to answer)."""

    def __init__(self, reason: str = "the client disconnected before the body ended") -> None:
        super().__init__(reason)


def _body_announced(scope: Scope) -> bool:
    """Whether the request announces a body; the core decides (``intake::announces_body``)."""
    length: str | None = None
    coding: str | None = None
    for name, value in scope.get("headers", ()):
        n = name.lower()
        if n == b"content-length":
            length = value.decode("latin-1")
        elif n == b"transfer-encoding":
            coding = value.decode("latin-1")
    return announces_body(length, coding)


def request_head(scope: Scope) -> tuple[str, str, list[tuple[bytes, bytes]], str]:
    """``(method, target, headers, url_scheme)`` from an HTTP scope, raw as sent."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("root_path", "") + scope["path"]
    query = scope.get("query_string", b"")
    target = path + ("?" + query.decode("latin-1") if query else "")
    # Raw (bytes, bytes) pairs: the native module reads them without decoding in Python.
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
    # A scope without "scheme" means "http" by the ASGI spec: the server's word, not a default here.
    return scope.get("method", "GET"), target, headers, scope.get("scheme", "http")


async def read_and_verify(guard: Guard, scope: Scope, receive: Receive) -> tuple[Verified, bytes]:
    """Header checks first, then the body streamed under the cap. Returns the result and the
    exact body. Raises :class:`HmacGuardError` or :class:`ClientDisconnected`."""
    method, target, headers, url_scheme = request_head(scope)
    verification: Verification = guard.begin(method, target, headers, url_scheme=url_scheme)
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            verification.update(chunk)  # raises as soon as the limit is crossed
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return await finish(guard, verification), b"".join(chunks)


async def finish(guard: Guard, verification: Verification) -> Verified:
    """``verification.finish()``; with a networked replay store (Redis) awaited instead
    (``finish_async()``): the claim runs on the store's own async client and the event loop
    serves other requests meanwhile, with no thread held for the request and the GIL free. A
    Redis that does not answer is :class:`~hmac_guard.StoreUnavailableError` at its timeout."""
    if guard.store == "memory":
        return verification.finish()
    return await verification.finish_async()


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first delivers ``body`` as one message, then defers to ``receive``."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_error(
    send: Send,
    exc: HmacGuardError,
    *,
    close: bool = False,
    accept_signature: str | None = None,
    reason: bool = False,
) -> None:
    """Sends ``{"error": {"code", "message"}}`` with the error's status; ``close`` (body bytes
    left unread; always for a 413) adds ``connection: close``, ``accept_signature`` (from
    ``guard.accept_signature(exc.code, with_body)``) the ``accept-signature`` field, ``reason``
    (``guard.expose_reasons``: development only) the error's reason."""
    body = json.dumps(exc.to_dict(reason=reason)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if accept_signature is not None:
        headers.append((b"accept-signature", accept_signature.encode("ascii")))
    if close or exc.status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HmacGuardMiddleware:
    """Verifies HTTP requests before they reach ``app``. ``path_prefixes``: only paths starting
    with one of these are checked (default: all); ``exempt``: a predicate on the scope."""

    def __init__(
        self,
        app: ASGIApp,
        guard: Guard,
        *,
        path_prefixes: Sequence[str] | None = None,
        exempt: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.guard = guard
        self.path_prefixes = tuple(path_prefixes) if path_prefixes is not None else None
        self.exempt = exempt

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        if self.exempt is not None and self.exempt(scope):
            return False
        return self.path_prefixes is None or scope["path"].startswith(self.path_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        tracked, body_complete = _tracked(receive)
        try:
            verified, body = await read_and_verify(self.guard, scope, tracked)
        except ClientDisconnected:
            return  # nobody to answer
        except HmacGuardError as exc:
            # The core's answer; with body bytes left unread: connection: close, nothing more read.
            announced = _body_announced(scope)
            await send_refusal(send, self.guard, exc, announced=announced, complete=body_complete())
            return
        scope[SCOPE_KEY] = verified
        scope.setdefault("state", {})[SCOPE_KEY] = verified
        await self.app(scope, replaying(body, receive), send)


def _tracked(receive: Receive) -> tuple[Receive, Callable[[], bool]]:
    """``receive``, noting when the body's last message has arrived; and the question "has it?"."""
    complete = False

    async def tracked() -> Message:
        nonlocal complete
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            complete = True
        return message

    return tracked, lambda: complete


async def send_refusal(
    send: Send, guard: Guard, exc: HmacGuardError, *, announced: bool, complete: bool
) -> None:
    """Sends the core's answer to a refusal (``Guard.refusal``): its status, body and fields
    (``retry-after``, ``connection: close``, ``accept-signature``)."""
    refusal = guard.refusal(exc, announced, complete)
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in refusal.headers()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": refusal.body})


def webhook(
    preset: str | None = None, *, guard: Guard | None = None, **options: Any
) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps an ASGI application into a webhook receiver for ``preset`` with the
    :class:`~hmac_guard.Guard` options ``options`` (``secrets=[...]``, ``redis_url``, ...), or
    for ``guard``. The wrapped application's ``.guard`` is the guard."""
    hook_guard = webhook_guard(preset, guard, options)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def receiver(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            tracked, body_complete = _tracked(receive)
            try:
                verified, body = await read_and_verify(hook_guard, scope, tracked)
            except ClientDisconnected:
                return
            except HmacGuardError as exc:
                announced = _body_announced(scope)
                await send_refusal(send, hook_guard, exc, announced=announced, complete=body_complete())
                return
            delivery = delivery_of(verified, body)
            scope[WEBHOOK_KEY] = delivery
            scope.setdefault("state", {})["webhook"] = delivery
            status = 0
            ticket = verified.replay_ticket

            async def sending(message: Message) -> None:
                # A 2xx is committed just before its last body message goes out (then a copy is a
                # duplicate once the provider has its answer); a send that fails before (a client
                # gone) raises, and the delivery is released.
                nonlocal status, ticket
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                last = message["type"] == "http.response.body" and not message.get("more_body", False)
                if last and succeeded(status) and ticket is not None:
                    done, ticket = ticket, None
                    await settle_async(hook_guard, done, commit=True)
                await send(message)

            try:
                await app(scope, replaying(body, receive), sending)
            finally:
                done, ticket = ticket, None
                await settle_async(hook_guard, done, commit=False)

        receiver.guard = hook_guard  # type: ignore[attr-defined]
        return receiver

    return wrap
