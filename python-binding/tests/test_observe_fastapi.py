"""Observability of a real FastAPI app under uvicorn (the ASGI middleware), with the memory store
(the verdict on the event loop) and with a real redis-server (the claim in a worker thread without
the GIL: the event comes from there): the hook gets the accepted and the rejected request, the
stats count them."""

from __future__ import annotations

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
    # The verdict is reached where the claim runs: the event loop, or a worker thread for Redis.
    threads = {e["thread"] for e in got}
    assert (threads == {main_thread}) == (store == "memory"), threads
    stats = fetch(app, "/_test/stats")
    assert (stats["accepted"], stats["rejected"], stats["aborted"]) == (1, 1, 0)
    assert stats["rejections"] == {"ERR_REPLAY": 1}
    assert stats["by_key"] == {"k1": {"accepted": 1, "rejected": 1}}
    assert stats["store"] == store
