"""The WSGI middleware and the Flask extension in process (Werkzeug's test client), both schemes."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from flask import Flask, g, request
from werkzeug.test import Client

import hmac_guard as hg
from hmac_guard._wsgi import request_head
from hmac_guard.flask import HmacGuard, guard_from_config
from hmac_guard.wsgi import ENVIRON_KEY, HmacGuardMiddleware

from conftest import SECRET


def plain_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Any WSGI app: reads its body the WSGI way."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    verified = environ.get(ENVIRON_KEY)
    doc = {
        "subject": verified.subject if verified else None,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(doc).encode()]


def signed_request(client: Client, signer: hg.Signer, method: str, path: str, body: bytes, **kw: Any) -> Any:
    head = [("Host", "localhost")]
    headers = head + signer.sign(method, path, head, body)
    return client.open(path, method=method, headers=headers, data=body, **kw)


@pytest.mark.parametrize("scheme", ["rfc9421", "simple"])
def test_wsgi_middleware_verifies_and_replays_the_body(scheme: str) -> None:
    guard = hg.Guard(scheme=scheme, keys=[{"id": "k1", "secret": SECRET, "subject": "svc:a"}])
    signer = hg.Signer("k1", SECRET, scheme=scheme)
    client = Client(HmacGuardMiddleware(plain_app, guard, path_prefixes=["/api/"]))
    body = b"\x00\x01binary\xff"
    r = signed_request(client, signer, "POST", "/api/x?y=1", body)
    assert r.status_code == 200, r.get_data()
    assert r.get_json() == {"subject": "svc:a", "sha256": hashlib.sha256(body).hexdigest()}
    r = signed_request(client, signer, "POST", "/api/x?y=1", body)  # new nonce: fine
    assert r.status_code == 200
    head = [("Host", "localhost")]
    headers = head + signer.sign("POST", "/api/x?y=1", head, body)
    r = client.post("/api/x?y=2", headers=headers, data=body)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "ERR_SIGNATURE_MISMATCH"
    r = client.post("/open", data=b"unsigned")  # outside the prefixes
    assert r.status_code == 200
    assert r.get_json()["subject"] is None


def test_wsgi_middleware_body_limit() -> None:
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], body_limit=100)
    client = Client(HmacGuardMiddleware(plain_app, guard))
    r = signed_request(client, hg.Signer("k1", SECRET), "POST", "/x", b"a" * 101)
    assert r.status_code == 413
    assert r.get_json() == {"error": {"code": "ERR_BODY_TOO_LARGE", "message": "request body is too large"}}


def test_flask_protect_all_exempt_and_config() -> None:
    app = Flask(__name__)
    app.config.update(HMAC_GUARD_SCHEME="simple", HMAC_GUARD_KEYS=[{"id": "k1", "secret": SECRET}])
    app.config["HMAC_GUARD_PROTECT_ALL"] = True
    ext = HmacGuard()
    ext.init_app(app)

    @app.post("/p")
    def p() -> dict[str, Any]:
        return {"key": g.hmac.key_id, "data": request.get_data(as_text=True), "json": request.get_json()}

    @app.get("/open")
    @ext.exempt
    def open_view() -> str:
        return "open"

    client = app.test_client()
    signer = hg.Signer("k1", SECRET, scheme="simple")
    body = b'{"n": 1}'
    head = [("Host", "localhost"), ("Content-Type", "application/json")]
    r = client.post("/p", headers=head + signer.sign("POST", "/p", head, body), data=body)
    assert r.status_code == 200, r.get_data()
    assert r.get_json() == {"key": "k1", "data": '{"n": 1}', "json": {"n": 1}}
    assert client.get("/open").get_data() == b"open"
    r = client.post("/p", data=body)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "ERR_MISSING_SIGNATURE"
    with app.app_context():
        assert ext.guard.scheme == "simple"
        ext.guard.add_key("k2", SECRET)
        assert ext.guard.key_ids() == ["k1", "k2"]


def test_request_head_rebuilds_the_raw_target() -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/a b/ü".encode().decode("latin-1"),
        "QUERY_STRING": "x=1%202",
        "wsgi.url_scheme": "https",
        "HTTP_HOST": "h",
        "CONTENT_TYPE": "text/plain",
        "wsgi.input": io.BytesIO(),
    }
    method, target, headers, scheme = request_head(environ)
    assert (method, target, scheme) == ("GET", "/a%20b/%C3%BC?x=1%202", "https")
    assert ("HOST", "h") in headers
    assert ("CONTENT-TYPE", "text/plain") in headers
    environ["RAW_URI"] = "/raw?as=sent"
    assert request_head(environ)[1] == "/raw?as=sent"


def test_flask_settings_are_the_guard_keywords_checked_by_the_core() -> None:
    keys = [{"id": "k1", "secret": SECRET}]
    guard = guard_from_config(
        {
            "HMAC_GUARD_KEYS": keys,
            "HMAC_GUARD_PROFILE": "interop",
            "HMAC_GUARD_TRUST_PROXY": True,
            "HMAC_GUARD_CHUNK_SIZE": 1024,  # the extension's own, not the guard's
            "HMAC_GUARD_PROTECT_ALL": False,
            "SECRET_KEY": "not ours",
        }
    )
    settings = guard.settings
    assert (settings["keys"], settings["policy.trust_proxy"], settings["policy.require_nonce"]) == (
        1,
        True,
        False,
    )
    # An unknown or bad setting is refused by the core, named as the setting.
    with pytest.raises(hg.ConfigError) as info:
        guard_from_config({"HMAC_GUARD_KEYS": keys, "HMAC_GUARD_MAX_AGE_SEC": 60})
    assert info.value.reason.startswith('HMAC_GUARD_MAX_AGE_SEC: unknown option "max_age_sec"'), (
        info.value.reason
    )
    assert '"max_age_secs"' in info.value.reason  # the suggestion
    with pytest.raises(hg.ConfigError) as info:
        guard_from_config({"HMAC_GUARD_KEYS": [{"id": "k1", "secret": "short"}]})
    assert info.value.reason.startswith("HMAC_GUARD_KEYS: keys[0].secret"), info.value.reason
    with pytest.raises(hg.ConfigError) as info:
        guard_from_config({"HMAC_GUARD_REDIS_TLS_CA_PEM": b"pem"})  # the old name
    assert info.value.reason.startswith("HMAC_GUARD_REDIS_TLS_CA_PEM: unknown option"), info.value.reason
    assert "redis_tls_ca" in info.value.reason
    with pytest.raises(hg.ConfigError, match="HMAC_GUARD_BODY_LIMIT: body_limit must be"):
        guard_from_config({"HMAC_GUARD_BODY_LIMIT": 0})


def test_request_head_without_a_url_scheme_leaves_it_to_the_core() -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_HOST": "h", "wsgi.input": io.BytesIO()}
    assert request_head(environ)[3] == ""
