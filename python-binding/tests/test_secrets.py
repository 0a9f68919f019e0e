"""A secret put in the wrong field never comes back: for a key (``keys=[...]``, ``add_key``) and
for ``Signer``, every pair of string fields is swapped (so the secret lands in each other field),
and neither the error (``str``, ``repr``, ``.reason``, the formatted traceback) nor, when the
call succeeds, the ``repr`` of the guard, its settings or the signer shows it."""

from __future__ import annotations

import itertools
import json
import traceback
from typing import Any, Callable

import pytest

import hmac_guard as hg
from hmac_guard.client import RequestsAuth

SECRET = "s3cr3t-0123456789abcdef-0123456789abcdef"  # test-only key material, 40 printable bytes
KEY = {"id": "k1", "secret": SECRET, "algorithm": "hmac-sha256", "subject": "user:alice"}
SIGNER = {
    "key_id": "k1",
    "secret": SECRET,
    "algorithm": "hmac-sha256",
    "scheme": "rfc9421",
    "label": "sig1",
    "tag": "app",
    "digest": "sha-256",
}
HEAD = [("Host", "api.example.com")]


def swapped(fields: dict[str, str]) -> list[Any]:
    out = []
    for a, b in itertools.combinations(fields, 2):
        case = dict(fields)
        case[a], case[b] = fields[b], fields[a]
        out.append(pytest.param(case, id=f"{a}<->{b}"))
    return out


def hidden(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, "the secret leaked"


def refused_or_hidden(call: Callable[[], Any]) -> Any:
    """Runs ``call``; an error must not show the secret. Returns the result, or None."""
    try:
        return call()
    except Exception as exc:  # any error: a ConfigError, a TypeError from an argument
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        hidden(str(exc), repr(exc), getattr(exc, "reason", ""), trace)
        return None


def guard_hidden(guard: hg.Guard) -> None:
    hidden(repr(guard), str(guard), json.dumps(guard.settings))


@pytest.mark.parametrize("key", swapped(KEY))
def test_a_key_with_swapped_fields_never_shows_the_secret(key: dict[str, str]) -> None:
    guard = refused_or_hidden(lambda: hg.Guard(keys=[key]))
    if guard is not None:
        guard_hidden(guard)
    other = hg.Guard()
    fields = {k: v for k, v in key.items() if k not in ("id", "secret")}
    refused_or_hidden(lambda: other.add_key(key["id"], key["secret"], **fields))
    guard_hidden(other)


@pytest.mark.parametrize("args", swapped(SIGNER))
def test_signer_arguments_swapped_never_show_the_secret(args: dict[str, Any]) -> None:
    options = {k: v for k, v in args.items() if k not in ("key_id", "secret")}
    signer = refused_or_hidden(lambda: hg.Signer(args["key_id"], args["secret"], **options))
    if signer is None:
        return
    hidden(repr(signer), str(signer), repr(RequestsAuth(signer)))
    headers = refused_or_hidden(lambda: signer.sign("POST", "/orders", HEAD, b"{}"))
    if headers is not None:
        hidden(*(value for name, value in headers if name != "Signature"))


def test_the_swaps_reach_the_checks() -> None:
    # Moving the secret out of `secret` leaves a short one there: refused, naming the field only.
    with pytest.raises(hg.ConfigError) as info:
        hg.Guard(keys=[{**KEY, "id": SECRET, "secret": "k1"}])
    assert info.value.reason.startswith("keys[0].secret must be at least 32 bytes"), info.value.reason
    with pytest.raises(hg.ConfigError) as info:
        hg.Signer("k1", SECRET, algorithm=SECRET)  # type: ignore[arg-type]
    assert info.value.reason.startswith("key.algorithm must be one of"), info.value.reason
