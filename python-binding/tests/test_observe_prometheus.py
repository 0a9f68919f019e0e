"""Prometheus from a real Flask app under gunicorn: ``/metrics`` served by prometheus_client
(``generate_latest`` of a registry holding a ``GuardCollector``) and the core's own text
(``guard.metrics(labels)``), both scraped over HTTP, parsed with prometheus_client's parser and
matched against ``guard.stats()``; several guards in one collector, labelled by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import hmac_guard as hg
from hmac_guard.prometheus import GuardCollector

from common import KEYS, SECRET
from observing import events, fetch, fetch_text, flask_server, post, signed
from servers import Server

pytestmark = pytest.mark.timeout(120)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[Server, Path]]:
    with flask_server() as s:
        yield s


def parsed(text: str, drop: str | None = None) -> tuple[dict[str, str], Samples]:
    """Family name -> type, and every sample by (name, labels) without the label ``drop``."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            labels = frozenset((k, v) for k, v in s.labels.items() if k != drop)
            samples[(s.name, labels)] = s.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_metrics_scraped_over_http_match_the_stats(app: tuple[Server, Path]) -> None:
    server, _ = app
    valid = signed(server)
    assert post(server, valid) == 200
    assert post(server, valid) == 401  # replay
    assert post(server, signed(server, signer=hg.Signer("stranger", SECRET))) == 401
    assert post(server, signed(server), b'{"amount": 11}') == 401
    assert len(events(server)) == 4

    types, scraped = parsed(fetch_text(server, "/metrics"))
    core_types, core = parsed(fetch_text(server, "/_test/metrics-text"), drop="service")
    stats: dict[str, Any] = fetch(server, "/_test/stats")

    # The two exports agree sample for sample, and the core's carries the extra label everywhere.
    assert core == scraped
    assert types == core_types
    assert all(
        ("service", "orders") in labels for _, labels in parsed(fetch_text(server, "/_test/metrics-text"))[1]
    )
    assert types["hmac_guard_verifications"] == "counter"
    assert types["hmac_guard_verification_duration_seconds"] == "histogram"

    for outcome in ("accepted", "rejected", "aborted"):
        assert value(scraped, "hmac_guard_verifications_total", outcome=outcome) == stats[outcome]
    rejections = {
        dict(labels)["code"]: (v, dict(labels)["status"])
        for (name, labels), v in scraped.items()
        if name == "hmac_guard_rejections_total"
    }
    assert {code: n for code, (n, _) in rejections.items()} == stats["rejections"]
    assert rejections["ERR_UNKNOWN_KEY"][1] == "401"
    for key_id, counts in stats["by_key"].items():
        for outcome in ("accepted", "rejected"):
            got = value(scraped, "hmac_guard_key_verifications_total", key_id=key_id, outcome=outcome)
            assert got == counts[outcome]
    duration = stats["duration"]
    assert value(scraped, "hmac_guard_verification_duration_seconds_count") == duration["count"] == 4
    total = value(scraped, "hmac_guard_verification_duration_seconds_sum")
    assert total == pytest.approx(duration["sum_seconds"])
    buckets = {
        float(dict(labels)["le"]): v
        for (name, labels), v in scraped.items()
        if name == "hmac_guard_verification_duration_seconds_bucket"
    }
    assert buckets == {**{float(le): n for le, n in duration["buckets"]}, float("inf"): 4}
    assert value(scraped, "hmac_guard_info", scheme="rfc9421", store="memory") == 1
    assert value(scraped, "hmac_guard_keys") == stats["keys"] == 1
    assert value(scraped, "hmac_guard_replay_store_up") == 1
    assert value(scraped, "hmac_guard_replay_store_failing_since_seconds") == 0
    store = stats["replay_store"]
    assert value(scraped, "hmac_guard_replay_store_errors_total") == store["failures"] == 0
    assert value(scraped, "hmac_guard_replay_store_fail_open_total") == store["fail_open_uses"] == 0
    assert value(scraped, "hmac_guard_replay_store_state_changes_total") == store["state_changes"] == 0


def test_one_collector_for_several_guards_labels_each_by_name() -> None:
    api, hooks = hg.Guard(keys=KEYS, logger=False), hg.Guard(keys=KEYS, logger=False, scheme="simple")
    registry = CollectorRegistry()
    registry.register(GuardCollector({"api": api, "webhooks": hooks}))
    head = [("Host", "api.example.com")]
    api.verify("POST", "/x", head + hg.Signer("k1", SECRET).sign("POST", "/x", head, b"{}"), b"{}")
    _, samples = parsed(generate_latest(registry).decode())
    assert value(samples, "hmac_guard_verifications_total", guard="api", outcome="accepted") == 1
    assert value(samples, "hmac_guard_verifications_total", guard="webhooks", outcome="accepted") == 0
    assert value(samples, "hmac_guard_info", guard="webhooks", scheme="simple", store="memory") == 1
    single = CollectorRegistry()
    single.register(GuardCollector(api))
    _, alone = parsed(generate_latest(single).decode())
    assert value(alone, "hmac_guard_verifications_total", outcome="accepted") == 1
