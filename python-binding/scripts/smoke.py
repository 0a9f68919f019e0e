"""Smoke test for an installed wheel: imports, signs, verifies, rejects a replay."""

from __future__ import annotations

import hmac_guard as hg

secret = b"smoke-test-secret-0123456789abcdef"
guard = hg.Guard(keys=[{"id": "k1", "secret": secret, "subject": "smoke"}])
head = [("Host", "example.com")]
headers = head + hg.Signer("k1", secret).sign("POST", "/x?y=1", head, b"{}")
verified = guard.verify("POST", "/x?y=1", headers, b"{}")
assert verified.subject == "smoke", verified
replayed = None
try:
    guard.verify("POST", "/x?y=1", headers, b"{}")
except hg.ReplayError as e:
    replayed = e.code
if replayed != "ERR_REPLAY":
    raise SystemExit("replay was not rejected")
import hmac_guard.asgi  # noqa: E402  (the adapters import without their frameworks)
import hmac_guard.client  # noqa: E402
import hmac_guard.wsgi  # noqa: E402

print(f"hmac-guard {hg.__version__} smoke test passed: {hg._native.__file__}")
