"""Observability of a real FastAPI app under uvicorn (the ASGI middleware), with the memory store
and with a real redis-server (the claim awaited on the event loop): the hook gets the accepted and
the rejected request on the event loop's thread, the stats count them; a client gone mid-body is
an aborted verification."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from observing import events, fastapi_server, fetch, post, redis_env, signed
from redis_server import Redis
from servers import Server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    r = Redis()
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(store: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    env: dict[str, str] = {}
    if store == "redis":
        r: Redis = request.getfixturevalue("redis")
        env = redis_env(r.url)
    with fastapi_server(env) as s:
        yield s


def test_the_hook_and_the_stats_see_an_accepted_and_a_rejected_request(app: Server, store: str) -> None:
    main_thread = fetch(app, "/health")["main_thread"]
    valid = signed(app)
    assert post(app, valid) == 200
    assert post(app, valid) == 401  # the same nonce again
    got = events(app)
    assert [(e["outcome"], e["code"], e["status"], e["level"], e["key_id"]) for e in got] == [
        ("accepted", None, None, "debug", "k1"),
        ("rejected", "ERR_REPLAY", 401, "info", "k1"),
    ]
    assert {(e["store"], e["scheme"]) for e in got} == {(store, "rfc9421")}
    # The verdict is reached on the event loop's thread, Redis too: its claim is awaited there
    # (no worker thread; the answer comes from the store's own runtime).
    assert {e["thread"] for e in got} == {main_thread}
    stats = fetch(app, "/_test/stats")
    assert (stats["accepted"], stats["rejected"], stats["aborted"]) == (1, 1, 0)
    assert stats["rejections"] == {"ERR_REPLAY": 1}
    assert stats["by_key"] == {"k1": {"accepted": 1, "rejected": 1}}
    assert stats["store"] == store


def test_a_client_gone_mid_body_is_an_aborted_verification(app: Server) -> None:
    headers = [*signed(app), ("Content-Length", "100")]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as s:
        s.sendall(f"POST /echo HTTP/1.1\r\n{head}\r\n".encode("latin-1") + b'{"amount"')
        fetch(app, "/health")  # the partial body has reached the server by now
    deadline = time.monotonic() + 10
    while not (got := events(app)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the disconnect on its own schedule
    assert [(e["outcome"], e["code"], e["level"]) for e in got] == [("aborted", None, "debug")]
    stats = fetch(app, "/_test/stats")
    assert (stats["accepted"], stats["rejected"], stats["aborted"]) == (0, 0, 1)
