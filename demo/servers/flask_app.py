"""Flask demo server protected by hmac-guard, served by gunicorn with one worker so that the
in-memory replay store is shared by every request (``HMAC_GUARD_REDIS_URL`` switches it to Redis).
DEMO ONLY: its keys are the public ones in demo/keys.json.

    .venv/bin/python demo/servers/flask_app.py [--port 5000]    # execs gunicorn -w 1

    POST /orders, POST /refunds   signed with a client key -> 201 {key_id, subject, body}
    PUT|DELETE /admin/keys/<id>   signed with the admin key: load/remove a client key (rotation)
    POST /hooks/<preset>          a webhook delivery of standard-webhooks, svix, stripe, github, slack
                                  or shopify -> 200 {provider, id, type, secret_id, handled}
    GET /health                   unsigned
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request

from hmac_guard import WebhookDelivery
from hmac_guard.flask import HmacGuard, webhook
from hmac_guard.wsgi import ENVIRON_KEY, HmacGuardMiddleware

import demo_common

guard = demo_common.new_guard(demo_common.start_keys())
admin_guard = demo_common.new_guard([demo_common.admin_key()])

app = Flask(__name__)
hmac = HmacGuard(app, guard=guard)


@app.get("/health")
def health() -> dict[str, Any]:
    return demo_common.health("flask", guard)


@app.post("/orders")
@hmac.required
def orders() -> tuple[dict[str, Any], int]:
    # g.hmac: the verified result (identity = the key's subject); the body streamed through the
    # verifier under its cap, and get_json() reads the same, verified bytes.
    return demo_common.accepted("flask", "/orders", g.hmac, request.get_json()), 201


@app.post("/refunds")
@hmac.required
def refunds() -> tuple[dict[str, Any], int]:
    return demo_common.accepted("flask", "/refunds", g.hmac, request.get_json()), 201


@app.route("/admin/keys/<key_id>", methods=["PUT", "DELETE"])
def admin_keys(key_id: str) -> tuple[Response, int]:
    # Key rotation at runtime, DEMO ONLY: verified by the WSGI middleware below, with the admin
    # guard (client keys are unknown there).
    status, body = demo_common.control_keys(guard, request.environ.get(ENVIRON_KEY), request.method, key_id)
    return jsonify(body), status


def hook(delivery: WebhookDelivery) -> dict[str, Any]:
    # Verified over the raw bytes; a copy of a handled delivery is answered 200
    # ERR_DUPLICATE_DELIVERY by the receiver without calling this again.
    return demo_common.delivered("flask", delivery)


for preset in demo_common.PRESETS:  # one webhook receiver per provider preset
    receiver = webhook(preset, secrets=demo_common.webhook_secrets(preset))(hook)
    app.add_url_rule(f"/hooks/{preset}", f"hook_{preset}", receiver, methods=["POST"])

app.wsgi_app = HmacGuardMiddleware(app.wsgi_app, admin_guard, path_prefixes=["/admin/"])  # type: ignore[method-assign]


def main() -> None:
    port = demo_common.port_arg("Flask demo server (gunicorn, 1 worker) protected by hmac-guard", 5000)
    here = str(Path(__file__).resolve().parent)
    argv = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    # No control socket: gunicorn 27 would open one at ~/.gunicorn/gunicorn.ctl, shared by every
    # gunicorn of this user.
    argv += ["--chdir", here, "--graceful-timeout", "5", "--no-control-socket", "--access-logfile", "-"]
    argv.append("flask_app:app")
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn


if __name__ == "__main__":
    main()
