"""The Flask app of the observability tests (gunicorn, one worker, so the numbers are one
process's): a hook that keeps every event, the ``hmac_guard`` logger writing each record as a JSON
line with its ``hmac_*`` fields to ``HMAC_GUARD_TEST_LOG``, and test-only routes for the stats, the
events and the metrics (prometheus_client's and the core's text)."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hmac_guard import Guard, GuardEvent
from hmac_guard.flask import HmacGuard, verify_current_request
from hmac_guard.prometheus import GuardCollector

from common import KEYS, OBSERVE_LOG_RATE

BODY_LIMIT = 1024
# The extra label the core's text format is asked for.
LABELS = {"service": "orders"}


class JsonLines(logging.Formatter):
    """One JSON object per record: level, message and every ``hmac_*`` field."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k.startswith("hmac_")}
        return json.dumps({"level": record.levelname, "message": record.getMessage(), **fields})


handler = logging.FileHandler(os.environ["HMAC_GUARD_TEST_LOG"])
handler.setFormatter(JsonLines())
logger = logging.getLogger("hmac_guard")
logger.addHandler(handler)
logger.setLevel(logging.DEBUG)
logger.propagate = False

events: list[dict[str, Any]] = []
events_lock = threading.Lock()


def collect(event: GuardEvent) -> None:
    with events_lock:
        events.append({**event, "thread": threading.current_thread().name})


redis: dict[str, Any] = {}
if os.environ.get("HMAC_GUARD_TEST_REDIS_URL"):
    redis = {
        "redis_url": os.environ["HMAC_GUARD_TEST_REDIS_URL"],
        "redis_prefix": os.environ["HMAC_GUARD_TEST_REDIS_PREFIX"],
        "redis_timeout_ms": 500,
    }
guard = Guard(
    keys=KEYS,
    body_limit=BODY_LIMIT,
    log_rate=OBSERVE_LOG_RATE,
    report_accepted=True,
    on_event=collect,
    **redis,
)
app = Flask(__name__)
hmac = HmacGuard(app, guard=guard)
registry = CollectorRegistry()
registry.register(GuardCollector(guard))


@app.get("/health")
def health() -> dict[str, object]:
    return {"ok": True, "pid": os.getpid()}


@app.post("/echo")
@hmac.required
def echo() -> dict[str, object]:
    return {"len": len(request.get_data())}


@app.post("/read-first")
def read_first() -> dict[str, object]:
    """Reads the body before verifying it: a 500 ERR_INVALID_STATE the adapter reports."""
    request.get_data()
    verify_current_request()
    return {"verified": True}


@app.get("/_test/stats")
def stats() -> dict[str, Any]:
    return guard.stats()


@app.get("/_test/events")
def all_events() -> Response:
    with events_lock:
        return Response(json.dumps(events), mimetype="application/json")


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@app.get("/_test/metrics-text")
def metrics_text() -> Response:
    return Response(guard.metrics(LABELS), mimetype="text/plain; version=0.0.4")
