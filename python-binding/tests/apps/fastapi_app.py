"""The FastAPI test app (served by uvicorn in the tests): middleware + dependency."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request

from hmac_guard import Guard, Verified
from hmac_guard.asgi import HmacGuardMiddleware
from hmac_guard.fastapi import HmacVerifier, install_error_handler

from common import BODY_LIMIT, EXPOSE_REASONS, KEYS, describe

guard = Guard(
    keys=KEYS,
    body_limit=BODY_LIMIT,
    redis_url=os.environ.get("HMAC_GUARD_TEST_REDIS_URL"),
    redis_prefix=os.environ.get("HMAC_GUARD_TEST_REDIS_PREFIX"),  # None: absent
    expose_reasons=EXPOSE_REASONS,
)
app = FastAPI()
app.add_middleware(HmacGuardMiddleware, guard=guard, path_prefixes=["/echo", "/api/"])
install_error_handler(app)
verified = HmacVerifier(guard)


@app.get("/health")
async def health() -> dict[str, Any]:
    return {"ok": True, "pid": os.getpid()}


@app.api_route("/echo", methods=["GET", "POST", "PUT", "DELETE"])
async def echo(request: Request, hmac: Verified = Depends(verified)) -> dict[str, Any]:
    body = await request.body()
    out = describe(hmac, body)
    out["state"] = getattr(request.state, "hmac", None) is hmac  # what the middleware verified
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        out["form"] = parse_qs(body.decode("latin-1"))
    if request.headers.get("content-type", "") == "application/json":
        out["json"] = await request.json()
    return out


@app.post("/dep/json")
async def dep_json(item: dict[str, Any], hmac: Verified = Depends(verified)) -> dict[str, Any]:
    """No middleware on this path: the dependency verifies the body FastAPI already read."""
    return {"subject": hmac.subject, "item": item}


@app.post("/dep/raw")
async def dep_raw(request: Request, hmac: Verified = Depends(verified)) -> dict[str, Any]:
    """No middleware here either: the dependency streams the body under the cap."""
    return describe(hmac, await request.body())
