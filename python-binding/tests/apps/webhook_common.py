"""Settings shared by the webhook test servers and the tests that call them: each preset's two
secrets (the second one is the rotated-in secret, ``secret-1``), the byte cap, and the handler's
behaviour, chosen per request by the query string (not signed by any provider):

- ``?mode=ok`` (default): 200 with what the handler got;
- ``?mode=slow``: sleeps ``SLOW_SECS`` first (a copy sent meanwhile is in flight);
- ``?mode=fail``: answers 500; ``?mode=raise``: raises; ``?mode=empty``: 204 No Content.

Every handler run appends ``<provider> <marker>`` to the file named by
``HMAC_GUARD_TEST_WEBHOOK_CALLS`` (one line, ``O_APPEND``: safe across workers), so the tests
count runs.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any
from urllib.parse import parse_qs

PRESETS = ["standard-webhooks", "svix", "stripe", "github", "slack", "shopify"]


def _whsec(seed: str, n: int) -> str:
    return "whsec_" + base64.b64encode(hashlib.sha256(seed.encode()).digest()[:n]).decode()


SECRETS: dict[str, list[str]] = {
    "standard-webhooks": [_whsec("sw-old", 24), _whsec("sw-new", 32)],
    "svix": [_whsec("svix-old", 24), _whsec("svix-new", 32)],
    "stripe": ["whsec_" + "stripetestsecretold0123456789", "whsec_" + "stripetestsecretnew0123456789"],
    "github": ["github-test-secret-old", "github-test-secret-new"],
    "slack": ["slack-test-signing-secret-old-0123456789", "slack-test-signing-secret-new-0123456789"],
    "shopify": ["shopify-test-client-secret-old-0123456789", "shopify-test-client-secret-new-0123456789"],
}
BODY_LIMIT = 64 * 1024
SLOW_SECS = 1.0


def record(provider: str, marker: str) -> None:
    path = os.environ.get("HMAC_GUARD_TEST_WEBHOOK_CALLS")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{provider} {marker}\n".encode())
        finally:
            os.close(fd)


def mode(query: str) -> str:
    return parse_qs(query).get("mode", ["ok"])[0]


def marker(delivery: Any) -> str:
    """What identifies a test delivery in the calls file: the body's ``marker`` field when the
    body is JSON, else the body's SHA-256."""
    if isinstance(delivery.payload, dict) and "marker" in delivery.payload:
        return str(delivery.payload["marker"])
    return hashlib.sha256(delivery.body).hexdigest()


def describe(delivery: Any) -> dict[str, Any]:
    return {
        "provider": delivery.provider,
        "id": delivery.id,
        "type": delivery.type,
        "payload": delivery.payload,
        "body_sha256": hashlib.sha256(delivery.body).hexdigest(),
        "secret_id": delivery.secret_id,
        "dedupe": delivery.dedupe,
    }


def options() -> dict[str, Any]:
    """Options every test receiver shares (a Redis store when the test asks for one)."""
    out: dict[str, Any] = {"body_limit": BODY_LIMIT}
    if os.environ.get("HMAC_GUARD_TEST_REDIS_URL"):
        out["redis_url"] = os.environ["HMAC_GUARD_TEST_REDIS_URL"]
        out["redis_prefix"] = os.environ["HMAC_GUARD_TEST_REDIS_PREFIX"]
    return out
