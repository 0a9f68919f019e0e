"""Bad arguments to every public function of the native module (``_native.pyi``): a wrong type is
a ``TypeError`` naming the argument and what it must be; a lone surrogate or an int past 64 bits
is never ``UnicodeEncodeError`` or ``OverflowError`` but the core's answer — the request's method,
URL or a header: ``ERR_MALFORMED_HEADER``; an option or a key: ``ConfigError``."""

from __future__ import annotations

import io
from collections import UserList
from types import MappingProxyType
from typing import Any, Callable, cast

import pytest

import hmac_guard as hg
from hmac_guard import _native

from conftest import SECRET

NOW = 1_700_000_000
HEAD = [("Host", "api.example.com")]
LONE = "\ud800"  # a lone surrogate: not valid Unicode, cannot be UTF-8 encoded
HUGE = 2**70


def make() -> tuple[hg.Guard, hg.Signer]:
    clock = hg.ManualClock(NOW)
    return hg.Guard(keys=[{"id": "k1", "secret": SECRET}], clock=clock), hg.Signer("k1", SECRET, clock=clock)


def raises(cls: type[BaseException], call: Callable[[], object], *mentions: str) -> BaseException:
    with pytest.raises(cls) as info:
        call()
    assert not isinstance(info.value, (UnicodeError, OverflowError)), repr(info.value)
    for m in mentions:
        assert m in str(info.value), f"{info.value} does not name {m!r}"
    return info.value


def type_error(call: Callable[[], object], name: str, expected: str) -> None:
    raises(TypeError, call, f"{name} must be {expected}")


def config_error(call: Callable[[], object], *mentions: str) -> None:
    raises(hg.ConfigError, call, *mentions)


def malformed(call: Callable[[], object], name: str) -> None:
    raises(hg.MalformedHeaderError, call, name)


def test_guard_options() -> None:
    raises(TypeError, lambda: hg.Guard(5))  # type: ignore[misc]
    config_error(lambda: hg.Guard(max_age_secs=HUGE), "max_age_secs must be an integer from 1")
    config_error(lambda: hg.Guard(max_age_secs=-(10**400)), "max_age_secs")
    config_error(lambda: hg.Guard(body_limit=float("inf")), "body_limit")
    config_error(lambda: hg.Guard(scheme=LONE), "scheme is not valid Unicode")  # type: ignore[arg-type]
    config_error(lambda: hg.Guard(required_params={"created"}), "required_params must be a list")  # type: ignore[arg-type]
    config_error(lambda: hg.Guard(keys=object()), "keys must be a list")  # type: ignore[arg-type]
    late = {"id": "k1", "secret": SECRET, "not_after": HUGE}
    config_error(lambda: hg.Guard(keys=[late]), "keys[0].not_after")
    config_error(lambda: hg.Guard(clock=NOW), "clock must be a ManualClock")  # type: ignore[arg-type]
    config_error(lambda: hg.Guard(colour=1), 'unknown option "colour"')  # type: ignore[call-arg]
    looped: list[Any] = []
    looped.append(looped)
    config_error(lambda: hg.Guard(required_params=looped), "required_params")
    # Any sequence and any mapping are read as lists and dicts.
    key = MappingProxyType({"id": "k1", "secret": SECRET})
    settings = hg.Guard(keys=(key,), required_components=UserList(["@method"])).settings
    assert (settings["keys"], settings["policy.required_components"]) == (1, ["@method"])


def test_add_key_and_remove_key() -> None:
    guard, _ = make()
    config_error(lambda: guard.add_key(LONE, SECRET), "key.id is not valid Unicode")
    config_error(lambda: guard.add_key("k2", LONE * 40), "key.secret is not valid Unicode")
    config_error(lambda: guard.add_key(cast(Any, 5), SECRET), "key.id must be a string")
    config_error(lambda: guard.add_key("k2", SECRET, not_after=HUGE), "key.not_after must be an integer")
    config_error(lambda: guard.add_key("k2", SECRET, algorithm=LONE), "key.algorithm")  # type: ignore[arg-type]
    assert guard.remove_key(LONE) is False
    type_error(lambda: guard.remove_key(cast(Any, 5)), "id", "a str")
    assert guard.key_ids() == ["k1"]


@pytest.mark.parametrize("call", ["begin", "verify", "explain", "sign"])
def test_request_heads(call: str) -> None:
    guard, signer = make()
    fn = getattr(signer if call == "sign" else guard, call)
    malformed(lambda: fn(LONE, "/", HEAD), "method is not valid text")
    malformed(lambda: fn("GET", "/" + LONE, HEAD), "url is not valid text")
    malformed(lambda: fn("GET", "/", [("X-" + LONE, "v")]), "a header name is not valid text")
    malformed(lambda: fn("GET", "/", [("X-A", LONE)]), "a header value is not valid text")
    malformed(lambda: fn("GET", "/", {"X-A": LONE}), "a header value is not valid text")
    malformed(lambda: fn("GET", "/", HEAD, url_scheme=LONE), "url_scheme is not valid text")
    type_error(lambda: fn(5, "/", HEAD), "method", "a str")
    type_error(lambda: fn("GET", b"/", HEAD), "url", "a str")
    type_error(lambda: fn("GET", "/", 5), "headers", "a mapping or an iterable")
    type_error(lambda: fn("GET", "/", HEAD, url_scheme=5), "url_scheme", "a str")
    if call != "begin":
        type_error(lambda: fn("GET", "/", HEAD, 5), "body", "bytes, bytearray or memoryview")


def test_signer() -> None:
    config_error(lambda: hg.Signer(LONE, SECRET), "key.id is not valid Unicode")
    config_error(lambda: hg.Signer("k1", LONE * 40), "key.secret is not valid Unicode")
    config_error(lambda: hg.Signer("k1", SECRET, algorithm="md5"), "key.algorithm")  # type: ignore[arg-type]
    for name in ("label", "tag"):
        config_error(lambda n=name: hg.Signer("k1", SECRET, **{n: LONE}), f"{name} is not valid Unicode")
        type_error(lambda n=name: hg.Signer("k1", SECRET, **{n: 5}), name, "a str")
    config_error(lambda: hg.Signer("k1", SECRET, components=[LONE]), "components is not valid Unicode")
    type_error(lambda: hg.Signer("k1", SECRET, components="@method"), "components", "a list of str")
    config_error(lambda: hg.Signer("k1", SECRET, scheme="hg1"), "scheme must be one of rfc9421, simple")  # type: ignore[arg-type]
    config_error(lambda: hg.Signer("k1", SECRET, digest=LONE), "digest is not valid Unicode")  # type: ignore[arg-type]
    config_error(lambda: hg.Signer("k1", SECRET, expires_in=HUGE), "expires_in must be an integer")
    config_error(lambda: hg.Signer("k1", SECRET, expires_in=-1), "expires_in must be an integer from 0")
    type_error(lambda: hg.Signer("k1", SECRET, expires_in=cast(Any, "60")), "expires_in", "an int")
    type_error(lambda: hg.Signer("k1", SECRET, include_alg=cast(Any, "yes")), "include_alg", "a bool")
    type_error(lambda: hg.Signer("k1", SECRET, clock=cast(Any, NOW)), "clock", "a ManualClock")
    signer = hg.Signer("k1", SECRET)
    config_error(lambda: signer.sign("GET", "/", HEAD, created=HUGE), "created must be an integer")
    type_error(lambda: signer.sign("GET", "/", HEAD, created=cast(Any, "now")), "created", "an int")
    config_error(lambda: signer.sign("GET", "/", HEAD, nonce=LONE), "nonce is not valid Unicode")
    config_error(lambda: signer.sign("GET", "/", HEAD, components=[LONE]), "components is not valid Unicode")


def test_manual_clock() -> None:
    for call in (lambda: hg.ManualClock(HUGE), lambda: hg.ManualClock(NOW).set(-HUGE)):
        config_error(call, "now must be an integer")
    clock = hg.ManualClock(NOW)
    for secs in (HUGE, 10**400, float("nan"), float("-inf")):
        config_error(lambda s=secs: clock.advance(s), "secs must be a number")
    type_error(lambda: hg.ManualClock(cast(Any, "now")), "now", "an int")
    type_error(lambda: clock.advance(cast(Any, "1")), "secs", "a number")
    clock.advance(1.5)
    assert clock.now() == NOW + 1


def test_streaming_and_results() -> None:
    guard, signer = make()
    verification = guard.begin("GET", "/", HEAD + signer.sign("GET", "/", HEAD))
    type_error(lambda: verification.update(cast(Any, "text")), "data", "bytes, bytearray or memoryview")
    verified = verification.finish()
    assert verified.component(LONE) is None
    type_error(lambda: verified.component(cast(Any, 5)), "id", "a str")


def test_verify_environ() -> None:
    guard, _ = make()

    def environ(**extra: Any) -> dict[str, Any]:
        return {"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(b""), **extra}

    malformed(lambda: guard.verify_environ(environ(REQUEST_METHOD=LONE), "/"), "method is not valid text")
    malformed(lambda: guard.verify_environ(environ(), "/" + LONE), "url is not valid text")
    malformed(lambda: guard.verify_environ(environ(**{"HTTP_X_" + LONE: "v"}), "/"), "a header name")
    malformed(lambda: guard.verify_environ(environ(HTTP_X_A=LONE), "/"), "a header value is not valid text")
    # A variable that is not a header is not read, whatever its name.
    raises(hg.MissingSignatureError, lambda: guard.verify_environ(environ(**{"X_" + LONE: "v"}), "/"))
    config_error(lambda: guard.verify_environ(environ(), "/", None, HUGE), "chunk_size must be an integer")
    config_error(lambda: guard.verify_environ(environ(), "/", None, 0), "chunk_size")
    type_error(lambda: guard.verify_environ(environ(), "/", None, cast(Any, "64")), "chunk_size", "an int")
    type_error(lambda: guard.verify_environ(environ(), cast(Any, 5)), "url", "a str")


def test_module_functions() -> None:
    raises(ValueError, lambda: _native.run_cli(["sign", "\udcff"]), "argv[1] is not valid UTF-8")
    type_error(lambda: _native.run_cli(cast(Any, [5])), "argv[0]", "a str")
    config_error(lambda: _native._mac_for_vectors("hmac-sha256", LONE, b""), "key.secret is not valid")
    assert ("policy.max_age_secs", "max_age_secs") in _native.CONFIG_FIELDS
