"""The configuration parity suite (tests/parity/config.json) through ``Guard(**options)``: every
case the core (core/tests/parity.rs) and the Node binding run, with the same verdict. Options are
given by canonical id and spelled here from the core's own table (``CONFIG_FIELDS``); ``raw``
cases are passed as written for Python."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import pytest

import hmac_guard as hg
from hmac_guard import _native

from conftest import REPO, load_json

DOC = load_json(REPO / "tests" / "parity" / "config.json")
SECRET: str = DOC["secret"]
NAMES = dict(_native.CONFIG_FIELDS)  # canonical id -> Python name
ENV_VARS = ("HMAC_GUARD_REDIS_URL", "HMAC_GUARD_REDIS_TLS_CA_FILE")


def value(v: Any) -> Any:
    """A case's JSON value as Python hands it over (``$``-objects encode what JSON cannot say)."""
    if isinstance(v, str):
        return v.replace("$secret", SECRET)
    if isinstance(v, list):
        return [value(i) for i in v]
    if not isinstance(v, dict):
        return v
    kind = v.get("$")
    if kind is None:
        return {k: value(i) for k, i in v.items()}
    encoded: dict[str, Any] = {
        "infinity": lambda: float("inf"),
        "nan": lambda: float("nan"),
        "int": lambda: int(v["value"]),
        "lone-surrogate": lambda: "\ud800",
        "bytes": lambda: bytes.fromhex(v["hex"]),
        "clock": lambda: hg.ManualClock(v["at"]),
        "function": lambda: lambda event: None,
        "logger": lambda: logging.getLogger("hmac_guard.parity"),
    }
    return encoded[kind]()


def spelled_options(options: dict[str, Any]) -> dict[str, Any]:
    """Canonical options (``policy.max_age_secs``, keys with canonical field names) as keywords."""
    out = {}
    for id_, v in options.items():
        if id_ == "keys" and isinstance(v, list):
            v = [{NAMES[f"key.{k}"]: f for k, f in k_.items()} if isinstance(k_, dict) else k_ for k_ in v]
        out[NAMES[id_]] = value(v)
    return out


def spelled_path(path: str) -> str:
    """A field path of a case (``keys[0].not_after``, ``policy.body_limit``) as Python writes it."""
    keys, sep, rest = path.partition("].")
    if sep:
        return f"{keys}].{NAMES[f'key.{rest}']}"
    return path if path.startswith("keys[") else NAMES[path]


def case_params() -> list[Any]:
    return [pytest.param(c, id=c["name"]) for c in DOC["cases"]]


def test_the_suite_is_complete() -> None:
    assert len(DOC["cases"]) >= 90
    assert len({c["name"] for c in DOC["cases"]}) == len(DOC["cases"])


@pytest.mark.parametrize("case", case_params())
def test_config_case(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:  # only the case's own environment, as the core's runner gives it
        monkeypatch.delenv(name, raising=False)
    for name, v in case.get("env", {}).items():
        monkeypatch.setenv(name, v)
    options = value(case["raw"]["python"]) if "raw" in case else spelled_options(case["options"])
    if "error" in case:
        mentions = [spelled_path(case["error"])]
    else:
        mentions = case.get("error_mentions", {}).get("python", [])
    if not mentions:
        guard = hg.Guard(**options)
        settings = guard.settings
        for k, want in case["settings"].items():
            assert settings[k] == want, f"setting {k}"
        assert SECRET not in repr(guard) + json.dumps(settings)
        return
    with pytest.raises(hg.ConfigError) as info:
        hg.Guard(**options)
    exc = info.value
    assert (exc.code, exc.status) == ("ERR_INVALID_CONFIG", 500)
    for m in mentions:
        assert m in exc.reason, f"{exc.reason!r} does not name {m!r}"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for text in (str(exc), repr(exc), exc.reason, trace):
        assert SECRET not in text, "the secret leaked"
