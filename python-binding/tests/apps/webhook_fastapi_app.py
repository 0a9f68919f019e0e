"""The FastAPI webhook test app (served by uvicorn): one receiver per preset at /hooks/<preset>."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from webhook_common import PRESETS, SECRETS, SLOW_SECS, describe, marker, mode, options, record

from hmac_guard import WebhookDelivery
from hmac_guard.asgi import WEBHOOK_KEY as ASGI_WEBHOOK_KEY
from hmac_guard.asgi import webhook as asgi_webhook
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
        elif how == "empty":
            return Response(status_code=204)
        return describe(delivery)

    return webhook(preset, secrets=SECRETS[preset], **options())(handler)


for _preset in PRESETS:
    app.add_api_route(f"/hooks/{_preset}", _receiver(_preset), methods=["POST"])


# The plain ASGI receiver (hmac_guard.asgi.webhook) around a bare ASGI app, at /raw/<preset>.
async def _raw_app(scope: Any, receive: Any, send: Any) -> None:
    delivery: WebhookDelivery = scope[ASGI_WEBHOOK_KEY]
    assert (await receive())["body"] == delivery.body
    record(delivery.provider, marker(delivery))
    how = mode(scope.get("query_string", b"").decode("latin-1"))
    if how == "slow":
        await asyncio.sleep(SLOW_SECS)
    elif how == "raise":
        raise RuntimeError("handler failed")
    status = 500 if how == "fail" else 200
    answer = json.dumps(describe(delivery)).encode()
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": answer[:5], "more_body": True})
    await send({"type": "http.response.body", "body": answer[5:]})


for _preset in PRESETS:
    app.mount(f"/raw/{_preset}", asgi_webhook(_preset, secrets=SECRETS[_preset], **options())(_raw_app))
