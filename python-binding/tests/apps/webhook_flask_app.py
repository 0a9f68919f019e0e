"""The Flask webhook test app (served by gunicorn): one receiver per preset at /hooks/<preset>."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, request
from webhook_common import PRESETS, SECRETS, SLOW_SECS, describe, marker, mode, options, record

from hmac_guard import WebhookDelivery
from hmac_guard.flask import webhook

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, object]:
    return {"ok": True, "pid": os.getpid()}


def _handler(delivery: WebhookDelivery) -> Any:
    record(delivery.provider, marker(delivery))
    how = mode(request.query_string.decode("latin-1"))
    if how == "slow":
        time.sleep(SLOW_SECS)
    elif how == "fail":
        return {"failed": True}, 500
    elif how == "raise":
        raise RuntimeError("handler failed")
    elif how == "empty":
        return "", 204
    return describe(delivery)


for _preset in PRESETS:
    _view = webhook(_preset, secrets=SECRETS[_preset], **options())(_handler)
    app.add_url_rule(f"/hooks/{_preset}", f"hook_{_preset}", _view, methods=["POST"])
