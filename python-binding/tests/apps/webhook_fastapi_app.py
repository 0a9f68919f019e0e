"""The FastAPI webhook test app (served by uvicorn): one receiver per preset at /hooks/<preset>."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from webhook_common import PRESETS, SECRETS, SLOW_SECS, describe, marker, mode, options, record

from hmac_guard import WebhookDelivery
from hmac_guard.fastapi import webhook

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, Any]:
    return {"ok": True, "pid": os.getpid()}


def _receiver(preset: str) -> Any:
    async def handler(delivery: WebhookDelivery, request: Request) -> Any:
        record(delivery.provider, marker(delivery))
        how = mode(request.url.query)
        if how == "slow":
            await asyncio.sleep(SLOW_SECS)
        elif how == "fail":
            return JSONResponse({"failed": True}, status_code=500)
        elif how == "raise":
            raise RuntimeError("handler failed")
        return describe(delivery)

    return webhook(preset, secrets=SECRETS[preset], **options())(handler)


for _preset in PRESETS:
    app.add_api_route(f"/hooks/{_preset}", _receiver(_preset), methods=["POST"])
