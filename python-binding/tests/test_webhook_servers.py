"""Webhook receivers on real servers: Flask under gunicorn and FastAPI under uvicorn, one route per
preset (tests/apps/webhook_*_app.py), deliveries signed with ``sign_webhook`` and sent over
127.0.0.1 (http.client, raw sockets for the framing cases). Handler runs are counted from the
file the apps append to. Then one Redis run: gunicorn with 4 workers (and uvicorn) sharing a real
redis-server, 50 concurrent copies of one delivery.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from webhook_common import BODY_LIMIT, PRESETS, SECRETS

from hmac_guard import sign_webhook

from redis_server import Redis
from servers import Server, error_code, free_port, gunicorn_argv, raw_exchange, request, serve, uvicorn_argv

# Providers' signed ids: where each preset reads the delivery id the core reports.
SIGNED_ID = {"standard-webhooks": "msg_", "svix": "msg_", "stripe": "evt_", "slack": "Ev"}
SIGNATURE = {
    "standard-webhooks": "webhook-signature",
    "svix": "svix-signature",
    "stripe": "stripe-signature",
    "github": "x-hub-signature-256",
    "slack": "x-slack-signature",
    "shopify": "x-shopify-hmac-sha256",
}


def _argv(kind: str, port: int, workers: int = 1) -> list[str]:
    if kind == "flask":
        return gunicorn_argv(port, workers, "webhook_flask_app:app", "-k", "gthread", "--threads", "8")
    return uvicorn_argv(port, "webhook_fastapi_app:app")


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def hook_server(request: Any, tmp_path_factory: Any) -> Iterator[tuple[Server, Path]]:
    calls = tmp_path_factory.mktemp("webhooks") / "calls.log"
    calls.touch()
    port = free_port()
    env = {"HMAC_GUARD_TEST_WEBHOOK_CALLS": str(calls), "HMAC_GUARD_TEST_REDIS_URL": ""}
    with serve(f"webhook-{request.param}", _argv(request.param, port), port, env=env) as server:
        yield server, calls


def _delivery(
    preset: str, *, secret_index: int = 0, body: bytes | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """A fresh delivery: ``(marker, headers, body)``; the body carries a unique event id."""
    marker = uuid.uuid4().hex
    if body is None:
        doc = {"id": f"evt_{marker}", "event_id": f"Ev{marker}", "type": "test.event", "marker": marker}
        body = json.dumps(doc).encode()
    signed = sign_webhook(preset, secret=SECRETS[preset][secret_index], body=body, id=f"msg_{marker}")
    return marker, [*signed.headers.items(), ("Content-Type", "application/json")], body


def _head(
    server: Server, preset: str, framing: str, headers: list[tuple[str, str]], extra: bytes = b""
) -> bytes:
    """A raw request head: the framing field(s), the signed fields, ``extra`` (whole lines)."""
    start = f"POST /hooks/{preset} HTTP/1.1\r\nHost: {server.host}\r\n{framing}\r\n".encode()
    return start + b"".join(f"{n}: {v}\r\n".encode() for n, v in headers) + extra + b"\r\n"


def _calls(path: Path, preset: str, marker: str) -> int:
    return path.read_text().splitlines().count(f"{preset} {marker}")


def _post(
    server: Server, preset: str, headers: list[tuple[str, str]], body: bytes, mode: str = "ok"
) -> tuple[int, dict[str, str], bytes]:
    return request(server, "POST", f"/hooks/{preset}?mode={mode}", headers, body)


@pytest.mark.parametrize("preset", PRESETS)
def test_valid_delivery(hook_server: tuple[Server, Path], preset: str) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    status, _, answer = _post(server, preset, headers, body)
    assert status == 200, answer
    got = json.loads(answer)
    assert (got["provider"], got["secret_id"], got["payload"]["marker"]) == (preset, "secret-0", marker)
    if preset in SIGNED_ID:  # the provider signs an id (header or body) and the event type
        assert (got["id"], got["type"]) == (f"{SIGNED_ID[preset]}{marker}", "test.event")
    assert _calls(calls, preset, marker) == 1


@pytest.mark.parametrize("preset", PRESETS)
def test_rotated_secret(hook_server: tuple[Server, Path], preset: str) -> None:
    server, _ = hook_server
    _, headers, body = _delivery(preset, secret_index=1)
    status, _, answer = _post(server, preset, headers, body)
    assert status == 200, answer
    assert json.loads(answer)["secret_id"] == "secret-1"


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("answer", [("ok", 200), ("empty", 204)])
def test_duplicate_after_commit_is_200_without_the_handler(
    hook_server: tuple[Server, Path], preset: str, answer: tuple[str, int]
) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    assert _post(server, preset, headers, body, answer[0])[0] == answer[1]
    status, _, answer = _post(server, preset, headers, body)
    assert (status, error_code(answer)) == (200, "ERR_DUPLICATE_DELIVERY")
    assert _calls(calls, preset, marker) == 1


@pytest.mark.parametrize("preset", PRESETS)
def test_duplicate_in_flight_is_409_with_retry_after(hook_server: tuple[Server, Path], preset: str) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    first: list[int] = []
    slow = threading.Thread(target=lambda: first.append(_post(server, preset, headers, body, "slow")[0]))
    slow.start()
    deadline = time.monotonic() + 10
    while _calls(calls, preset, marker) == 0:
        assert time.monotonic() < deadline, "the slow handler never ran"
        time.sleep(0.02)
    status, fields, answer = _post(server, preset, headers, body)
    slow.join(15)
    assert (status, error_code(answer)) == (409, "ERR_DELIVERY_IN_PROGRESS")
    assert int(fields["retry-after"]) > 0
    assert first == [200]
    assert _calls(calls, preset, marker) == 1


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("failure", ["fail", "raise"])
def test_handler_failure_releases_so_the_retry_runs(
    hook_server: tuple[Server, Path], preset: str, failure: str
) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    assert _post(server, preset, headers, body, failure)[0] == 500
    status, _, answer = _post(server, preset, headers, body)
    assert status == 200, answer
    assert _calls(calls, preset, marker) == 2
    assert _post(server, preset, headers, body)[0] == 200  # now committed: a duplicate
    assert _calls(calls, preset, marker) == 2


@pytest.mark.parametrize("preset", PRESETS)
def test_non_utf8_body_is_valid(hook_server: tuple[Server, Path], preset: str) -> None:
    server, _ = hook_server
    body = b"\xff\xfe\x80 not text " + uuid.uuid4().bytes
    _, headers, body = _delivery(preset, body=body)
    status, _, answer = _post(server, preset, headers, body)
    assert status == 200, answer
    got = json.loads(answer)
    assert got["payload"] is None
    assert got["body_sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize("preset", PRESETS)
def test_missing_signature_is_401(hook_server: tuple[Server, Path], preset: str) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    status, _, answer = _post(server, preset, [h for h in headers if h[0].lower() != SIGNATURE[preset]], body)
    assert (status, error_code(answer)) == (401, "ERR_MISSING_SIGNATURE")
    assert _calls(calls, preset, marker) == 0


# A malformed field per preset (the core answers 400): an unparsable signature list or timestamp.
MALFORMED = {
    "standard-webhooks": ("webhook-signature", "garbage"),
    "svix": ("svix-timestamp", "17000000x0"),
    "stripe": ("stripe-signature", "v1=no-timestamp"),
    "slack": ("x-slack-request-timestamp", "1531420618.5"),
}


@pytest.mark.parametrize("preset", PRESETS)
def test_malformed_headers_are_400_never_500(hook_server: tuple[Server, Path], preset: str) -> None:
    server, calls = hook_server
    marker, headers, body = _delivery(preset)
    if preset in MALFORMED:
        name, bad = MALFORMED[preset]
        sent = [(n, bad if n.lower() == name else v) for n, v in headers]
        status, _, answer = _post(server, preset, sent, body)
        assert (status, error_code(answer)) == (400, "ERR_MALFORMED_SIGNATURE"), answer
    # Every preset: hostile bytes in each signed field, over a raw socket (obs-text, NUL-free).
    for name, value in headers:
        if name == "Content-Type":
            continue  # not signed
        hostile = name.encode() + b": " + value.encode()[:8] + b"\xff\xfe\x80\r\n"
        others = [(n, v) for n, v in headers if n != name]
        head = _head(server, preset, f"Content-Length: {len(body)}", others, hostile)
        status, answer = raw_exchange(server, head, [body])
        assert 400 <= status < 500, (name, status, answer)
    assert _calls(calls, preset, marker) == 0


@pytest.mark.parametrize("preset", PRESETS)
def test_oversize_with_content_length_is_413_before_the_body(
    hook_server: tuple[Server, Path], preset: str
) -> None:
    server, _ = hook_server
    _, headers, _ = _delivery(preset)
    head = _head(server, preset, f"Content-Length: {BODY_LIMIT + 1}", headers)
    # Nothing of the body is sent: a server that waited for it would time out.
    status, answer = raw_exchange(server, head, [], timeout=5)
    assert (status, error_code(answer)) == (413, "ERR_BODY_TOO_LARGE")


@pytest.mark.parametrize("preset", PRESETS)
def test_chunked_over_the_cap_is_413(hook_server: tuple[Server, Path], preset: str) -> None:
    server, calls = hook_server
    body = b"x" * (BODY_LIMIT + 4096)
    marker, headers, body = _delivery(preset, body=body)
    head = _head(server, preset, "Transfer-Encoding: chunked", headers)
    pieces = [b"%x\r\n%s\r\n" % (8192, body[i : i + 8192]) for i in range(0, len(body), 8192)]
    status, answer = raw_exchange(server, head, [*pieces, b"0\r\n\r\n"])
    assert (status, error_code(answer)) == (413, "ERR_BODY_TOO_LARGE")
    assert _calls(calls, preset, marker) == 0


@pytest.mark.parametrize("preset", PRESETS)
def test_bad_framing_is_400(hook_server: tuple[Server, Path], preset: str) -> None:
    server, _ = hook_server
    _, headers, body = _delivery(preset)
    both = _head(server, preset, f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked", headers)
    status, _ = raw_exchange(server, both, [b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)])
    assert status == 400


# --- Redis: several processes share the claims ---------------------------------------------------


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["flask", "fastapi"])
def test_redis_fifty_concurrent_copies_run_the_handler_once(redis: Redis, tmp_path: Path, kind: str) -> None:
    calls = tmp_path / "calls.log"
    calls.touch()
    port = free_port()
    env = {
        "HMAC_GUARD_TEST_WEBHOOK_CALLS": str(calls),
        "HMAC_GUARD_TEST_REDIS_URL": redis.url,
        "HMAC_GUARD_TEST_REDIS_PREFIX": f"hg-webhook-{kind}-{os.getpid()}:",
    }
    argv = gunicorn_argv(port, 4, "webhook_flask_app:app") if kind == "flask" else _argv(kind, port)
    with serve(f"webhook-redis-{kind}", argv, port, env=env) as server:
        preset = "stripe"
        marker, headers, body = _delivery(preset)
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(lambda _: _post(server, preset, headers, body, "slow"), range(50)))
        statuses = [(status, error_code(answer)) for status, _, answer in results]
        assert _calls(calls, preset, marker) == 1
        ran = [s for s in statuses if s == (200, None)]
        assert len(ran) == 1, statuses
        rest = [s for s in statuses if s != (200, None)]
        assert all(s in ((200, "ERR_DUPLICATE_DELIVERY"), (409, "ERR_DELIVERY_IN_PROGRESS")) for s in rest), (
            statuses
        )
        # After the commit, a copy is a duplicate on every worker.
        assert {_post(server, preset, headers, body)[0] for _ in range(8)} == {200}
        assert _calls(calls, preset, marker) == 1


# --- The plain ASGI receiver under uvicorn (hmac_guard.asgi.webhook, mounted at /raw/<preset>) ----


@pytest.fixture(scope="module")
def asgi_server(tmp_path_factory: Any) -> Iterator[tuple[Server, Path]]:
    calls = tmp_path_factory.mktemp("webhooks-asgi") / "calls.log"
    calls.touch()
    port = free_port()
    env = {"HMAC_GUARD_TEST_WEBHOOK_CALLS": str(calls), "HMAC_GUARD_TEST_REDIS_URL": ""}
    with serve("webhook-asgi", _argv("fastapi", port), port, env=env) as server:
        yield server, calls


@pytest.mark.parametrize("preset", ["standard-webhooks", "github"])
def test_plain_asgi_receiver(asgi_server: tuple[Server, Path], preset: str) -> None:
    server, calls = asgi_server

    def post(
        headers: list[tuple[str, str]], body: bytes, mode: str = "ok"
    ) -> tuple[int, dict[str, str], bytes]:
        return request(server, "POST", f"/raw/{preset}/?mode={mode}", headers, body)

    marker, headers, body = _delivery(preset, secret_index=1)
    status, _, answer = post(headers, body, "fail")
    assert status == 500
    status, _, answer = post(headers, body)  # released: the retry runs
    assert status == 200, answer
    assert json.loads(answer)["secret_id"] == "secret-1"
    status, _, answer = post(headers, body)
    assert (status, error_code(answer)) == (200, "ERR_DUPLICATE_DELIVERY")
    assert _calls(calls, preset, marker) == 2
    marker, headers, body = _delivery(preset)
    slow = threading.Thread(target=lambda: post(headers, body, "slow"))
    slow.start()
    while _calls(calls, preset, marker) == 0:
        time.sleep(0.02)
    status, fields, answer = post(headers, body)
    slow.join(15)
    assert (status, error_code(answer)) == (409, "ERR_DELIVERY_IN_PROGRESS")
    assert "retry-after" in fields
    status, _, answer = post([h for h in headers if h[0].lower() != SIGNATURE[preset]], body)
    assert (status, error_code(answer)) == (401, "ERR_MISSING_SIGNATURE")
    head = _head(server, preset, f"Content-Length: {BODY_LIMIT + 1}", headers)
    head = head.replace(f"/hooks/{preset} ".encode(), f"/raw/{preset}/ ".encode(), 1)
    assert raw_exchange(server, head, [], timeout=5)[0] == 413
