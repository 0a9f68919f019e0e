"""The FastAPI app of the observability tests (uvicorn): the ASGI middleware on ``/echo``, a hook
that keeps every event with the thread that delivered it, and test-only routes for the stats and
the events. ``HMAC_GUARD_TEST_REDIS_URL`` selects the Redis store (its claim is awaited, so its
events come from the event loop's thread too)."""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import FastAPI, Request

from hmac_guard import Guard, GuardEvent
from hmac_guard.asgi import HmacGuardMiddleware

from common import KEYS

events: list[dict[str, Any]] = []
events_lock = threading.Lock()


def collect(event: GuardEvent) -> None:
    with events_lock:
        events.append({**event, "thread": threading.current_thread().name})


guard = Guard(
    keys=KEYS,
    report_accepted=True,
    logger=False,
    on_event=collect,
    redis_url=os.environ.get("HMAC_GUARD_TEST_REDIS_URL"),
    redis_prefix=os.environ.get("HMAC_GUARD_TEST_REDIS_PREFIX"),  # None: absent
)
app = FastAPI()
app.add_middleware(HmacGuardMiddleware, guard=guard, path_prefixes=["/echo"])


@app.get("/health")
async def health() -> dict[str, Any]:
    return {"ok": True, "main_thread": threading.main_thread().name}


@app.post("/echo")
async def echo(request: Request) -> dict[str, Any]:
    return {"len": len(await request.body())}


@app.get("/_test/stats")
async def stats() -> dict[str, Any]:
    return guard.stats()


@app.get("/_test/events")
async def all_events() -> list[dict[str, Any]]:
    with events_lock:
        return list(events)
