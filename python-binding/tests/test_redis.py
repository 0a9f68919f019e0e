"""The Redis replay store from Python: a real redis-server on 127.0.0.1 (started and stopped here),
shared by two guards, by 4 gunicorn workers and by uvicorn; outage -> 503 and recovery; the GIL
is released during the round trip. A missing redis-server binary is a failure, not a skip
(`make redis-server` installs one)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hmac_guard as hg

from common import SECRET
from redis_server import Redis
from servers import Server, free_port, gunicorn_argv, request, serve, uvicorn_argv

pytestmark = pytest.mark.timeout(180)

HEAD = [("Host", "api.example.com")]


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    r = Redis()
    r.start()
    try:
        yield r
    finally:
        r.stop()


def prefix() -> str:
    return f"hg-test-{uuid.uuid4().hex[:8]}"


def signed(body: bytes = b'{"n": 1}', **kw: Any) -> tuple[str, str, list[tuple[str, str]], bytes]:
    return (
        "POST",
        "/orders?id=7",
        HEAD + hg.Signer("k1", SECRET).sign("POST", "/orders?id=7", HEAD, body, **kw),
        body,
    )


def guard(redis: Redis, pfx: str, **kw: Any) -> hg.Guard:
    return hg.Guard(keys=[{"id": "k1", "secret": SECRET}], redis_url=redis.url, redis_prefix=pfx, **kw)


def test_two_guards_share_one_redis_and_keys_expire(redis: Redis) -> None:
    pfx = prefix()
    g1, g2 = guard(redis, pfx), guard(redis, pfx)
    assert (g1.store, "redis:" in repr(g1)) == ("redis", False)  # the URL never shows
    request_ = signed()
    assert g1.verify(*request_).key_id == "k1"
    with pytest.raises(hg.ReplayError):
        g2.verify(*request_)  # another "process" sees the nonce
    # The nonce's key, and the data-loss watch's two (`:epoch`, `:seq`: no TTL, not nonces).
    all_keys = redis.command("KEYS", f"{pfx}:*")
    watch = [f"{pfx}:epoch", f"{pfx}:seq"]
    assert sorted(k for k in all_keys if k in watch) == watch
    keys = [k for k in all_keys if k not in watch]
    assert len(keys) == 1
    assert "nonce" not in keys[0]
    ttl = redis.command("PTTL", keys[0])
    assert 0 < ttl <= 332_000  # the timestamp window (300 s back + 30 s skew), no longer


def test_hmac_guard_redis_url_selects_redis_unless_the_argument_says_otherwise(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMAC_GUARD_REDIS_URL", redis.url)
    keys = [{"id": "k1", "secret": SECRET}]
    from_env = hg.Guard(keys=keys, redis_prefix=prefix())
    assert from_env.store == "redis"
    request_ = signed()
    from_env.verify(*request_)
    with pytest.raises(hg.ReplayError):
        from_env.verify(*request_)
    assert hg.Guard(keys=keys, redis_url="").store == "memory"  # explicitly this process only
    monkeypatch.setenv("HMAC_GUARD_REDIS_URL", "")
    assert hg.Guard(keys=keys).store == "memory"
    monkeypatch.setitem(os.environb, b"HMAC_GUARD_REDIS_URL", b"redis://\xff")  # set, but unreadable
    with pytest.raises(hg.ConfigError, match="not valid UTF-8"):
        hg.Guard(keys=keys)


def test_reserve_mode_release_and_commit_with_redis(redis: Redis) -> None:
    pfx = prefix()
    g1, g2 = guard(redis, pfx, replay="reserve", reserve_hold_secs=30), guard(redis, pfx, replay="reserve")
    request_ = signed()
    ticket = g1.verify(*request_).replay_ticket
    assert ticket is not None
    with pytest.raises(hg.ReplayError):
        g2.verify(*request_)  # a concurrent duplicate during the reservation
    ticket.release()  # the handler failed
    retry = g2.verify(*request_).replay_ticket  # the provider's retry is accepted
    assert retry is not None
    retry.commit()
    with pytest.raises(hg.ReplayError):
        g1.verify(*request_)


def test_unreachable_redis_fails_closed_without_holding_the_gil() -> None:
    with socket.socket() as black_hole:  # accepts connections, never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        url = f"redis://127.0.0.1:{black_hole.getsockname()[1]}/0"
        g = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], redis_url=url, redis_timeout_ms=400)
        outcome: list[BaseException] = []
        ticks = 0

        def verify() -> None:
            try:
                g.verify(*signed())
            except BaseException as e:
                outcome.append(e)

        t = threading.Thread(target=verify)
        start = time.monotonic()
        t.start()
        while t.is_alive():
            ticks += 1  # Python keeps running while the round trip waits
            time.sleep(0.001)
        elapsed = time.monotonic() - start
        assert len(outcome) == 1
        assert isinstance(outcome[0], hg.StoreUnavailableError)
        assert outcome[0].code == "ERR_REPLAY_STORE_UNAVAILABLE"
        assert outcome[0].status == 503
        assert elapsed < 5
        assert ticks > 50
        # Fail-open is an explicit choice: the request is accepted without replay protection.
        g_open = hg.Guard(
            keys=[{"id": "k1", "secret": SECRET}], redis_url=url, redis_timeout_ms=200, redis_fail_open=True
        )
        assert g_open.verify(*signed()).key_id == "k1"


def _server_signed(server: Server, body: bytes) -> list[tuple[str, str]]:
    head = [("Host", server.host), ("Content-Type", "application/json")]
    return head + hg.Signer("k1", SECRET).sign("POST", "/echo?x=1", head, body)


def _copies(server: Server, n: int) -> list[int]:
    body = b'{"amount": 10}'
    headers = _server_signed(server, body)
    barrier = threading.Barrier(n, timeout=30)

    def fire(_: int) -> int:
        barrier.wait()
        return request(server, "POST", "/echo?x=1", headers, body, timeout=30)[0]

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fire, range(n)))


@pytest.fixture
def redis_env(redis: Redis) -> dict[str, str]:
    return {"HMAC_GUARD_TEST_REDIS_URL": redis.url, "HMAC_GUARD_TEST_REDIS_PREFIX": prefix()}


def test_gunicorn_4_workers_200_concurrent_copies_exactly_one(redis_env: dict[str, str]) -> None:
    port = free_port()
    argv = gunicorn_argv(port, 4, "flask_app:app", "--backlog", "512", "--log-level", "warning")
    with serve("gunicorn-redis", argv, port, env=redis_env) as s:
        statuses = _copies(s, 200)
        with ThreadPoolExecutor(40) as pool:
            pids = set(pool.map(lambda _: request(s, "GET", "/health", [])[2], range(200)))
    assert len(pids) > 1  # the copies really spread over several worker processes
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 401}


def test_uvicorn_with_redis_never_blocks_the_loop_and_one_copy_wins(redis_env: dict[str, str]) -> None:
    port = free_port()
    argv = uvicorn_argv(port)
    with serve("uvicorn-redis", argv, port, env=redis_env) as s:
        statuses = _copies(s, 100)
    assert statuses.count(200) == 1, statuses


def test_redis_outage_503_then_recovery_without_restart(redis: Redis, redis_env: dict[str, str]) -> None:
    port = free_port()
    argv = gunicorn_argv(port, 2, "flask_app:app", "--log-level", "warning")
    with serve("gunicorn-redis-outage", argv, port, env=redis_env) as s:
        body = b'{"amount": 10}'
        assert request(s, "POST", "/echo?x=1", _server_signed(s, body), body)[0] == 200
        redis.stop()
        try:
            start = time.monotonic()
            status, _, data = request(s, "POST", "/echo?x=1", _server_signed(s, body), body)
            assert status == 503
            assert b"ERR_REPLAY_STORE_UNAVAILABLE" in data
            assert time.monotonic() - start < 5
        finally:
            redis.start()
        for _ in range(50):  # reconnects by itself
            if request(s, "POST", "/echo?x=1", _server_signed(s, body), body)[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no recovery after Redis came back")
        assert hashlib.sha256(body).hexdigest()
