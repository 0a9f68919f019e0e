"""The observability surface in one process: the hook (any callable that is not a class), log
records with their ``hmac_*`` fields and levels, ``logger=False`` and a custom logger, a raising
hook, ``metrics()`` / ``metric_families()`` / ``stats()``, refusals an adapter reports
(``Guard.refused``, ``Verification.refuse``), abandoned verifications, fail-open uses, and a
guard whose hook refers to it being garbage collected."""

from __future__ import annotations

import functools
import gc
import logging
import socket
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import hmac_guard as hg

from common import SECRET

KEYS = [{"id": "k1", "secret": SECRET}]
HEAD = [("Host", "api.example.com")]
BODY = b'{"n": 1}'
SIGNER = hg.Signer("k1", SECRET)


def signed(body: bytes = BODY) -> tuple[str, str, list[tuple[str, str]], bytes]:
    return "POST", "/orders", HEAD + SIGNER.sign("POST", "/orders", HEAD, body), body


def tampered() -> tuple[str, str, list[tuple[str, str]], bytes]:
    method, url, headers, _ = signed()
    return method, url, headers, b'{"n": 2}'


def rejected(guard: hg.Guard, request: tuple[str, str, list[tuple[str, str]], bytes]) -> str:
    with pytest.raises(hg.HmacGuardError) as info:
        guard.verify(*request)
    return info.value.code


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    """What the ``hmac_guard`` logger emits (DEBUG and up, not propagated)."""
    logger = logging.getLogger("hmac_guard")
    handler, level, propagate = Records(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def test_log_records_carry_the_event_fields_at_the_mapped_level(records: Records) -> None:
    events: list[hg.GuardEvent] = []
    guard = hg.Guard(keys=KEYS, on_event=events.append, report_accepted=True, log_level="debug")
    assert guard.logger_choice == "default"
    guard.verify(*signed())
    assert rejected(guard, tampered()) == "ERR_DIGEST_MISMATCH"
    guard.refused("ERR_INVALID_STATE", "the body was consumed first")
    assert [e["level"] for e in events] == ["debug", "info", "warn"]
    levels = [r.levelno for r in records.records]
    assert levels == [logging.DEBUG, logging.INFO, logging.WARNING]
    for event, record in zip(events, records.records):
        assert record.getMessage() == event["message"]
        assert record.name == "hmac_guard"
        for field in ("type", "outcome", "code", "status", "scheme", "key_id", "duration_ms", "store"):
            assert getattr(record, f"hmac_{field}") == event[field], field  # type: ignore[literal-required]
        assert (record.hmac_reason, record.hmac_suppressed) == (event["reason"], event["suppressed"])
    assert records.records[1].hmac_code == "ERR_DIGEST_MISMATCH"
    assert records.records[1].hmac_status == 401
    assert records.records[2].hmac_key_id is None


def test_only_events_the_core_marks_log_are_logged(records: Records) -> None:
    events: list[hg.GuardEvent] = []
    guard = hg.Guard(keys=KEYS, on_event=events.append, report_accepted=True)  # log_level info
    guard.verify(*signed())
    rejected(guard, ("POST", "/orders", HEAD, BODY))  # unsigned: debug
    rejected(guard, tampered())
    assert [(e["level"], e["log"]) for e in events] == [("debug", False), ("debug", False), ("info", True)]
    assert [r.hmac_code for r in records.records] == ["ERR_DIGEST_MISMATCH"]


def test_logger_false_logs_nothing_and_a_custom_logger_gets_the_records(records: Records) -> None:
    events: list[hg.GuardEvent] = []
    off = hg.Guard(keys=KEYS, logger=False, on_event=events.append)
    assert off.logger_choice == "off"
    rejected(off, tampered())
    assert len(events) == 1
    assert records.records == []
    assert hg.Guard(logger=False).logger_choice == "off"  # no hook, no logger: nothing to deliver
    mine = logging.getLogger("test_observe_api.custom")
    handler = Records()
    mine.addHandler(handler)
    mine.setLevel(logging.DEBUG)
    mine.propagate = False
    try:
        custom = hg.Guard(keys=KEYS, logger=mine)
        assert custom.logger_choice == "custom"
        rejected(custom, tampered())
        adapter = hg.Guard(keys=KEYS, logger=logging.LoggerAdapter(mine, {"app": "x"}))
        rejected(adapter, tampered())
    finally:
        mine.removeHandler(handler)
    assert [r.getMessage()[:40] for r in handler.records] == ["hmac-guard: rejected ERR_DIGEST_MISMATCH"] * 2
    assert handler.records[0].hmac_code == "ERR_DIGEST_MISMATCH"
    assert handler.records[1].app == "x"  # the adapter's process() sets the extra fields (3.13: merge_extra)
    assert records.records == []


def test_a_raising_hook_never_breaks_a_request_and_is_logged_once(records: Records) -> None:
    calls: list[str] = []

    def hook(event: hg.GuardEvent) -> None:
        calls.append(event["outcome"])
        raise RuntimeError("hook bug")

    guard = hg.Guard(keys=KEYS, on_event=hook, report_accepted=True)
    assert guard.verify(*signed()).key_id == "k1"
    assert rejected(guard, tampered()) == "ERR_DIGEST_MISMATCH"
    assert guard.verify(*signed()).key_id == "k1"
    assert calls == ["accepted", "rejected", "accepted"]
    errors = [r for r in records.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "on_event hook raised" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is RuntimeError
    # The rejection is still logged after the hook failed.
    assert [r.hmac_code for r in records.records if r.levelno == logging.INFO] == ["ERR_DIGEST_MISMATCH"]


def test_with_logging_off_a_raising_hook_is_unraisable_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def hook(event: hg.GuardEvent) -> None:
        raise RuntimeError("hook bug")

    guard = hg.Guard(keys=KEYS, on_event=hook, logger=False)
    assert rejected(guard, tampered()) == "ERR_DIGEST_MISMATCH"
    assert rejected(guard, tampered()) == "ERR_DIGEST_MISMATCH"
    assert len(unraisable) == 1
    assert unraisable[0].exc_type is RuntimeError


class CallableHook:
    def __init__(self) -> None:
        self.events: list[hg.GuardEvent] = []

    def __call__(self, event: hg.GuardEvent) -> None:
        self.events.append(event)


def test_any_callable_that_is_not_a_class_is_a_hook() -> None:
    seen: list[hg.GuardEvent] = []
    instance = CallableHook()
    hooks: list[Any] = [seen.append, instance, functools.partial(seen.append), lambda e: seen.append(e)]
    for hook in hooks:
        guard = hg.Guard(keys=KEYS, on_event=hook, logger=False)
        assert guard.settings["observe.on_event"] is True
        rejected(guard, tampered())
    assert len(seen) + len(instance.events) == len(hooks)
    for not_a_hook in (CallableHook, "print", 42):
        with pytest.raises(hg.ConfigError, match="on_event must be a function, not "):
            hg.Guard(on_event=not_a_hook)
    with pytest.raises(hg.ConfigError, match="logger must be a logger object or false"):
        hg.Guard(logger=True)  # type: ignore[arg-type]


def test_metrics_text_and_families_agree_with_stats() -> None:
    guard = hg.Guard(keys=KEYS, logger=False)
    guard.verify(*signed())
    rejected(guard, tampered())
    stats = guard.stats()
    assert (stats["accepted"], stats["rejected"], stats["aborted"]) == (1, 1, 0)
    assert stats["rejections"] == {"ERR_DIGEST_MISMATCH": 1}
    assert stats["by_key"] == {"k1": {"accepted": 1, "rejected": 1}}
    assert stats["duration"]["count"] == 2
    families = {f["name"]: f for f in guard.metric_families()}
    outcomes = {
        s["labels"]["outcome"]: s["value"] for s in families["hmac_guard_verifications_total"]["samples"]
    }
    assert outcomes == {"accepted": 1, "rejected": 1, "aborted": 0}
    assert families["hmac_guard_verifications_total"]["type"] == "counter"
    text = guard.metrics({"guard": "api"})
    assert 'hmac_guard_rejections_total{guard="api",code="ERR_DIGEST_MISMATCH",status="401"} 1' in text
    assert 'hmac_guard_keys{guard="api"} 1' in guard.metrics({"guard": "api"})
    assert "hmac_guard_keys 1" in guard.metrics()
    for bad in ({"le": "x"}, {"0x": "y"}, {"__a": "b"}):
        with pytest.raises(hg.ConfigError, match="label name"):
            guard.metrics(bad)
    with pytest.raises(TypeError, match="labels must be"):
        guard.metrics(["guard"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labels must be a str"):
        guard.metrics({"guard": 1})  # type: ignore[dict-item]


def test_refusals_an_adapter_reports_are_counted_as_those_rejections() -> None:
    events: list[hg.GuardEvent] = []
    guard = hg.Guard(keys=KEYS, on_event=events.append, logger=False)
    guard.refused("ERR_INVALID_STATE", "the body was read before hmac-guard verified it")
    method, url, headers, body = signed()
    verification = guard.begin(method, url, headers)
    verification.update(body[:3])
    verification.refuse("ERR_BAD_FRAMING", "the request body could not be read (InvalidChunkSize)")
    assert verification.finished
    with pytest.raises(hg.InvalidStateError):
        verification.refuse("ERR_BAD_FRAMING", "again")
    with pytest.raises(ValueError, match="error code"):
        guard.refused("ERR_NOPE", "x")
    with pytest.raises(TypeError, match="code must be a str"):
        guard.refused(400, "x")  # type: ignore[arg-type]
    stats = guard.stats()
    assert stats["rejections"] == {"ERR_BAD_FRAMING": 1, "ERR_INVALID_STATE": 1}
    assert (stats["rejected"], stats["aborted"]) == (2, 0)
    assert stats["by_key"] == {"k1": {"accepted": 0, "rejected": 1}}
    assert [(e["code"], e["status"], e["level"], e["key_id"]) for e in events] == [
        ("ERR_INVALID_STATE", 500, "warn", None),
        ("ERR_BAD_FRAMING", 400, "info", "k1"),
    ]


def test_a_verification_dropped_unfinished_is_aborted() -> None:
    events: list[hg.GuardEvent] = []
    guard = hg.Guard(keys=KEYS, on_event=events.append, logger=False)
    method, url, headers, body = signed()
    verification = guard.begin(method, url, headers)
    verification.update(body[:3])
    del verification
    gc.collect()
    assert guard.stats()["aborted"] == 1
    assert [(e["outcome"], e["level"], e["code"]) for e in events] == [("aborted", "debug", None)]


def test_fail_open_uses_are_counted_and_reported(records: Records) -> None:
    with socket.socket() as black_hole:  # accepts connections, never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(16)
        url = f"redis://127.0.0.1:{black_hole.getsockname()[1]}/0"
        events: list[hg.GuardEvent] = []
        guard = hg.Guard(
            keys=KEYS, redis_url=url, redis_timeout_ms=200, redis_fail_open=True, on_event=events.append
        )
        assert guard.verify(*signed()).key_id == "k1"
        assert guard.verify(*signed()).key_id == "k1"
    assert guard.fail_open_uses == 2
    assert [(e["type"], e["outcome"], e["level"]) for e in events] == [
        ("store", "failing_open", "warn"),
        ("fail_open", "accepted", "warn"),
        ("fail_open", "accepted", "warn"),
    ]
    store = guard.stats()["replay_store"]
    assert (store["state"], store["fail_open_uses"], store["state_changes"]) == ("failing", 2, 1)
    assert isinstance(store["failing_since_ms"], int)
    warnings = [r.getMessage() for r in records.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "WITHOUT replay protection" in warnings[0]


def test_a_guard_whose_hook_refers_to_it_is_collected() -> None:
    class Hook:
        guard: hg.Guard | None = None

        def __call__(self, event: hg.GuardEvent) -> None:
            pass

    hook = Hook()
    hook.guard = hg.Guard(keys=KEYS, on_event=hook)  # guard -> hook -> guard
    gone = weakref.finalize(hook, lambda: None)
    del hook
    gc.collect()
    assert not gone.alive
