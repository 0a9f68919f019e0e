"""Runs every Python snippet of docs/migration.md against real Flask servers on 127.0.0.1.

Usage: bash docs/migration-examples/run.sh
   or: cd docs/migration-examples && ../../.venv/bin/python check_python.py
"""

import logging
import os
import secrets
import threading
from contextlib import contextmanager
from unittest import mock

os.environ["HMAC_SECRET"] = secrets.token_hex(32)
os.environ["LEGACY_HMAC_SECRET"] = "legacy-secret-legacy-secret-legacy"

import requests  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import hmac_guard  # noqa: E402
from hmac_guard.client import RequestsAuth  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)
logging.getLogger("hmac_guard").setLevel(logging.ERROR)


@contextmanager
def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def ok(name):
    print(f"  ok  {name}")


def code(r):
    return r.status_code, r.json()["error"]["code"]


def hand_written():
    print("hand-written Flask verifier (the bugs the guide names):")
    import flask_handwritten as fh

    secret = os.environ["LEGACY_HMAC_SECRET"].encode()
    body = b'{"sku": "A-1"}'
    fh.app.logger.disabled = True
    with serve(fh.app) as base:
        url = f"{base}/api/orders"
        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "42")
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        ok("a correctly signed request passes")

        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "admin")
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json"})
        assert r.json()["by"] == "admin"
        ok("identity comes from the client header X-User-Id")

        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "42")
        r = requests.post(url + "?dry_run=0", data=body, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 200
        ok("the query string is not signed (request.path)")

        r = requests.post(url, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 500
        ok("no X-Timestamp: int('') raises, 500 instead of 401")

    # Fields joined without separators: move the body's first byte into the nonce -> same MAC,
    # a "new" nonce, and the replay check passes.
    h = fh.legacy_headers(secret, "POST", "/api/orders", body, "42")
    with fh.app.test_request_context("/api/orders", method="POST", data=body, headers=h):
        assert fh.legacy_verify() == "42"
    shifted = {**h, "X-Nonce": h["X-Nonce"] + body[:1].decode()}
    with fh.app.test_request_context("/api/orders", method="POST", data=body[1:], headers=shifted):
        assert fh.legacy_verify() == "42"
    ok("a replay with one body byte moved into the nonce passes the verifier")

    records = []
    handler = logging.Handler()
    handler.emit = lambda rec: records.append(rec.getMessage())
    from flask.logging import default_handler

    fh.app.logger.disabled = False
    fh.app.logger.removeHandler(default_handler)
    fh.app.logger.addHandler(handler)
    h = fh.legacy_headers(secret, "POST", "/api/orders", b"{}", "42")
    with fh.app.test_request_context("/api/orders", method="POST", data=b"{}", headers={**h, "X-Signature": "x"}):
        try:
            fh.legacy_verify()
        except Exception:
            pass
    fh.app.logger.removeHandler(handler)
    assert any(h2 in m for m in records for h2 in [h["X-Signature"]])
    ok("the log holds the expected MAC")


def guarded():
    print("hmac-guard (flask_hmac_guard.py + python_client.py):")
    import flask_hmac_guard as fg
    import hg1_client as hg1
    import python_client as pc

    with serve(fg.app) as base:
        url = f"{base}/api/orders"
        r = pc.create_order(base, {"sku": "A-1", "qty": 2})
        assert (r.status_code, r.json()) == (200, {"by": "user:42", "order": {"sku": "A-1", "qty": 2}}), r.text
        ok("requests + RequestsAuth: 200, g.hmac.subject, request.get_json()")

        r = pc.client.post(url, json={"sku": "B"})
        assert r.status_code == 200 and r.json()["by"] == "user:42"
        ok("httpx + HttpxAuth: 200")

        body = b'{"sku": "C"}'
        h = hg1.hg1_headers("client-1", os.environ["HMAC_SECRET"].encode(), "POST", "/api/orders", body)
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json", "X-User-Id": "admin"})
        assert (r.status_code, r.json()["by"]) == (200, "user:42")
        ok("hand-made HG1 headers (stdlib): 200; X-User-Id ignored")
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json"})
        assert code(r) == (401, "ERR_REPLAY")
        ok("replay: 401 ERR_REPLAY")

        h = hg1.hg1_headers("client-1", os.environ["HMAC_SECRET"].encode(), "POST", "/api/orders", body)
        r = requests.post(url + "?qty=9", data=body, headers=h)
        assert code(r) == (401, "ERR_SIGNATURE_MISMATCH")
        r = requests.post(url, data=b'{"sku": "D"}', headers=h)
        assert code(r) == (401, "ERR_DIGEST_MISMATCH")
        ok("tampered query / body: ERR_SIGNATURE_MISMATCH / ERR_DIGEST_MISMATCH")

        r = requests.post(url, json={})
        assert (r.status_code, r.json()) == (
            401,
            {"error": {"code": "ERR_MISSING_SIGNATURE", "message": "request is not signed"}},
        )
        ok('unsigned: 401 {"error": {"code", "message"}}')

        r = requests.post(url, data=b"a" * (2 << 20), auth=pc.auth)
        assert code(r) == (413, "ERR_BODY_TOO_LARGE")
        ok("2 MiB body: 413 ERR_BODY_TOO_LARGE")

        new_secret = secrets.token_bytes(32)
        with fg.app.app_context():
            fg.hg.guard.add_key("client-1-2026", new_secret, subject="user:42")
        r = requests.post(url, json={}, auth=RequestsAuth("client-1-2026", new_secret, scheme="simple"))
        assert r.status_code == 200
        with fg.app.app_context():
            assert fg.hg.guard.remove_key("client-1")
        r = pc.create_order(base, {})
        assert code(r) == (401, "ERR_UNKNOWN_KEY")
        ok("rotation: hg.guard.add_key / remove_key")

    # The SPEC.md worked example, through the stdlib HG1 signer.
    with (
        mock.patch("time.time", return_value=1700000000.5),
        mock.patch("secrets.token_urlsafe", return_value="n0nce-8f3a2c1d"),
    ):
        h = hg1.hg1_headers(
            "demo-key", b"hmac-guard-spec-example-secret-0123456789", "POST", "/orders?id=7", b'{"amount": 10}'
        )
    assert h["X-HMAC-Signature"] == "6a436e80a6ece88955a49db374c8c821a85e5ce96ec8683cbf0edd34358b4c96"
    ok("hg1_headers reproduces the SPEC.md worked example")

    # Reading the body before the decorator: the verifier sees an empty stream.
    from flask import Flask, g, request

    from hmac_guard import HmacGuardError
    from hmac_guard.client import HttpxAuth
    from hmac_guard.flask import HmacGuard

    early = Flask("early")
    early.config["HMAC_GUARD_SCHEME"] = "simple"
    early.config["HMAC_GUARD_KEYS"] = [{"id": "client-1", "secret": new_secret}]
    ext = HmacGuard(early)

    @early.before_request
    def read_body_first():
        request.get_data()

    @early.post("/x")
    @ext.required
    def x():
        return {"by": g.hmac.key_id}

    with serve(early) as base:
        r = requests.post(f"{base}/x", json={"a": 1}, auth=RequestsAuth("client-1", new_secret, scheme="simple"))
        assert code(r) == (500, "ERR_INVALID_STATE")
    ok("body read before @hg.required (a before_request hook): 500 ERR_INVALID_STATE, the server's mistake named in its log")

    # RFC 9421 instead of HG1: leave out HMAC_GUARD_SCHEME and scheme="simple".
    rfc = Flask("rfc")
    rfc.config["HMAC_GUARD_KEYS"] = [{"id": "client-1", "secret": new_secret, "subject": "user:42"}]
    rfc_ext = HmacGuard(rfc)

    @rfc.post("/api/orders")
    @rfc_ext.required
    def rfc_view():
        return {"by": g.hmac.subject, "scheme": g.hmac.scheme, "order": request.get_json()}

    with serve(rfc) as base:
        r = requests.post(f"{base}/api/orders?x=1", json={"a": 1}, auth=RequestsAuth("client-1", new_secret))
        assert r.json() == {"by": "user:42", "scheme": "rfc9421", "order": {"a": 1}}, r.text
        import httpx

        r = httpx.post(f"{base}/api/orders", json={"a": 2}, auth=HttpxAuth("client-1", new_secret))
        assert r.status_code == 200, r.text
        r = requests.post(
            f"{base}/api/orders", json={"a": 1}, auth=RequestsAuth("client-1", new_secret, scheme="simple")
        )
        assert code(r) == (401, "ERR_MISSING_SIGNATURE")
    ok("RFC 9421 (the default) with RequestsAuth / HttpxAuth; an HG1 request to it is unsigned")

    own = Flask("own")
    own.config["HMAC_GUARD_KEYS"] = rfc.config["HMAC_GUARD_KEYS"]
    own_ext = HmacGuard(own)

    @own.errorhandler(HmacGuardError)
    def own_format(exc):
        return {"failure": exc.code}, exc.status

    @own.post("/api/orders")
    @own_ext.required
    def own_view():
        return {}

    r = own.test_client().post("/api/orders", json={})
    assert (r.status_code, r.json) == (401, {"failure": "ERR_MISSING_SIGNATURE"})
    ok("@app.errorhandler(HmacGuardError) after HmacGuard(app) replaces the JSON answer")

    g2 = hmac_guard.Guard(keys=[{"id": "old", "secret": new_secret, "subject": "user:42", "not_after": 1830297600}])
    assert g2.key_ids() == ["old"]
    ok("keys accept not_after")
    g3 = hmac_guard.Guard(keys=[{"id": "k", "secret": new_secret}], redis_url="redis://127.0.0.1:6379/0")
    assert g3.store == "redis"
    ok("Guard(redis_url=...) -> store == 'redis'")
    from flask import Flask as F2
    from hmac_guard.flask import guard_from_config

    a = F2("r")
    a.config.update(
        HMAC_GUARD_KEYS=[{"id": "k", "secret": new_secret}], HMAC_GUARD_REDIS_URL="redis://127.0.0.1:6379/0"
    )
    assert guard_from_config(a.config).store == "redis"
    ok("HMAC_GUARD_REDIS_URL in app.config -> Redis store")


def transition():
    print("transition (flask_transition.py):")
    import flask_handwritten as fh
    import flask_transition as ft
    import hg1_client as hg1
    import python_client as pc

    logging.getLogger("flask_transition").setLevel(logging.ERROR)
    secret = os.environ["LEGACY_HMAC_SECRET"].encode()
    with serve(ft.app) as base:
        url = f"{base}/api/orders"
        r = pc.create_order(base, {"sku": "A-1"})
        assert r.json() == {"by": "user:42", "order": {"sku": "A-1"}}, r.text
        ok("hmac-guard client: verified by hmac-guard")
        body = b'{"sku": "B-2"}'
        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "7")
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json"})
        assert (r.status_code, r.json()) == (200, {"by": "7", "order": {"sku": "B-2"}}), r.text
        ok("legacy client before the deadline: old check")
        bad = hg1.hg1_headers("client-1", os.environ["HMAC_SECRET"].encode(), "POST", "/api/orders", b"{}")
        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "7")
        r = requests.post(url, data=body, headers={**h, **bad, "Content-Type": "application/json"})
        assert code(r) == (401, "ERR_DIGEST_MISMATCH")
        ok("failed hmac-guard check + valid legacy headers: refused, no fallback")
        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "7")
        r = requests.post(
            url, data=body, headers={**h, "X-HMAC-Key-Id": "client-1", "Content-Type": "application/json"}
        )
        assert code(r) == (400, "ERR_MISSING_HEADER")
        ok("partial hmac-guard headers: refused, no fallback")
        ft.LEGACY_UNTIL = 0
        h = fh.legacy_headers(secret, "POST", "/api/orders", body, "7")
        r = requests.post(url, data=body, headers={**h, "Content-Type": "application/json"})
        assert code(r) == (401, "ERR_MISSING_SIGNATURE")
        ok("legacy client after the deadline: 401")
        r = pc.create_order(base, {"sku": "A-1"})
        assert r.status_code == 200
        ok("hmac-guard client after the deadline: 200")


hand_written()
guarded()
transition()
print("python: all checks passed")
