"""A plain WSGI test app behind HmacGuardMiddleware (served by gunicorn in test_intake.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from hmac_guard import Guard
from hmac_guard.wsgi import ENVIRON_KEY, HmacGuardMiddleware

from common import BODY_LIMIT, EXPOSE_REASONS, KEYS, describe


def plain(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/health":
        doc: dict[str, Any] = {"ok": True, "pid": os.getpid()}
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        doc = describe(environ[ENVIRON_KEY], environ["wsgi.input"].read(length))
    body = json.dumps(doc).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


guard = Guard(keys=KEYS, body_limit=BODY_LIMIT, expose_reasons=EXPOSE_REASONS)
app = HmacGuardMiddleware(plain, guard, path_prefixes=["/echo"])
