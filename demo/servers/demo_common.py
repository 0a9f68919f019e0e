"""Shared by the Python demo servers (flask_app.py, fastapi_app.py) and demo/run.py: the demo keys,
the replay-store choice, the key-control endpoint, the webhook answer, the command line. DEMO ONLY."""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from hmac_guard import Guard, Verified, WebhookDelivery

ROOT = Path(__file__).resolve().parents[2]
KEYS_FILE = ROOT / "demo" / "keys.json"
KEYS: dict[str, Any] = json.loads(KEYS_FILE.read_text(encoding="utf-8"))
#: The webhook presets: every server receives ``POST /hooks/<preset>`` with the preset's secret.
PRESETS: list[str] = list(KEYS["webhook_secrets"])


def _key(spec: dict[str, Any]) -> dict[str, Any]:
    return {"id": spec["id"], "secret": spec["secret"], "subject": spec.get("subject")}


def start_keys() -> list[dict[str, Any]]:
    """The client keys every server starts with."""
    return [_key(k) for k in KEYS["clients"] if k["loaded_at_start"]]


def admin_key() -> dict[str, Any]:
    """The key of the key-control endpoint (its own Guard: client keys cannot call it)."""
    return _key(KEYS["admin"])


def new_guard(keys: list[dict[str, Any]]) -> Guard:
    """A guard with the default store: this process's memory, or Redis when
    ``HMAC_GUARD_REDIS_URL`` is set (the ``Guard`` reads the variable itself)."""
    return Guard(keys=keys)


def health(server: str, guard: Guard) -> dict[str, Any]:
    return {
        "ok": True,
        "server": server,
        "pid": os.getpid(),
        "store": guard.store,
        "keys": guard.key_ids(),
        "instance": os.environ.get("HMAC_GUARD_DEMO_INSTANCE"),
    }


def accepted(server: str, endpoint: str, verified: Verified, body: Any) -> dict[str, Any]:
    """What a protected endpoint answers: the verified identity and the verified, parsed body."""
    return {
        "server": server,
        "endpoint": endpoint,
        "key_id": verified.key_id,
        "subject": verified.subject,
        "body": body,
    }


def webhook_secrets(preset: str) -> list[str]:
    """The demo secret of a webhook preset, as the provider's dashboard would show it."""
    return [KEYS["webhook_secrets"][preset]]


_handled: Counter[str] = Counter()  # preset -> handler runs in this process
_handled_lock = threading.Lock()


def delivered(server: str, delivery: WebhookDelivery) -> dict[str, Any]:
    """What a webhook handler answers (200): the verified delivery and how often this handler ran."""
    with _handled_lock:
        _handled[delivery.provider] += 1
        handled = _handled[delivery.provider]
    return {
        "server": server,
        "provider": delivery.provider,
        "id": delivery.id,
        "type": delivery.type,
        "secret_id": delivery.secret_id,
        "handled": handled,
    }


def control_keys(
    guard: Guard, verified: Verified | None, method: str, key_id: str
) -> tuple[int, dict[str, Any]]:
    """The key-control endpoint (DEMO ONLY): ``PUT /admin/keys/<id>`` loads the client key ``id``
    from demo/keys.json into the running guard, ``DELETE`` removes it. Only requests verified by
    the admin guard reach it; secrets never travel over the wire. Returns ``(status, body)``."""
    if verified is None or verified.key_id != KEYS["admin"]["id"]:
        return 403, {"error": {"code": "DEMO_FORBIDDEN", "message": "admin key required"}}
    spec = next((k for k in KEYS["clients"] if k["id"] == key_id), None)
    if spec is None:
        return 404, {"error": {"code": "DEMO_NO_SUCH_KEY", "message": "not a demo client key"}}
    if method == "PUT":
        guard.add_key(spec["id"], spec["secret"], subject=spec.get("subject"))
    elif method == "DELETE":
        if not guard.remove_key(key_id):
            return 404, {"error": {"code": "DEMO_NO_SUCH_KEY", "message": "key not loaded"}}
    else:
        return 405, {"error": {"code": "DEMO_METHOD", "message": "PUT or DELETE"}}
    print(f"demo key control: {method} {key_id} -> keys now {', '.join(guard.key_ids())}", flush=True)
    return 200, {"keys": guard.key_ids()}


def port_arg(description: str, default: int) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=default, help=f"port on 127.0.0.1 (default {default})")
    return int(parser.parse_args().port)
