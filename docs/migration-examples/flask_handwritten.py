"""BEFORE: a typical hand-written Flask verifier with its client. Do not copy it: docs/migration.md
lists its bugs (the numbers in the comments). flask_transition.py reuses legacy_verify as the "old
check" during a transition."""

import hashlib
import hmac
import os
import time

from flask import Flask, abort, jsonify, request

app = Flask(__name__)
SECRET = os.environ["LEGACY_HMAC_SECRET"].encode()
seen = {}  # nonce -> when it was first used


def legacy_verify():
    body = request.get_data()  # (1)
    ts = request.headers.get("X-Timestamp", "")
    nonce = request.headers.get("X-Nonce", "")
    sig = request.headers.get("X-Signature", "")
    if abs(time.time() - int(ts)) > 300:  # (2)
        abort(401)
    msg = f"{request.method}{request.path}{ts}{nonce}".encode() + body  # (3)
    expected = hmac.new(SECRET, msg, hashlib.sha256).hexdigest()
    if sig != expected:  # (4)
        app.logger.warning("bad signature %s, expected %s", sig, expected)  # (4)
        abort(401)
    if nonce in seen:  # (5)
        abort(401)
    seen[nonce] = time.time()
    return request.headers.get("X-User-Id")  # (4)


@app.post("/api/orders")
def create_order():
    user = legacy_verify()
    return jsonify(by=user, order=request.get_json())


def legacy_headers(secret: bytes, method: str, path: str, body: bytes, user: str) -> dict:
    """The matching hand-written client."""
    ts = str(int(time.time()))
    nonce = os.urandom(8).hex()
    sig = hmac.new(secret, f"{method}{path}{ts}{nonce}".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Timestamp": ts, "X-Nonce": nonce, "X-Signature": sig, "X-User-Id": user}
