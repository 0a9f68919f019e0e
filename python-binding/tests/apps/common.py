"""Settings shared by the test servers and the tests that call them."""

from __future__ import annotations

import hashlib
import os
from typing import Any

SECRET = b"0123456789abcdef0123456789abcdef"  # test-only key material
BODY_LIMIT = 64 * 1024
# The observing apps' log rate (apps/observe_app.py): lines per second per level.
OBSERVE_LOG_RATE = 3
KEYS = [{"id": "k1", "secret": SECRET, "subject": "user:alice"}]
# The Redis store's timeout in apps/redis_hang_app.py (the hang test's bound is this + 150 ms).
REDIS_HANG_TIMEOUT_MS = 250
# Whether the test servers are started with `expose_reasons` (their error bodies carry reasons).
EXPOSE_REASONS = os.environ.get("HMAC_GUARD_TEST_EXPOSE_REASONS") == "1"


def describe(verified: Any, body: bytes) -> dict[str, Any]:
    """What the echo views answer: what was verified and the body they received."""
    return {
        "key_id": verified.key_id,
        "subject": verified.subject,
        "created": verified.created,
        "nonce": verified.nonce,
        "covered": [list(c) for c in verified.covered],
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_len": len(body),
    }
