"""A secret put in the wrong field never comes back: for a key (``keys=[...]``, ``add_key``) and
for ``Signer``, every pair of string fields is swapped (so the secret lands in each other field),
and neither the error (``str``, ``repr``, ``.reason``, the formatted traceback) nor, when the
call succeeds, the ``repr`` of the guard, its settings or the signer shows it. Neither the secret
nor the MAC the server expects appears in a hook's event, a log record (its message and every
attribute), the stats or the metrics."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import logging
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


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def mac_forms(headers: list[tuple[str, str]]) -> list[str]:
    """Every encoding of the MAC in a signature header (RFC 9421 ``sig1=:b64:``, simple hex)."""
    (value,) = [v for n, v in headers if n.lower() in ("signature", "x-hmac-signature")]
    mac = base64.b64decode(value.split(":")[1]) if ":" in value else bytes.fromhex(value)
    b64 = base64.b64encode(mac).decode()
    return [
        b64,
        b64.rstrip("="),
        base64.urlsafe_b64encode(mac).decode().rstrip("="),
        mac.hex(),
        mac.hex().upper(),
    ]


@pytest.mark.parametrize("scheme", ["rfc9421", "simple"])
def test_events_log_records_stats_and_metrics_never_show_the_secret_or_the_expected_mac(scheme: str) -> None:
    now = 1_800_000_000
    events: list[hg.GuardEvent] = []
    handler = Records()
    logger = logging.getLogger(f"test_secrets.{scheme}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    options: dict[str, Any] = {"report_accepted": True, "log_level": "debug", "log_rate": 1000}
    guard = hg.Guard(
        keys=[KEY], scheme=scheme, clock=hg.ManualClock(now), on_event=events.append, logger=logger, **options
    )
    right = hg.Signer("k1", SECRET, scheme=scheme)
    wrong = hg.Signer("k1", "w" * 40, scheme=scheme)
    fixed = {"created": now, "nonce": "nonce-for-the-secrets-test"}
    macs = mac_forms(right.sign("POST", "/orders", HEAD, b"{}", **fixed))
    sent = [
        (wrong.sign("POST", "/orders", HEAD, b"{}", **fixed), b"{}"),  # the server expects `macs`
        (right.sign("POST", "/orders", HEAD, b"{}", created=now, nonce="nonce-valid-0001"), b"{}"),
        (right.sign("POST", "/orders", HEAD, b"{}", created=now, nonce="nonce-valid-0001"), b"{}"),  # replay
        (right.sign("POST", "/orders", HEAD, b"{}", created=now, nonce="nonce-tampered-01"), b"{!"),
    ]
    for headers, body in sent:
        refused_or_hidden(functools.partial(guard.verify, "POST", "/orders", HEAD + headers, body))
    abandoned = guard.begin("POST", "/orders", HEAD + right.sign("POST", "/orders", HEAD, b"{}", created=now))
    del abandoned
    logger.removeHandler(handler)
    assert [e["outcome"] for e in events] == ["rejected", "accepted", "rejected", "rejected", "aborted"]
    assert len(handler.records) == len(events)
    texts = [
        json.dumps(events),
        json.dumps(guard.stats()),
        guard.metrics(),
        json.dumps(guard.metric_families()),
    ]
    texts += [handler.format(r) + json.dumps(vars(r), default=str) for r in handler.records]
    hidden(*texts)
    for text in texts:
        for mac in macs:
            assert mac not in text, "the expected MAC leaked"


PRESETS = ["standard-webhooks", "svix", "stripe", "github", "slack", "shopify"]
WHSEC = "whsec_" + base64.b64encode(SECRET.encode()).decode()  # a Standard Webhooks form of SECRET


def _refused_or_hidden(secret: str, call: Callable[[], Any]) -> Any:
    """``refused_or_hidden`` for ``secret`` as given (a ``whsec_`` form) and the key it holds."""
    try:
        return call()
    except Exception as exc:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        for text in (str(exc), repr(exc), getattr(exc, "reason", ""), trace):
            assert secret not in text, "the secret leaked"
            assert SECRET not in text, "the key leaked"
        return None


@pytest.mark.parametrize("preset", PRESETS)
def test_webhook_secrets_never_come_back(preset: str) -> None:
    secret = WHSEC if preset in ("standard-webhooks", "svix") else SECRET
    # The secret in every wrong place: refused without being shown.
    for options in (
        {"scheme": secret, "secrets": [secret]},
        {"scheme": preset, "secrets": [secret], "tolerance_secs": secret},
        {"scheme": preset, "secrets": [secret], "dedupe_secs": secret},
        {"scheme": preset, "secrets": [secret, secret[:7]]},
        {"scheme": preset, "secrets": {"secret": secret}},
        {"scheme": preset, "secrets": [secret] * 9},
    ):
        assert _refused_or_hidden(secret, lambda o=options: hg.Guard(**o)) is None, options
    for call in (
        lambda: hg.sign_webhook(secret, secret=secret, body=b""),  # type: ignore[arg-type]
        lambda: hg.sign_webhook(preset, secret=secret[:7], body=b""),
        lambda: hg.sign_webhook(preset, secret=secret, secrets=[secret], body=b""),
        lambda: hg.sign_webhook(preset, secret=secret, body=secret),  # type: ignore[arg-type]
    ):
        assert _refused_or_hidden(secret, call) is None
    # Accepted: nothing the guard, its events or its answers show holds the secret or the MAC.
    events: list[Any] = []
    guard = hg.Guard(scheme=preset, secrets=[secret], expose_reasons=True, on_event=events.append)
    _refused_or_hidden(secret, lambda: guard.rotate_secrets([secret, secret[:5]]))
    body = b'{"id": "evt_1", "event_id": "Ev1", "type": "t"}'
    signed = hg.sign_webhook(preset, secret=secret, body=body)
    wrong = hg.sign_webhook(
        preset,
        secret=secret[::-1] if preset not in ("standard-webhooks", "svix") else WHSEC[:-4] + "AAA=",
        body=body,
    )
    try:
        guard.verify("POST", "/hook", list(wrong.headers.items()), body)
    except hg.HmacGuardError as exc:
        refusal = guard.refusal(exc, True, True)
        for text in (str(exc), repr(exc), refusal.body.decode(), repr(refusal)):
            assert secret not in text
            assert SECRET not in text
        for value in signed.headers.values():
            assert value not in refusal.body.decode()
    verified = guard.verify("POST", "/hook", list(signed.headers.items()), body)
    texts = [
        repr(guard),
        json.dumps(guard.settings),
        json.dumps(guard.stats()),
        guard.metrics(),
        repr(signed),
    ]
    texts += [repr(verified), repr(verified.webhook), repr(events)]
    assert all(secret not in t and SECRET not in t for t in texts)
