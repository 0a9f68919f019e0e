"""A Redis outage as an operator sees it, from a real Flask app under gunicorn and a real
redis-server that is stopped and started again: 503s, exactly one WARNING line when the store
stops answering and one when it answers again, the store's state in the stats and the metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from observing import events, fetch, fetch_text, flask_server, log_lines, post, redis_env, signed
from redis_server import Redis
from servers import Server

pytestmark = pytest.mark.timeout(120)

OUTAGE_REQUESTS = 5


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    r = Redis()
    r.start()
    try:
        yield r
    finally:
        r.stop()


def gauges(server: Server) -> dict[str, float]:
    text = fetch_text(server, "/metrics")
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def test_an_outage_logs_one_warning_when_redis_fails_and_one_when_it_answers_again(redis: Redis) -> None:
    env = redis_env(redis.url)
    with flask_server(env) as (server, log):
        assert post(server, signed(server)) == 200
        redis.stop()
        try:
            statuses = [post(server, signed(server)) for _ in range(OUTAGE_REQUESTS)]
            during = fetch(server, "/_test/stats")["replay_store"]
            down = gauges(server)
        finally:
            redis.start()
        for _ in range(100):  # the client reconnects by itself
            if post(server, signed(server)) == 200:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no recovery after Redis came back")
        after = fetch(server, "/_test/stats")["replay_store"]
        up = gauges(server)
        got = events(server)
        lines = log_lines(log)

    assert statuses == [503] * OUTAGE_REQUESTS
    assert during["state"] == "failing"
    assert isinstance(during["failing_since_ms"], int)
    assert during["failures"] >= OUTAGE_REQUESTS
    assert (during["state_changes"], after["state"], after["state_changes"]) == (1, "ok", 2)
    assert after["failing_since_ms"] is None
    assert (down["hmac_guard_replay_store_up"], up["hmac_guard_replay_store_up"]) == (0, 1)
    assert down["hmac_guard_replay_store_failing_since_seconds"] == pytest.approx(
        during["failing_since_ms"] / 1000
    )

    store_events = [(e["outcome"], e["level"], e["store"]) for e in got if e["type"] == "store"]
    # The restarted redis-server is empty (no persistence): the claims made before it are gone,
    # and the guard says so once (core/src/store/redis_loss.rs).
    assert store_events == [("failing", "warn", "redis"), ("ok", "warn", "redis"), ("lost", "warn", "redis")]
    lost = [line for line in lines if "replay store redis lost claims" in line["message"]]
    assert len(lost) == 1, lost
    assert after["data_losses"] == 1
    failing = [line for line in lines if "replay store redis is failing" in line["message"]]
    assert len(failing) == 1, failing
    assert (failing[0]["level"], failing[0]["hmac_type"], failing[0]["hmac_outcome"]) == (
        "WARNING",
        "store",
        "failing",
    )
    assert "refused with 503 ERR_REPLAY_STORE_UNAVAILABLE" in failing[0]["message"]
    again = [line for line in lines if "answers again" in line["message"]]
    assert len(again) == 1, again
    assert (again[0]["level"], again[0]["hmac_outcome"]) == ("WARNING", "ok")
    assert lines.index(failing[0]) < lines.index(again[0])
    # The refused requests themselves are warn events too (5xx), rate limited like any other.
    refused = [e for e in got if e["code"] == "ERR_REPLAY_STORE_UNAVAILABLE"]
    assert len(refused) >= OUTAGE_REQUESTS
    assert {e["level"] for e in refused} == {"warn"}
    assert all(
        line["level"] == "WARNING" for line in lines if line["hmac_code"] == "ERR_REPLAY_STORE_UNAVAILABLE"
    )
