"""Webhook verification in Python: hmac-guard's presets against each provider's own library (or the
hand-written check its documentation shows), measured in the same run, interleaved call by call.

    pip install stripe svix standardwebhooks slack_sdk     # the peers (not test dependencies)
    .venv/bin/python python-binding/scripts/bench_webhooks.py [calls] [body bytes]

Each contender verifies its own pre-signed deliveries of a JSON body (default 1 KiB), one call
per delivery. hmac-guard's call does more than the peers': it also reads the delivery's id and
type and claims it in the replay store (two-phase; the peers deduplicate nothing). Reported: the
median µs per call and hmac-guard's time as a ratio of the peer's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import statistics
import sys
import time
from base64 import b64encode
from typing import Any, Callable

from hmac_guard import Guard, sign_webhook

try:
    import standardwebhooks
    import stripe
    import svix.webhooks
    from slack_sdk.signature import SignatureVerifier
except ImportError as e:  # a benchmark without its peers must not pass silently
    sys.exit(f"missing peer library ({e.name}): pip install stripe svix standardwebhooks slack_sdk")

CALLS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
SECRETS = {
    "standard-webhooks": "whsec_" + b64encode(bytes(range(32))).decode(),
    "svix": "whsec_" + b64encode(bytes(range(1, 33))).decode(),
    "stripe": "whsec_0123456789abcdefghijklmnopqrstuvwxyz",
    "github": "a-github-webhook-secret-0123456789",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5aa",
    "shopify": "shopify-app-secret-0123456789abcdef",
}


def body(i: int) -> bytes:
    doc = {"id": f"evt_{i:012d}", "event_id": f"Ev{i:010d}", "type": "invoice.paid", "data": ""}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    doc["data"] = "x" * max(0, SIZE - len(raw))
    return json.dumps(doc, separators=(",", ":")).encode()


def deliveries(preset: str, now: int) -> list[tuple[dict[str, str], bytes]]:
    out = []
    for i in range(CALLS):
        b = body(i)
        signed = sign_webhook(preset, secret=SECRETS[preset], body=b, timestamp=now, id=f"msg_{i}")
        out.append((dict(signed.headers), b))
    return out


def ours(preset: str) -> Callable[[dict[str, str], bytes], Any]:
    guard = Guard(scheme=preset, secrets=[SECRETS[preset]], logger=False)
    return lambda h, b: guard.verify("POST", "https://example.com/hooks", h, b)


def peer(preset: str) -> Callable[[dict[str, str], bytes], Any]:
    secret = SECRETS[preset]
    if preset in ("standard-webhooks", "svix"):
        wh: Any = (standardwebhooks.Webhook if preset == "standard-webhooks" else svix.webhooks.Webhook)(
            secret
        )
        return lambda h, b: wh.verify(b, h)
    if preset == "stripe":
        return lambda h, b: stripe.WebhookSignature.verify_header(
            b.decode(), h["stripe-signature"], secret, 300
        )
    if preset == "slack":
        v = SignatureVerifier(secret)
        return lambda h, b: v.is_valid_request(b, h) or sys.exit("slack peer refused a valid request")
    key = secret.encode()
    if preset == "github":  # GitHub's documented check

        def github(h: dict[str, str], b: bytes) -> None:
            expected = "sha256=" + hmac.new(key, b, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, h["x-hub-signature-256"]):
                sys.exit("github check refused a valid request")

        return github

    def shopify(h: dict[str, str], b: bytes) -> None:  # Shopify's documented check
        expected = b64encode(hmac.new(key, b, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, h["x-shopify-hmac-sha256"]):
            sys.exit("shopify check refused a valid request")

    return shopify


def main() -> None:
    now = int(time.time())
    print(f"{CALLS} deliveries of {SIZE} bytes per contender; median µs per verification")
    print(f"  {'preset':<18} {'hmac-guard':>11} {'peer':>9}  ratio  peer")
    peers = {
        "standard-webhooks": "standardwebhooks",
        "svix": "svix",
        "stripe": "stripe",
        "github": "hmac.compare_digest (GitHub docs)",
        "slack": "slack_sdk",
        "shopify": "hmac.compare_digest (Shopify docs)",
    }
    for preset, peer_name in peers.items():
        ours_data, peer_data = deliveries(preset, now), deliveries(preset, now)
        contenders = [(ours(preset), ours_data, []), (peer(preset), peer_data, [])]
        for i in range(CALLS):
            for fn, data, times in random.sample(contenders, 2):
                h, b = data[i]
                t = time.perf_counter()
                fn(h, b)
                times.append((time.perf_counter() - t) * 1e6)
        mine, theirs = (statistics.median(c[2]) for c in contenders)
        print(f"  {preset:<18} {mine:>9.2f}   {theirs:>7.2f}  {mine / theirs:>5.2f}  {peer_name}")


if __name__ == "__main__":
    main()
