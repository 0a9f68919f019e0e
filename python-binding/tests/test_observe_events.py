"""The shared observability cases (tests/observe/events.json, format in tests/observe/README.md):
the event the hook receives for each scripted request and the stats snapshot after them, the same
as the Rust runner (core/tests/observe_events.rs) and the Node one."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import hmac_guard as hg
from hmac_guard import _native

from conftest import REPO, load_json

DOC = load_json(REPO / "tests" / "observe" / "events.json")
SECRET: str = DOC["secret"]
NOW: int = DOC["now"]
NAMES = dict(_native.CONFIG_FIELDS)  # canonical id -> Python name
URL = "/orders"
HEAD = [("Host", "example.com"), ("Content-Type", "application/json")]
SIGNATURE_FIELDS = ("signature", "signature-input")


def options() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for id_, v in DOC["options"].items():
        if id_ == "keys":
            v = [{NAMES[f"key.{k}"]: f.replace("$secret", SECRET) for k, f in key.items()} for key in v]
        out[NAMES[id_]] = v
    return out


def signed(key_id: str, nonce: str, created: int, body: bytes) -> list[tuple[str, str]]:
    signer = hg.Signer(key_id, SECRET)
    return HEAD + signer.sign("POST", URL, HEAD, body, created=created, nonce=nonce, url_scheme="https")


def request(send: str, nonce: str) -> tuple[list[tuple[str, str]], bytes]:
    body = b"{}"
    if send == "valid":
        return signed("k1", nonce, NOW, body), body
    if send == "tampered":
        return signed("k1", nonce, NOW, body), b"{!"
    if send == "unknown_key":
        return signed("stranger", nonce, NOW, body), body
    if send == "unsigned":
        unsigned = [(n, v) for n, v in signed("k1", nonce, NOW, body) if n.lower() not in SIGNATURE_FIELDS]
        return unsigned, body
    if send == "expired":
        return signed("k1", nonce, NOW - 1000, body), body
    if send == "too_large":
        big = b"a" * 1_048_577
        return signed("k1", nonce, NOW, big), big
    raise AssertionError(f"unknown send {send}")


def test_every_step_reports_its_event_and_the_stats_add_up() -> None:
    events: list[hg.GuardEvent] = []
    guard = hg.Guard(**options(), clock=hg.ManualClock(NOW), on_event=events.append)
    for i, step in enumerate(DOC["steps"]):
        headers, body = request(step["send"], step.get("nonce", "nonce-unsigned"))
        with contextlib.suppress(hg.HmacGuardError):
            guard.verify("POST", URL, headers, body, url_scheme="https")
        got, events[:] = list(events), []
        assert len(got) == 1, f"step {i}: {got}"
        event: dict[str, Any] = dict(got[0])
        for k, want in step["event"].items():
            assert event[k] == want, f"step {i} ({step['send']}): {k} in {event}"
        assert event["message"].startswith("hmac-guard: ")
        assert isinstance(event["duration_ms"], (int, float))
        assert isinstance(event["reason"], (str, type(None)))
        assert (event["scheme"], event["store"]) == ("rfc9421", "memory")
        assert SECRET not in json.dumps(event), f"step {i}: the secret in {event}"
    stats = guard.stats()
    for k, want in DOC["stats"].items():
        assert stats[k] == want, f"stats {k} in {stats}"
