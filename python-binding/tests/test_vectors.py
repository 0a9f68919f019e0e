"""The shared language-neutral vectors (tests/vectors/*.json) through the Python API."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import hmac_guard as hg
from hmac_guard import _native

from conftest import VECTORS, load_json


def request_cases() -> list[Any]:
    cases = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = load_json(path)
        if doc["kind"] == "request":
            cases += [pytest.param(c, id=f"{path.stem}:{c['name']}") for c in doc["cases"]]
    return cases


def cases_of(kind: str) -> list[Any]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = load_json(path)
        if doc["kind"] == kind:
            out += [pytest.param(c, id=c["name"]) for c in doc["cases"]]
    return out


# The vectors' policy names are the Python keywords, except this one.
POLICY_NAMES = {"store_per_key_quota": "per_key_quota"}


def build_guard(case: dict[str, Any]) -> hg.Guard:
    """The case's guard: its policy passed through as keywords (``trust_proxy`` included), so the
    core, not this runner, decides what each one means and what is left at its default."""
    keys = [
        {
            "id": k["id"],
            "secret": base64.b64decode(k["secret_b64"]),
            "algorithm": k["algorithm"],
            "subject": k.get("subject"),
            "not_before": k.get("not_before"),
            "not_after": k.get("not_after"),
        }
        for k in case["keys"]
    ]
    policy = {POLICY_NAMES.get(name, name): value for name, value in case.get("policy", {}).items()}
    if "trust_proxy" in case:
        policy["trust_proxy"] = case["trust_proxy"]
    return hg.Guard(scheme=case["scheme"], clock=hg.ManualClock(case["now"]), keys=keys, **policy)


def head(req: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], bytes, str]:
    """The request as given; its scheme "" (unknown) is passed as is: the core takes its default."""
    headers = [(n, v) for n, v in req["headers"]]
    return req["method"], req["target"], headers, base64.b64decode(req["body_b64"]), req["scheme"]


def run(guard: hg.Guard, req: dict[str, Any], chunk_size: int) -> hg.Verified:
    method, target, headers, body, scheme = head(req)
    if not chunk_size:
        return guard.verify(method, target, headers, body, url_scheme=scheme)
    v = guard.begin(method, target, headers, url_scheme=scheme)
    view = memoryview(body)
    for i in range(0, len(body), chunk_size):
        v.update(view[i : i + chunk_size])
    return v.finish()


@pytest.mark.parametrize("case", request_cases())
def test_request_vector(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if not expect["ok"] and expect["error"] == "ERR_INVALID_CONFIG":
        with pytest.raises(hg.ConfigError) as refused:
            build_guard(case)
        assert refused.value.code == expect["error"]
        return
    guard = build_guard(case)
    for before in case.get("before", []):
        run(guard, before, 0)
    attempts = case.get("attempts", 1)
    for _ in range(attempts - 1):
        run(guard, case["request"], case.get("chunk_size", 0))
    if expect["ok"]:
        verified = run(guard, case["request"], case.get("chunk_size", 0))
        assert verified.key_id == expect["key_id"]
        assert verified.subject == expect.get("subject")
        if "nonce" in expect:
            assert verified.nonce == expect["nonce"]
    else:
        with pytest.raises(hg.HmacGuardError) as info:
            run(guard, case["request"], case.get("chunk_size", 0))
        assert info.value.code == expect["error"], info.value.reason
        assert isinstance(info.value, hg.error_class(expect["error"]))
        assert info.value.status == hg.error_class(expect["error"]).status
    if "signature_base" in expect:
        method, target, headers, body, scheme = head(case["request"])
        ex = guard.explain(method, target, headers, body, url_scheme=scheme)
        assert ex.signature_base == expect["signature_base"]


@pytest.mark.parametrize("case", cases_of("hmac"))
def test_rfc4231_key_vectors(case: dict[str, Any]) -> None:
    guard = hg.Guard()
    key = bytes.fromhex(case["key_hex"])
    if "error" in case:
        with pytest.raises(hg.ConfigError) as info:
            guard.add_key("k", key, algorithm=case["algorithm"])
        assert info.value.code == case["error"]
        # The refusal never echoes the secret.
        assert case["key_hex"] not in str(info.value)
        assert repr(key) not in str(info.value)
    else:
        guard.add_key("k", key, algorithm=case["algorithm"])
        assert guard.key_ids() == ["k"]
        mac = _native._mac_for_vectors(case["algorithm"], key, bytes.fromhex(case["data_hex"]))
        assert mac.hex() == case["mac_hex"]


@pytest.mark.parametrize("case", cases_of("content-digest"))
def test_rfc9530_content_digest_vectors(case: dict[str, Any]) -> None:
    signer = hg.Signer("k", b"k" * 32, components=["content-digest"], digest=case["algorithm"])
    headers = signer.sign("POST", "/", [], base64.b64decode(case["body_b64"]))
    assert dict(headers)["Content-Digest"] == case["header"]


def test_every_vector_file_is_used() -> None:
    kinds = {load_json(p)["kind"] for p in Path(VECTORS).glob("*.json")}
    # kind "webhook" (webhooks.json) runs in test_webhooks.py.
    assert kinds <= {"request", "hmac", "content-digest", "webhook"}, kinds
