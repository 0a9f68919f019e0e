"""FastAPI demo server protected by hmac-guard, served by uvicorn (one process, so the in-memory
replay store is shared by every request; ``HMAC_GUARD_REDIS_URL`` switches it to Redis).
DEMO ONLY: its keys are the public ones in demo/keys.json.

    .venv/bin/python demo/servers/fastapi_app.py [--port 8000]

    POST /orders, POST /refunds   signed with a client key -> 201 {key_id, subject, body}
    PUT|DELETE /admin/keys/{id}   signed with the admin key: load/remove a client key (rotation)
    POST /hooks/<preset>          a webhook delivery of standard-webhooks, svix, stripe, github, slack
                                  or shopify -> 200 {provider, id, type, secret_id, handled}
    GET /health                   unsigned
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from hmac_guard import Verified, WebhookDelivery
from hmac_guard.asgi import HmacGuardMiddleware
from hmac_guard.fastapi import HmacVerifier, install_error_handler, webhook

import demo_common

guard = demo_common.new_guard(demo_common.start_keys())
admin_guard = demo_common.new_guard([demo_common.admin_key()])

app = FastAPI(title="hmac-guard demo")
# The middleware streams the body through the verifier under its cap before FastAPI reads it,
# then replays the verified bytes to the endpoint. The key-control paths have their own guard.
app.add_middleware(HmacGuardMiddleware, guard=guard, path_prefixes=["/orders", "/refunds"])
app.add_middleware(HmacGuardMiddleware, guard=admin_guard, path_prefixes=["/admin/"])
install_error_handler(app)
verified = HmacVerifier(guard)
admin_verified = HmacVerifier(admin_guard)


@app.get("/health")
async def health() -> dict[str, Any]:
    return demo_common.health("fastapi", guard)


@app.post("/orders", status_code=201)
async def orders(body: dict[str, Any], hmac: Verified = Depends(verified)) -> dict[str, Any]:
    return demo_common.accepted("fastapi", "/orders", hmac, body)


@app.post("/refunds", status_code=201)
async def refunds(body: dict[str, Any], hmac: Verified = Depends(verified)) -> dict[str, Any]:
    return demo_common.accepted("fastapi", "/refunds", hmac, body)


@app.api_route("/admin/keys/{key_id}", methods=["PUT", "DELETE"])
async def admin_keys(key_id: str, request: Request, hmac: Verified = Depends(admin_verified)) -> JSONResponse:
    # Key rotation at runtime, DEMO ONLY.
    status, body = demo_common.control_keys(guard, hmac, request.method, key_id)
    return JSONResponse(body, status_code=status)


async def hook(delivery: WebhookDelivery) -> dict[str, Any]:
    # Verified over the raw bytes; a copy of a handled delivery is answered 200
    # ERR_DUPLICATE_DELIVERY by the receiver without calling this again.
    return demo_common.delivered("fastapi", delivery)


for preset in demo_common.PRESETS:  # one webhook receiver per provider preset
    receiver = webhook(preset, secrets=demo_common.webhook_secrets(preset))(hook)
    app.post(f"/hooks/{preset}", name=f"hook_{preset}")(receiver)


def main() -> None:
    port = demo_common.port_arg("FastAPI demo server (uvicorn) protected by hmac-guard", 8000)
    print(f"fastapi demo server on http://127.0.0.1:{port} (replay store: {guard.store})", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=True)


if __name__ == "__main__":
    main()
