"""A user's app against the installed wheel (hmac-guard[flask,fastapi,prometheus]): checked with mypy
--strict, then run: a real Flask server on 127.0.0.1 answers a signed POST 200 with the key's
subject and a tampered one 401, which its hook, stats and Prometheus collector see; the FastAPI app
of the README is built (not served)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from fastapi import Depends, FastAPI
from flask import Flask, g, request
from prometheus_client import CollectorRegistry, generate_latest
from werkzeug.serving import make_server

import hmac_guard
from hmac_guard import Guard, GuardEvent, HmacGuardError, ManualClock, Signer, Verified
from hmac_guard.asgi import HmacGuardMiddleware
from hmac_guard.fastapi import HmacVerifier, install_error_handler
from hmac_guard.flask import HmacGuard
from hmac_guard.prometheus import GuardCollector

SECRET = "dist-check-secret-0123456789abcdef"  # noqa: S105 (a test key)
KEYS = [{"id": "client-1", "secret": SECRET, "subject": "svc:billing"}]

events: list[GuardEvent] = []
flask_app = Flask(__name__)
flask_app.config["HMAC_GUARD_KEYS"] = KEYS
flask_app.config["HMAC_GUARD_BODY_LIMIT"] = 1024 * 1024
flask_app.config["HMAC_GUARD_ON_EVENT"] = events.append
hmac = HmacGuard(flask_app)


@flask_app.post("/orders")
@hmac.required
def create_order() -> dict[str, Any]:
    verified: Verified = g.hmac
    return {"by": verified.subject, "order": request.get_json()}


guard = Guard(keys=KEYS, clock=ManualClock(1_700_000_000))
fastapi_app = FastAPI()
fastapi_app.add_middleware(HmacGuardMiddleware, guard=guard, path_prefixes=["/orders"])
install_error_handler(fastapi_app)
verifier = HmacVerifier(guard)


@fastapi_app.post("/orders")
async def fastapi_order(order: dict[str, Any], verified: Verified = Depends(verifier)) -> dict[str, Any]:
    return {"by": verified.subject, "order": order}


def post(port: int, body: bytes, sent: bytes | None = None) -> tuple[int, dict[str, Any]]:
    head = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/json")]
    signed = head + Signer("client-1", SECRET).sign("POST", "/orders", head, body)
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/orders",
        data=body if sent is None else sent,
        headers=dict(signed),
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 (127.0.0.1 only)
            status: int = r.status
            answer: dict[str, Any] = json.loads(r.read())
    except urllib.error.HTTPError as e:
        status, answer = e.code, json.loads(e.read())
    return status, answer


def main() -> None:
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, answer = post(server.server_port, b'{"sku": "A-1", "qty": 2}')
        assert status == 200, (status, answer)
        assert answer["by"] == "svc:billing", answer
        status, answer = post(server.server_port, b'{"qty": 1}', sent=b'{"qty": 9}')
        assert status == 401, (status, answer)
        assert answer["error"]["code"].startswith("ERR_"), answer
        with flask_app.app_context():
            flask_guard: Guard = hmac.guard
    finally:
        server.shutdown()
    stats: dict[str, Any] = flask_guard.stats()
    assert (stats["accepted"], stats["rejected"]) == (1, 1), stats
    assert [e["code"] for e in events] == ["ERR_DIGEST_MISMATCH"], events
    registry = CollectorRegistry()
    registry.register(GuardCollector({"orders": flask_guard}))
    scraped = generate_latest(registry).decode()
    assert 'hmac_guard_verifications_total{guard="orders",outcome="accepted"} 1.0' in scraped, scraped
    assert "hmac_guard_keys 1" in flask_guard.metrics()
    assert issubclass(hmac_guard.ReplayError, HmacGuardError)
    version = hmac_guard.__version__
    print(f"app ok: hmac-guard {version}: Flask 200, 401 tampered, hook, stats, metrics; FastAPI app built")


if __name__ == "__main__":
    main()
