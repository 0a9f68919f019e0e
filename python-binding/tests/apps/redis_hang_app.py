"""The FastAPI app of the Redis hang test (served by uvicorn): a Redis-backed guard with a 250 ms
store timeout; ``/echo`` behind the ASGI middleware, ``/dep`` behind the dependency, ``/health``
(the event loop's responsiveness is measured on it), ``/_test/stats`` and ``/_test/timings``
unguarded. An outermost middleware times each request carrying ``x-seq`` from the moment it reaches
the application to its response's start: the server's own latency, without the client's."""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import Depends, FastAPI, Request

from hmac_guard import Guard, Verified
from hmac_guard.asgi import ASGIApp, HmacGuardMiddleware, Message, Receive, Scope, Send
from hmac_guard.fastapi import HmacVerifier, install_error_handler

from common import KEYS, REDIS_HANG_TIMEOUT_MS

guard = Guard(
    keys=KEYS,
    redis_url=os.environ["HMAC_GUARD_TEST_REDIS_URL"],
    redis_prefix=os.environ["HMAC_GUARD_TEST_REDIS_PREFIX"],
    redis_timeout_ms=REDIS_HANG_TIMEOUT_MS,
    logger=False,  # a refusal per request during the hang: nothing to read in the server's log
)
timings: dict[str, float] = {}  # x-seq -> seconds to the response's start


class Timing:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seq = dict(scope.get("headers", ())).get(b"x-seq") if scope["type"] == "http" else None
        if seq is None:
            await self.app(scope, receive, send)
            return
        start = time.monotonic()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                timings[seq.decode()] = time.monotonic() - start
            await send(message)

        await self.app(scope, receive, timed)


app = FastAPI()
app.add_middleware(HmacGuardMiddleware, guard=guard, path_prefixes=["/echo"])
app.add_middleware(Timing)  # added last: outermost
install_error_handler(app)
verified = HmacVerifier(guard)


@app.get("/health")
async def health() -> dict[str, Any]:
    return {"ok": True, "pid": os.getpid()}


@app.get("/_test/stats")
async def stats() -> dict[str, Any]:
    return guard.stats()


@app.get("/_test/timings")
async def get_timings() -> dict[str, float]:
    return timings


@app.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    hmac: Verified = request.state.hmac
    return {"nonce": hmac.nonce, "by": "middleware"}


@app.post("/dep")
async def dep(hmac: Verified = Depends(verified)) -> dict[str, Any]:
    return {"nonce": hmac.nonce, "by": "dependency"}
