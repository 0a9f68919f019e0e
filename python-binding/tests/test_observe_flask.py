"""Observability of a real Flask app under gunicorn (one worker): a scripted mix of requests —
valid, tampered, unknown key, replay, expired, too large, unsigned, wrong key, a body read before
the adapter, a framing error written as raw bytes — is counted, reported to the hook and logged
with the core's levels and ``hmac_*`` fields; a burst of rejections logs ``log_rate`` lines, then
one carrying the suppressed count; no secret or expected MAC anywhere."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hmac_guard as hg

from common import OBSERVE_LOG_RATE as LOG_RATE
from common import SECRET
from observing import BODY, events, fetch, fetch_text, flask_server, log_lines, post, signed
from servers import Server, raw_exchange

pytestmark = pytest.mark.timeout(120)

LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARNING"}
FIELDS = (
    "type",
    "outcome",
    "code",
    "status",
    "scheme",
    "key_id",
    "duration_ms",
    "store",
    "reason",
    "suppressed",
)
WRONG = hg.Signer("k1", b"W" * 32)


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[Server, Path]]:
    with flask_server() as s:
        yield s


def expected_macs(server: Server) -> tuple[list[tuple[str, str]], list[str]]:
    """A request signed with the wrong secret, and every form of the MAC the server expects for
    it (the right key's signature over the same base)."""
    fixed = {"created": int(time.time()), "nonce": "fixed-nonce-for-the-mac-check"}
    wrong = signed(server, signer=WRONG, **fixed)
    right = dict(signed(server, **fixed))["Signature"]
    mac = base64.b64decode(re.search(r":([A-Za-z0-9+/=]+):", right).group(1))  # type: ignore[union-attr]
    return wrong, [base64.b64encode(mac).decode(), mac.hex(), base64.urlsafe_b64encode(mac).decode()]


def bad_chunk_size(server: Server) -> int:
    headers = [*signed(server), ("Transfer-Encoding", "chunked")]
    lines = ["POST /echo HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    status, _ = raw_exchange(server, head, [b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"])
    return status


# (what is sent, status, code, level, key id) for each request of the mix, in order.
MIX: list[tuple[str, int, str | None, str, str | None]] = [
    ("valid", 200, None, "debug", "k1"),
    ("tampered", 401, "ERR_DIGEST_MISMATCH", "info", "k1"),
    ("unknown_key", 401, "ERR_UNKNOWN_KEY", "info", None),
    ("replay", 401, "ERR_REPLAY", "info", "k1"),
    ("expired", 401, "ERR_TIMESTAMP_EXPIRED", "info", "k1"),
    ("too_large", 413, "ERR_BODY_TOO_LARGE", "info", "k1"),
    ("unsigned", 401, "ERR_MISSING_SIGNATURE", "debug", None),
    ("wrong_key", 401, "ERR_SIGNATURE_MISMATCH", "info", "k1"),
    ("consumed", 500, "ERR_INVALID_STATE", "warn", None),
    ("framing", 400, "ERR_BAD_FRAMING", "info", "k1"),
]


def send(server: Server, what: str, state: dict[str, Any]) -> int:
    if what == "valid":
        state["valid"] = signed(server)
        return post(server, state["valid"])
    if what == "tampered":
        return post(server, signed(server), b'{"amount": 99}')
    if what == "unknown_key":
        return post(server, signed(server, signer=hg.Signer("stranger", SECRET)))
    if what == "replay":
        return post(server, state["valid"])
    if what == "expired":
        return post(server, signed(server, created=int(time.time()) - 1000))
    if what == "too_large":
        big = b"x" * 2048
        return post(server, signed(server, big), big)
    if what == "unsigned":
        return post(server, [("Host", server.host), ("Content-Type", "application/json")])
    if what == "wrong_key":
        return post(server, state["wrong"])
    if what == "consumed":
        return post(server, signed(server, path="/read-first"), path="/read-first")
    if what == "framing":
        return bad_chunk_size(server)
    raise AssertionError(what)


def test_a_scripted_mix_is_counted_reported_and_logged(app: tuple[Server, Path]) -> None:
    server, log = app
    state: dict[str, Any] = {}
    state["wrong"], macs = expected_macs(server)
    before, lines_before = len(events(server)), len(log_lines(log))
    for what, status, *_ in MIX:
        assert send(server, what, state) == status, what
    got = events(server)[before:]
    assert [(e["outcome"], e["code"], e["level"], e["key_id"]) for e in got] == [
        ("accepted" if code is None else "rejected", code, level, key) for _, _, code, level, key in MIX
    ]
    for event, (_, status, code, _, _) in zip(got, MIX):
        assert event["type"] == "verification"
        assert event["status"] == (None if code is None else status)
        assert (event["scheme"], event["store"]) == ("rfc9421", "memory")
        assert isinstance(event["duration_ms"], (int, float))
        assert event["message"].startswith("hmac-guard: ")
    assert "the request body was read before hmac-guard verified it" in got[8]["reason"]
    assert "InvalidChunkSize" in got[9]["reason"]

    # The log: exactly the events the core marked `log` (level threshold and rate limit), in order.
    lines = log_lines(log)[lines_before:]
    logged = [e for e in got if e["log"]]
    assert [(line["level"], line["message"]) for line in lines] == [
        (LEVELS[e["level"]], e["message"]) for e in logged
    ]
    for line, event in zip(lines, logged):
        for field in (
            "type",
            "outcome",
            "code",
            "status",
            "scheme",
            "key_id",
            "store",
            "reason",
            "suppressed",
        ):
            assert line[f"hmac_{field}"] == event[field], field
        assert line["hmac_duration_ms"] == event["duration_ms"]
    assert not any(e["log"] for e in got if e["level"] == "debug")  # log_level is info
    assert any(line["level"] == "WARNING" and line["hmac_code"] == "ERR_INVALID_STATE" for line in lines)

    stats = fetch(server, "/_test/stats")
    assert (stats["accepted"], stats["rejected"], stats["aborted"]) == (1, 9, 0)
    assert stats["rejections"] == {code: 1 for _, _, code, _, _ in MIX if code}
    assert stats["by_key"] == {"k1": {"accepted": 1, "rejected": 6}}
    assert stats["duration"]["count"] == 10
    assert (stats["keys"], stats["store"], stats["replay_store"]["state"]) == (1, "memory", "ok")

    everything = [json.dumps(got), log.read_text(encoding="utf-8"), json.dumps(stats)]
    everything += [fetch_text(server, "/metrics"), fetch_text(server, "/_test/metrics-text")]
    for text in everything:
        assert SECRET.decode() not in text, "the secret leaked"
        for mac in macs:
            assert mac not in text, "the expected MAC leaked"


def test_a_burst_logs_log_rate_lines_then_one_with_the_suppressed_count(app: tuple[Server, Path]) -> None:
    server, log = app
    burst = LOG_RATE + 4
    time.sleep(1.1)  # the rate limit's window is a real second (the core's monotonic clock)
    before, lines_before = len(events(server)), len(log_lines(log))
    start = time.monotonic()
    for _ in range(burst):
        assert post(server, signed(server, signer=hg.Signer("stranger", SECRET))) == 401
    assert time.monotonic() - start < 1.0, "the burst took longer than the rate limit's window"
    got = events(server)[before:]
    assert [e["log"] for e in got] == [True] * LOG_RATE + [False] * (burst - LOG_RATE)
    lines = log_lines(log)[lines_before:]
    assert [line["level"] for line in lines] == ["INFO"] * LOG_RATE
    assert all(line["hmac_code"] == "ERR_UNKNOWN_KEY" for line in lines)

    time.sleep(1.1)
    assert post(server, signed(server, signer=hg.Signer("stranger", SECRET))) == 401
    (after,) = log_lines(log)[lines_before + LOG_RATE :]
    suppressed = burst - LOG_RATE
    assert (after["level"], after["hmac_suppressed"]) == ("INFO", suppressed)
    assert after["message"].endswith(f"[{suppressed} similar lines suppressed]")
    assert events(server)[-1]["suppressed"] == suppressed
