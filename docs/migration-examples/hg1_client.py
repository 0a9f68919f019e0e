"""HG1 signed by hand with the standard library, for clients that cannot install hmac-guard
(docs/migration.md, "Clients"). check_python.py checks it against SPEC.md's worked example."""

import hashlib
import hmac
import secrets
import time


def hg1_headers(key_id: str, secret: bytes, method: str, target: str, body: bytes) -> dict:
    ts = str(int(time.time()))  # seconds, not milliseconds
    nonce = secrets.token_urlsafe(16)  # fresh for every request, 8-128 characters
    digest = hashlib.sha256(body).hexdigest()  # lowercase hex of the exact bytes sent
    canonical = "\n".join(["HG1", method, target, ts, nonce, key_id, digest])  # no trailing newline
    sig = hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-HMAC-Key-Id": key_id, "X-HMAC-Timestamp": ts, "X-HMAC-Nonce": nonce,
            "X-HMAC-Content-SHA256": digest, "X-HMAC-Signature": sig}
