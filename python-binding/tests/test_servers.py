"""Real servers on 127.0.0.1: Flask under gunicorn (2 sync workers, and 1 threaded worker for the
replay races) and FastAPI under uvicorn, hit with real HTTP requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
from http_sfv import Dictionary, InnerList

import hmac_guard as hg

from common import BODY_LIMIT, SECRET
from servers import Server, error_code, free_port, gunicorn_argv, raw_exchange, request, serve, uvicorn_argv

pytestmark = pytest.mark.timeout(180)

SIGNER = hg.Signer("k1", SECRET)


def gunicorn(workers: int, threaded: bool = False, scheme: str = "rfc9421") -> Any:
    def start() -> Any:
        port = free_port()
        extra = ["--timeout", "60", "--graceful-timeout", "3", "--log-level", "warning"]
        if threaded:
            extra += ["-k", "gthread", "--threads", "32", "--backlog", "256"]
        argv = gunicorn_argv(port, workers, "flask_app:app", *extra)
        env = {"HMAC_GUARD_TEST_SCHEME": scheme}
        return serve(f"gunicorn-{workers}-{scheme}", argv, port, env=env)

    return start


def uvicorn() -> Any:
    port = free_port()
    argv = uvicorn_argv(port)
    return serve("uvicorn", argv, port)


@pytest.fixture(scope="module")
def flask_server() -> Iterator[Server]:
    with gunicorn(2)() as s:
        yield s


@pytest.fixture(scope="module")
def flask_one_worker() -> Iterator[Server]:
    with gunicorn(1, threaded=True)() as s:
        yield s


@pytest.fixture(scope="module")
def flask_simple_scheme() -> Iterator[Server]:
    with gunicorn(1, threaded=True, scheme="simple")() as s:
        yield s


@pytest.fixture(scope="module")
def fastapi_server() -> Iterator[Server]:
    with uvicorn() as s:
        yield s


@pytest.fixture(params=["flask", "fastapi"])
def server(request: pytest.FixtureRequest) -> Server:
    name = "flask_server" if request.param == "flask" else "fastapi_server"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(params=["flask-1-worker", "fastapi"])
def single_process_server(request: pytest.FixtureRequest) -> Server:
    name = "flask_one_worker" if request.param == "flask-1-worker" else "fastapi_server"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def signed(
    server: Server,
    method: str = "POST",
    target: str = "/echo?x=1",
    body: bytes = b'{"amount": 10}',
    content_type: str = "application/json",
    signer: hg.Signer = SIGNER,
    **sign_options: Any,
) -> list[tuple[str, str]]:
    head = [("Host", server.host)]
    if content_type:
        head.append(("Content-Type", content_type))
    return head + signer.sign(method, target, head, body, **sign_options)


def send(
    server: Server, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, Any]:
    status, _, data = request(server, method, target, headers, body)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


def assert_error(result: tuple[int, Any], status: int, code: str) -> None:
    got_status, doc = result
    assert (got_status, doc) == (status, {"error": {"code": code, "message": hg.error_class(code).message}})


# -- verdicts -------------------------------------------------------------------------------------


def test_valid_request_reaches_the_view_with_the_verified_values(server: Server) -> None:
    body = b'{"amount": 10}'
    status, doc = send(server, "POST", "/echo?x=1", signed(server, body=body), body)
    assert status == 200, doc
    assert doc["key_id"] == "k1"
    assert doc["subject"] == "user:alice"
    assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert doc["json"] == {"amount": 10}
    assert doc["nonce"]
    assert abs(doc["created"] - time.time()) < 60
    assert ['"@path"', "/echo"] in doc["covered"]
    assert doc.get("state", True) is True  # FastAPI: request.state.hmac is the dependency's result


def test_get_without_body(server: Server) -> None:
    status, doc = send(server, "GET", "/echo?q=a%20b", signed(server, "GET", "/echo?q=a%20b", b"", ""))
    assert status == 200, doc
    assert doc["body_len"] == 0


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("body", b'{"amount": 1000}', "ERR_DIGEST_MISMATCH"),
        ("target", "/echo?x=2", "ERR_SIGNATURE_MISMATCH"),
        ("method", "PUT", "ERR_SIGNATURE_MISMATCH"),
    ],
)
def test_tampered_requests_are_401(server: Server, field: str, value: Any, code: str) -> None:
    req: dict[str, Any] = {"method": "POST", "target": "/echo?x=1", "body": b'{"amount": 10}'}
    headers = signed(server, req["method"], req["target"], req["body"])
    req[field] = value
    assert_error(send(server, req["method"], req["target"], headers, req["body"]), 401, code)


def test_wrong_and_unknown_keys(server: Server) -> None:
    wrong = hg.Signer("k1", b"W" * 32)
    assert_error(
        send(server, "POST", "/echo?x=1", signed(server, signer=wrong), b'{"amount": 10}'),
        401,
        "ERR_SIGNATURE_MISMATCH",
    )
    unknown = hg.Signer("k9", SECRET)
    assert_error(
        send(server, "POST", "/echo?x=1", signed(server, signer=unknown), b'{"amount": 10}'),
        401,
        "ERR_UNKNOWN_KEY",
    )


def test_expired_and_future_timestamps(server: Server) -> None:
    body = b'{"amount": 10}'
    old = signed(server, created=int(time.time()) - 3600)
    assert_error(send(server, "POST", "/echo?x=1", old, body), 401, "ERR_TIMESTAMP_EXPIRED")
    future = signed(server, created=int(time.time()) + 3600)
    assert_error(send(server, "POST", "/echo?x=1", future, body), 401, "ERR_TIMESTAMP_IN_FUTURE")


def test_malformed_and_missing_headers(server: Server) -> None:
    body = b'{"amount": 10}'
    headers = signed(server)
    garbled = [(k, "sig1=(((" if k == "Signature-Input" else v) for k, v in headers]
    assert_error(send(server, "POST", "/echo?x=1", garbled, body), 400, "ERR_MALFORMED_SIGNATURE")
    no_input = [(k, v) for k, v in headers if k != "Signature-Input"]
    assert_error(send(server, "POST", "/echo?x=1", no_input, body), 400, "ERR_MISSING_HEADER")
    unsigned = [("Host", server.host), ("Content-Type", "application/json")]
    assert_error(send(server, "POST", "/echo?x=1", unsigned, body), 401, "ERR_MISSING_SIGNATURE")
    bad_digest = [(k, "sha-256=:nope:" if k == "Content-Digest" else v) for k, v in headers]
    status, doc = send(server, "POST", "/echo?x=1", bad_digest, body)
    assert status in (400, 401)
    assert doc["error"]["code"] in ("ERR_MALFORMED_HEADER", "ERR_SIGNATURE_MISMATCH")


def test_binary_body_reaches_the_view_intact(server: Server) -> None:
    body = bytes(range(256)) * 64 + b"\xff\xfe\x00\x80"  # not UTF-8
    headers = signed(server, body=body, content_type="application/octet-stream")
    status, doc = send(server, "POST", "/echo?x=1", headers, body)
    assert status == 200, doc
    assert (doc["body_len"], doc["body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())


def test_form_body_verifies_and_parses(server: Server) -> None:
    body = urlencode({"name": "Zoë & co", "n": "1"}).encode()
    headers = signed(server, body=body, content_type="application/x-www-form-urlencoded")
    status, doc = send(server, "POST", "/echo?x=1", headers, body)
    assert status == 200, doc
    assert doc["form"] == {"name": ["Zoë & co"], "n": ["1"]}
    assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()


# -- replay ---------------------------------------------------------------------------------------


def test_replay_is_rejected(single_process_server: Server) -> None:
    server = single_process_server
    body = b'{"amount": 10}'
    headers = signed(server)
    assert send(server, "POST", "/echo?x=1", headers, body)[0] == 200
    assert_error(send(server, "POST", "/echo?x=1", headers, body), 401, "ERR_REPLAY")


def test_100_concurrent_copies_exactly_one_succeeds(single_process_server: Server) -> None:
    server = single_process_server
    body = b'{"amount": 10}'
    headers = signed(server)
    barrier = threading.Barrier(100, timeout=30)

    def fire(_: int) -> tuple[int, Any]:
        barrier.wait()
        return send(server, "POST", "/echo?x=1", headers, body)

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(fire, range(100)))
    statuses = [s for s, _ in results]
    assert statuses.count(200) == 1, statuses
    assert all(s == 401 and doc["error"]["code"] == "ERR_REPLAY" for s, doc in results if s != 200)


# -- body limit -----------------------------------------------------------------------------------


def _head(server: Server, headers: list[tuple[str, str]], extra: list[tuple[str, str]]) -> bytes:
    lines = ["POST /echo?x=1 HTTP/1.1", *(f"{k}: {v}" for k, v in headers + extra)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_oversize_with_content_length_is_413_before_the_body_is_sent(server: Server) -> None:
    body = b"a" * (BODY_LIMIT + 1)
    headers = signed(server, body=body, content_type="application/octet-stream")
    # Only the head is sent: the answer must come without a single body byte.
    status, data = raw_exchange(server, _head(server, headers, [("Content-Length", str(len(body)))]), [])
    assert status == 413
    assert error_code(data) == "ERR_BODY_TOO_LARGE"
    test_valid_request_reaches_the_view_with_the_verified_values(server)  # still serving


def test_oversize_chunked_is_413_without_reading_the_rest(server: Server) -> None:
    body = b"b" * (BODY_LIMIT * 4)
    headers = signed(server, body=body, content_type="application/octet-stream")
    piece = 8192
    sent = BODY_LIMIT + 4 * piece  # past the limit, far short of the whole body, never terminated
    chunks = [f"{piece:x}\r\n".encode() + body[i : i + piece] + b"\r\n" for i in range(0, sent, piece)]
    status, data = raw_exchange(server, _head(server, headers, [("Transfer-Encoding", "chunked")]), chunks)
    assert status == 413
    assert error_code(data) == "ERR_BODY_TOO_LARGE"
    test_valid_request_reaches_the_view_with_the_verified_values(server)  # still serving


def test_chunked_body_within_the_limit_verifies(server: Server) -> None:
    body = b"c" * 20000
    headers = signed(server, body=body, content_type="application/octet-stream")
    piece = 4096
    chunks = [
        f"{len(body[i : i + piece]):x}\r\n".encode() + body[i : i + piece] + b"\r\n"
        for i in range(0, len(body), piece)
    ]
    chunks.append(b"0\r\n\r\n")
    status, data = raw_exchange(server, _head(server, headers, [("Transfer-Encoding", "chunked")]), chunks)
    assert status == 200, data
    assert json.loads(data)["body_sha256"] == hashlib.sha256(body).hexdigest()


# -- adapter specifics ----------------------------------------------------------------------------


def test_flask_blueprint_protection_and_exempt_view(flask_server: Server) -> None:
    s = flask_server
    status, doc = send(s, "POST", "/api/items", signed(s, target="/api/items"), b'{"amount": 10}')
    assert status == 200, doc
    assert doc["subject"] == "user:alice"
    unsigned = [("Host", s.host)]
    assert_error(send(s, "GET", "/api/items", unsigned), 401, "ERR_MISSING_SIGNATURE")
    assert send(s, "GET", "/api/open", unsigned) == (200, {"open": True})
    assert send(s, "GET", "/health", unsigned)[0] == 200
    assert send(s, "GET", "/api/nowhere", unsigned)[0] == 404


def test_fastapi_dependency_without_middleware(fastapi_server: Server) -> None:
    s = fastapi_server
    body = b'{"sku": "a-1"}'
    status, doc = send(s, "POST", "/dep/json", signed(s, target="/dep/json", body=body), body)
    assert (status, doc) == (200, {"subject": "user:alice", "item": {"sku": "a-1"}})
    body = bytes(range(256))
    status, doc = send(s, "POST", "/dep/raw", signed(s, target="/dep/raw", body=body, content_type=""), body)
    assert status == 200, doc
    assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()
    tampered = signed(s, target="/dep/raw", body=body, content_type="")
    assert_error(send(s, "POST", "/dep/raw", tampered, body + b"!"), 401, "ERR_DIGEST_MISMATCH")
    assert_error(send(s, "POST", "/dep/raw", [("Host", s.host)], b"x"), 401, "ERR_MISSING_SIGNATURE")


def test_requests_and_httpx_clients_sign_for_real_servers(server: Server) -> None:
    import httpx
    import requests

    from hmac_guard.client import HttpxAuth, RequestsAuth

    url = f"http://{server.host}/echo?x=1"
    r = requests.post(url, json={"amount": 10}, auth=RequestsAuth("k1", SECRET), timeout=15)
    assert r.status_code == 200, r.text
    assert r.json()["json"] == {"amount": 10}
    r = requests.post(url, data={"a": "1"}, auth=RequestsAuth(SIGNER), timeout=15)
    assert r.status_code == 200, r.text
    h = httpx.post(url, content=b"\x00\xff", auth=HttpxAuth("k1", SECRET), timeout=15)
    assert h.status_code == 200, h.text
    assert h.json()["body_len"] == 2
    h = httpx.get(f"http://{server.host}/echo?a=1&b=%2F", auth=HttpxAuth(SIGNER), timeout=15)
    assert h.status_code == 200, h.text

    async def async_client() -> httpx.Response:
        async with httpx.AsyncClient(auth=HttpxAuth("k1", SECRET, scheme="rfc9421"), timeout=15) as client:
            return await client.put(f"http://{server.host}/echo?x=async", json={"a": [1, 2]})

    h = asyncio.run(async_client())
    assert h.status_code == 200, h.text
    assert h.json()["json"] == {"a": [1, 2]}


def test_flask_simple_scheme_under_gunicorn(flask_simple_scheme: Server) -> None:
    s = flask_simple_scheme
    signer = hg.Signer("k1", SECRET, scheme="simple")
    body = "Grüße".encode()
    headers = signed(s, body=body, content_type="text/plain; charset=utf-8", signer=signer)
    status, doc = send(s, "POST", "/echo?x=1", headers, body)
    assert status == 200, doc
    assert doc["covered"][0] == ["method", "POST"]
    assert doc["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert_error(send(s, "POST", "/echo?x=1", headers, body), 401, "ERR_REPLAY")
    headers = signed(s, body=body, content_type="text/plain", signer=signer)
    assert_error(send(s, "POST", "/echo?x=2", headers, body), 401, "ERR_SIGNATURE_MISMATCH")
    rfc = signed(s)  # an RFC 9421 signature means nothing to a simple-scheme server
    assert_error(send(s, "POST", "/echo?x=1", rfc, b'{"amount": 10}'), 401, "ERR_MISSING_SIGNATURE")


# -- Accept-Signature (RFC 9421 §5.1) on refusals -----------------------------------------------

WRONG_SECRET = b"another-secret-of-32-bytes-or-more!!"
WRONG_SIGNER = hg.Signer("k1", WRONG_SECRET)
REQUESTED = ["@method", "@authority", "@path", "@query"]


@pytest.fixture(scope="module")
def plain_wsgi() -> Iterator[Server]:
    port = free_port()
    with serve("gunicorn-wsgi", gunicorn_argv(port, 1, "wsgi_app:app", "--log-level", "warning"), port) as s:
        yield s


# (server fixture, path refused by the adapter): Flask, plain WSGI middleware, the ASGI
# middleware, and FastAPI's dependency with install_error_handler.
ADAPTERS = {
    "flask": ("flask_server", "/echo"),
    "wsgi": ("plain_wsgi", "/echo"),
    "asgi": ("fastapi_server", "/echo"),
    "fastapi-dependency": ("fastapi_server", "/dep/raw"),
}


@pytest.fixture(params=list(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> tuple[Server, str]:
    name, path = ADAPTERS[request.param]
    return request.getfixturevalue(name), path


def requested(status: int, headers: dict[str, str], data: bytes, want: int) -> list[str]:
    """The components the Accept-Signature field asks for, parsed with http-sfv (RFC 8941)."""
    assert status == want, data
    assert "accept-signature" in headers, f"no Accept-Signature on the {status}: {headers}"
    field = Dictionary()
    field.parse(headers["accept-signature"].encode("ascii"))
    assert list(field) == ["sig1"]
    member = field["sig1"]
    assert isinstance(member, InnerList)
    assert {p: member.params.get(p) for p in ("created", "nonce", "keyid")} == dict.fromkeys(
        ("created", "nonce", "keyid"), True
    )
    return [str(item.value) for item in member]


def test_accept_signature_on_401s(adapter: tuple[Server, str]) -> None:
    s, path = adapter
    body = b'{"amount": 10}'
    unsigned = [("Host", s.host), ("Content-Type", "application/json")]
    status, headers, data = request(s, "POST", path, unsigned, body)
    assert error_code(data) == "ERR_MISSING_SIGNATURE"
    assert requested(status, headers, data, 401) == [*REQUESTED, "content-digest"]
    wrong = signed(s, "POST", path, body, signer=WRONG_SIGNER)
    status, headers, data = request(s, "POST", path, wrong, body)
    assert error_code(data) == "ERR_SIGNATURE_MISMATCH"
    assert requested(status, headers, data, 401) == [*REQUESTED, "content-digest"]
    # Without a body (the dependency's route takes POST only: a POST with no body there).
    method = "POST" if path == "/dep/raw" else "GET"
    wrong = signed(s, method, path, b"", content_type="", signer=WRONG_SIGNER)
    status, headers, data = request(s, method, path, wrong)
    assert error_code(data) == "ERR_SIGNATURE_MISMATCH"
    assert requested(status, headers, data, 401) == REQUESTED


def test_no_accept_signature_on_a_400(adapter: tuple[Server, str]) -> None:
    s, path = adapter
    body = b'{"amount": 10}'
    garbled = [(k, "sig1=:not base64!:" if k == "Signature" else v) for k, v in signed(s, "POST", path, body)]
    status, headers, data = request(s, "POST", path, garbled, body)
    assert (status, error_code(data)) == (400, "ERR_MALFORMED_SIGNATURE")
    assert "accept-signature" not in headers


def test_no_accept_signature_on_a_simple_scheme_401(flask_simple_scheme: Server) -> None:
    s = flask_simple_scheme
    body = b'{"amount": 10}'
    simple_wrong = hg.Signer("k1", b"another-secret-of-32-bytes-or-more!!", scheme="simple")
    for headers_sent in (signed(s, body=body, signer=simple_wrong), [("Host", s.host)]):
        status, headers, data = request(s, "POST", "/echo?x=1", headers_sent, body)
        assert status == 401, data
        assert "accept-signature" not in headers


# -- expose_reasons (development only): the error's reason in the JSON error ---------------------

EXPOSING = {"HMAC_GUARD_TEST_EXPOSE_REASONS": "1"}


@pytest.fixture(scope="module")
def flask_exposing() -> Iterator[Server]:
    port = free_port()
    argv = gunicorn_argv(port, 1, "flask_app:app", "--log-level", "warning")
    with serve("gunicorn-flask-exposing", argv, port, env=EXPOSING) as s:
        yield s


@pytest.fixture(scope="module")
def wsgi_exposing() -> Iterator[Server]:
    port = free_port()
    argv = gunicorn_argv(port, 1, "wsgi_app:app", "--log-level", "warning")
    with serve("gunicorn-wsgi-exposing", argv, port, env=EXPOSING) as s:
        yield s


@pytest.fixture(scope="module")
def fastapi_exposing() -> Iterator[Server]:
    port = free_port()
    with serve("uvicorn-exposing", uvicorn_argv(port), port, env=EXPOSING) as s:
        yield s


# (server with expose_reasons on, the same app with it off, path refused by the adapter)
EXPOSING_ADAPTERS = {
    "flask": ("flask_exposing", "flask_server", "/echo"),
    "wsgi": ("wsgi_exposing", "plain_wsgi", "/echo"),
    "asgi": ("fastapi_exposing", "fastapi_server", "/echo"),
    "fastapi-dependency": ("fastapi_exposing", "fastapi_server", "/dep/raw"),
}


@pytest.mark.parametrize("name", list(EXPOSING_ADAPTERS))
def test_expose_reasons_adds_the_reason_without_the_secret(name: str, request: pytest.FixtureRequest) -> None:
    on_name, off_name, path = EXPOSING_ADAPTERS[name]
    body = b'{"amount": 10}'
    on: Server = request.getfixturevalue(on_name)
    status, _, data = request_to(on, path, body)
    assert status == 401, data
    error = json.loads(data)["error"]
    assert error["code"] == "ERR_SIGNATURE_MISMATCH"
    assert isinstance(error["reason"], str), data
    assert error["reason"], data
    for form in (SECRET, SECRET.hex().encode(), WRONG_SECRET, WRONG_SECRET.hex().encode()):
        assert form not in data, data
    off: Server = request.getfixturevalue(off_name)
    status, _, data = request_to(off, path, body)
    assert status == 401, data
    assert sorted(json.loads(data)["error"]) == ["code", "message"]


def request_to(s: Server, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """A POST to `path` signed with the wrong key."""
    return request(s, "POST", path, signed(s, "POST", path, body, signer=WRONG_SIGNER), body)


def test_expose_reasons_shows_why_a_500_happened(flask_exposing: Server, flask_server: Server) -> None:
    body = b'{"amount": 10}'
    for s, exposed in ((flask_exposing, True), (flask_server, False)):
        status, _, data = request(s, "POST", "/read-first", signed(s, "POST", "/read-first", body), body)
        assert status == 500, data
        error = json.loads(data)["error"]
        assert error["code"] == "ERR_INVALID_STATE"
        if exposed:
            assert "the request body was read before" in error["reason"]
        else:
            assert "reason" not in error


def test_expose_reasons_property() -> None:
    assert hg.Guard(expose_reasons=True).expose_reasons is True
    assert hg.Guard().expose_reasons is False
    assert hg.Guard(expose_reasons=True).settings["expose_reasons"] is True
