"""The Python API of the native module: errors, streaming, keys, signer, explain, threads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import hmac_guard as hg
from hmac_guard import _native
from hmac_guard.client import RequestsAuth

from conftest import OTHER_SECRET, SECRET

NOW = 1_700_000_000
HOST = [("Host", "api.example.com"), ("Content-Type", "application/json")]


def make(
    scheme: str = "rfc9421", clock: hg.ManualClock | None = None, **kwargs: Any
) -> tuple[hg.Guard, hg.Signer, hg.ManualClock]:
    clock = clock or hg.ManualClock(NOW)
    keys = [{"id": "k1", "secret": SECRET, "subject": "user:alice"}]
    guard = hg.Guard(scheme=scheme, keys=keys, clock=clock, **kwargs)
    return guard, hg.Signer("k1", SECRET, scheme=scheme, clock=clock), clock


def signed(signer: hg.Signer, body: bytes = b'{"a":1}', method: str = "POST", url: str = "/orders?id=7"):
    return method, url, HOST + signer.sign(method, url, HOST, body), body


# -- errors ---------------------------------------------------------------------------------------


def test_every_error_code_maps_to_a_class_with_that_code(error_codes: list[dict[str, Any]]) -> None:
    for entry in error_codes:
        cls = hg.error_class(entry["code"])
        assert cls is not hg.HmacGuardError, entry["code"]
        assert issubclass(cls, hg.HmacGuardError)
        assert cls.code == entry["code"]
        assert cls.status == entry["status"]
        assert cls.message == entry["message"]
        exc = cls("detail")
        assert exc.code == entry["code"]
        assert exc.status == entry["status"]
        assert exc.to_dict() == {"error": {"code": entry["code"], "message": entry["message"]}}


def test_error_codes_json_matches_the_native_module(error_codes: list[dict[str, Any]]) -> None:
    assert [(e["code"], e["status"], e["message"]) for e in error_codes] == list(hg.ERROR_CODES)


def test_error_hierarchy_categories() -> None:
    assert issubclass(hg.SignatureMismatchError, hg.SignatureError)
    assert issubclass(hg.DigestMismatchError, hg.SignatureError)
    assert issubclass(hg.ReplayError, hg.AuthenticationError)
    assert issubclass(hg.TimestampExpiredError, hg.ExpiredError)
    assert issubclass(hg.BodyTooLargeError, hg.TooLargeError)
    assert issubclass(hg.MalformedSignatureError, hg.MalformedError)
    assert issubclass(hg.ReplayStoreFullError, hg.StoreUnavailableError)
    assert issubclass(hg.ReplayStoreUnavailableError, hg.StoreUnavailableError)
    assert issubclass(hg.InvalidStateError, hg.InternalError)
    assert hg.ConfigError.code == "ERR_INVALID_CONFIG"
    for cls in (hg.MalformedError, hg.AuthenticationError, hg.TooLargeError, hg.StoreUnavailableError):
        assert issubclass(cls, hg.HmacGuardError)


def test_a_rust_panic_surfaces_as_internal_error() -> None:
    with pytest.raises(hg.InternalError) as info:
        _native._panic_for_tests()
    assert info.value.code == "ERR_INTERNAL"
    assert info.value.status == 500


def test_wrong_argument_types_are_type_errors_not_crashes() -> None:
    guard, _, _ = make()
    with pytest.raises(TypeError):
        guard.verify("POST", "/", HOST, 123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        guard.verify("POST", "/", [("a",)])  # type: ignore[list-item]


def test_secrets_never_appear_in_repr_or_errors() -> None:
    guard, signer, _ = make()
    text = repr(guard) + repr(signer) + str(guard) + repr(RequestsAuth(signer))
    assert SECRET.decode() not in text
    assert "k1" in repr(guard)
    with pytest.raises(hg.ConfigError) as info:
        hg.Guard(keys=[{"id": "k", "secret": b"tooshort-secret"}])
    assert "tooshort" not in str(info.value)
    assert "tooshort" not in repr(info.value)
    with pytest.raises(hg.ConfigError):
        hg.Guard(keys=[{"id": "k", "secret": SECRET, "not_afterr": 1}])


def test_bad_config_is_config_error() -> None:
    with pytest.raises(hg.ConfigError):
        hg.Guard(scheme="nope")  # type: ignore[arg-type]
    with pytest.raises(hg.ConfigError):
        hg.Guard(scheme="simple", required_tag="x")
    with pytest.raises(hg.ConfigError):
        hg.Guard(required_params=["bogus"])
    with pytest.raises(hg.ConfigError):
        hg.Guard(replay="sometimes")  # type: ignore[arg-type]
    with pytest.raises(hg.ConfigError):
        hg.Signer("k", SECRET, algorithm="md5")  # type: ignore[arg-type]
    with pytest.raises(hg.ConfigError, match="max_age_secs"):
        hg.Guard(max_age_secs=-1)
    with pytest.raises(hg.ConfigError, match="body_limit"):
        hg.Guard(body_limit=-5)
    with pytest.raises(hg.ConfigError):
        hg.Guard(max_age_secs=0)


def test_options_are_the_cores_and_settings_show_the_effect() -> None:
    settings = hg.Guard().settings
    assert settings["policy.max_age_secs"] == 300
    assert settings["default_url_scheme"] == "https"
    assert (settings["store"], settings["keys"], settings["clock"]) == ("memory", 0, "system")
    interop = hg.Guard(profile="interop", max_nonce_len=64, max_components=8, trust_proxy=True).settings
    assert interop["policy.require_nonce"] is False
    assert (interop["policy.max_nonce_len"], interop["policy.max_components"]) == (64, 8)
    assert interop["policy.trust_proxy"] is True
    # None is the same as leaving an option out.
    assert hg.Guard(max_age_secs=None, scheme=None).settings == settings
    with pytest.raises(hg.ConfigError) as info:
        hg.Guard(max_age_sec=60)  # type: ignore[call-arg]
    assert info.value.reason == 'unknown option "max_age_sec" (did you mean "max_age_secs"?)'
    with pytest.raises(hg.ConfigError, match="redis_tls_ca_pem"):
        hg.Guard(redis_tls_ca_pem=b"")  # type: ignore[call-arg]  # now redis_tls_ca


def test_an_unknown_url_scheme_is_the_cores_default_and_a_trusted_proxy_names_it() -> None:
    components = ["@method", "@scheme", "@authority", "@path", "@query"]
    clock = hg.ManualClock(NOW)
    signer = hg.Signer("k1", SECRET, components=components, clock=clock)

    def request(scheme: str | None, extra: list[tuple[str, str]] = []) -> tuple[str, str, Any]:  # noqa: B006
        return "GET", "/p", HOST + extra + signer.sign("GET", "/p", HOST, url_scheme=scheme)

    guard, _, _ = make(clock=clock)
    assert guard.verify(*request("https")).component("@scheme") == "https"  # None: the core's https
    assert guard.verify(*request(None), url_scheme="https").component("@scheme") == "https"
    with pytest.raises(hg.SignatureMismatchError):
        guard.verify(*request("http"))
    assert guard.verify(*request("http"), url_scheme="http").component("@scheme") == "http"
    # Behind a trusted proxy, its X-Forwarded-Proto decides; without trust_proxy it is ignored.
    proxied = request("http", [("X-Forwarded-Proto", "http")])
    with pytest.raises(hg.SignatureMismatchError):
        make(clock=clock)[0].verify(*proxied)
    trusting, _, _ = make(clock=clock, trust_proxy=True)
    assert trusting.verify(*proxied).component("@scheme") == "http"


# -- verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["rfc9421", "simple"])
def test_one_shot_verify_and_replay(scheme: str) -> None:
    guard, signer, _ = make(scheme)
    method, url, headers, body = signed(signer)
    v = guard.verify(method, url, headers, body)
    assert (v.key_id, v.subject, v.scheme, v.body_len) == ("k1", "user:alice", scheme, len(body))
    assert v.created == NOW
    assert v.nonce
    assert v.covered
    with pytest.raises(hg.ReplayError) as info:
        guard.verify(method, url, headers, body)
    assert (info.value.code, info.value.status) == ("ERR_REPLAY", 401)


@pytest.mark.parametrize("scheme", ["rfc9421", "simple"])
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"body": b'{"a":2}'}, "ERR_DIGEST_MISMATCH"),
        ({"url": "/orders?id=8"}, "ERR_SIGNATURE_MISMATCH"),
        ({"url": "/other?id=7"}, "ERR_SIGNATURE_MISMATCH"),
        ({"method": "PUT"}, "ERR_SIGNATURE_MISMATCH"),
    ],
)
def test_tampering_is_rejected(scheme: str, change: dict[str, Any], code: str) -> None:
    guard, signer, _ = make(scheme)
    method, url, headers, body = signed(signer)
    args = {"method": method, "url": url, "headers": headers, "body": body, **change}
    if scheme == "simple" and "body" in change:
        code = "ERR_DIGEST_MISMATCH"
    with pytest.raises(hg.HmacGuardError) as info:
        guard.verify(args["method"], args["url"], args["headers"], args["body"])
    assert info.value.code == code


def test_window_expired_future_and_unknown_key() -> None:
    guard, signer, clock = make()
    method, url, headers, body = signed(signer)
    clock.advance(301)
    with pytest.raises(hg.TimestampExpiredError):
        guard.verify(method, url, headers, body)
    clock.set(NOW - 31)
    with pytest.raises(hg.TimestampInFutureError):
        guard.verify(method, url, headers, body)
    clock.set(NOW)
    other = hg.Signer("k2", OTHER_SECRET, clock=clock)
    with pytest.raises(hg.UnknownKeyError):
        guard.verify(*signed(other))
    wrong = hg.Signer("k1", OTHER_SECRET, clock=clock)
    with pytest.raises(hg.SignatureMismatchError):
        guard.verify(*signed(wrong))


def test_streaming_accepts_all_buffer_types_and_refuses_reuse() -> None:
    guard, signer, _ = make()
    body = bytes(range(256)) * 40  # 10 KiB of non-UTF-8 bytes
    method, url, headers, _ = signed(signer, body)
    v = guard.begin(method, url, headers)
    v.update(body[:100])
    v.update(bytearray(body[100:5000]))
    v.update(memoryview(body)[5000:])
    assert v.bytes_seen == len(body)
    result = v.finish()
    assert result.body_len == len(body)
    assert v.finished
    with pytest.raises(hg.InvalidStateError):
        v.finish()
    with pytest.raises(hg.InvalidStateError):
        v.update(b"x")


def test_streaming_fails_as_soon_as_the_limit_is_crossed() -> None:
    guard, signer, _ = make(body_limit=1000)
    body = b"x" * 5000
    method, url, headers, _ = signed(signer, body)
    # No Content-Length: the limit is enforced on the bytes seen.
    v = guard.begin(method, url, headers)
    v.update(body[:1000])
    with pytest.raises(hg.BodyTooLargeError) as info:
        v.update(body[1000:1001])
    assert info.value.status == 413
    # A declared Content-Length over the limit fails before any byte.
    with pytest.raises(hg.BodyTooLargeError):
        guard.begin(method, url, [*headers, ("Content-Length", "5000")])


def test_headers_as_mapping_bytes_and_pairs() -> None:
    guard, signer, _ = make()
    method, url, headers, body = signed(signer)
    as_bytes = [(k.encode(), v.encode()) for k, v in headers]
    assert guard.verify(method, url, as_bytes, body).key_id == "k1"
    method, url, headers, body = signed(signer)
    assert guard.verify(method, url, dict(headers), body).key_id == "k1"


def test_key_rotation_at_runtime() -> None:
    guard, _, clock = make()
    guard.add_key("k2", OTHER_SECRET, algorithm="hmac-sha512", subject="user:bob", not_after=NOW + 10)
    assert guard.key_ids() == ["k1", "k2"]
    s2 = hg.Signer("k2", OTHER_SECRET, algorithm="hmac-sha512", clock=clock)
    assert guard.verify(*signed(s2)).subject == "user:bob"
    clock.advance(10)
    with pytest.raises(hg.KeyExpiredError):
        guard.verify(*signed(s2))
    assert guard.remove_key("k2")
    assert not guard.remove_key("k2")
    with pytest.raises(hg.UnknownKeyError):
        guard.verify(*signed(s2))


def test_reserve_mode_commit_and_release() -> None:
    guard, signer, _ = make(replay="reserve", reserve_hold_secs=60)
    request = signed(signer)
    ticket = guard.verify(*request).replay_ticket
    assert ticket is not None
    with pytest.raises(hg.ReplayError):
        guard.verify(*request)
    ticket.release()
    ticket = guard.verify(*request).replay_ticket  # the retry is accepted after a release
    assert ticket is not None
    ticket.commit()
    with pytest.raises(hg.ReplayError):
        guard.verify(*request)


def test_store_full_fails_closed_with_503() -> None:
    guard, signer, _ = make(store_capacity=16, per_key_quota=2)
    guard.verify(*signed(signer))
    guard.verify(*signed(signer))
    with pytest.raises(hg.ReplayStoreFullError) as info:
        guard.verify(*signed(signer))
    assert info.value.status == 503


def test_explain_reports_without_claiming_or_leaking() -> None:
    guard, signer, _ = make()
    method, url, headers, body = signed(signer)
    ex = guard.explain(method, url, headers, b"tampered")
    assert not ex.ok
    assert ex.error_code == "ERR_DIGEST_MISMATCH"
    assert ex.signature_base is not None
    assert ex.signature_base.startswith('"@method": POST')
    assert ("signature", "pass", None) in ex.checks
    assert "ERR_DIGEST_MISMATCH" in str(ex)
    signature = dict(headers)["Signature"].split(":")[1]
    assert signature not in str(ex)
    ok = guard.explain(method, url, headers, body)
    assert ok.ok
    guard.verify(method, url, headers, body)  # explain claimed no nonce


def test_signer_simple_headers_and_fixed_values() -> None:
    signer = hg.Signer("k1", SECRET, scheme="simple")
    headers = dict(
        signer.sign("GET", "https://api.example.com/a?b=1", None, None, created=NOW, nonce="abcdefgh12")
    )
    assert headers["x-hmac-timestamp"] == str(NOW)
    assert headers["x-hmac-nonce"] == "abcdefgh12"
    assert len(headers["x-hmac-signature"]) == 64
    again = dict(signer.sign("GET", "/a?b=1", None, b"", created=NOW, nonce="abcdefgh12"))
    assert again == headers


# -- threads --------------------------------------------------------------------------------------


def test_four_threads_same_verdicts() -> None:
    _, signer, _ = make(body_limit=1 << 20)
    body = b"z" * 4096
    good = [signed(signer, body) for _ in range(200)]
    bad = [(m, u, h, body + b"!") for (m, u, h, _) in (signed(signer, body) for _ in range(200))]
    expected = ["ok"] * 200 + ["ERR_DIGEST_MISMATCH"] * 200
    results: dict[int, list[str]] = {}

    def worker(i: int) -> None:
        g2, _, _ = make(body_limit=1 << 20)  # a fresh guard per thread: same verdicts, no replay
        out = []
        for request in good + bad:
            try:
                g2.verify(*request)
                out.append("ok")
            except hg.HmacGuardError as e:
                out.append(e.code)
        results[i] = out

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 4
    assert all(r == expected for r in results.values())


def test_hashing_releases_the_gil_and_threads_overlap() -> None:
    guard, signer, _ = make(body_limit=1 << 30)
    chunk = b"q" * (8 << 20)
    chunks_per_thread = 6
    body = chunk * chunks_per_thread
    requests_ = [signed(signer, body) for _ in range(4)]
    intervals: list[tuple[float, float]] = []
    lock = threading.Lock()
    ticks = 0
    stop = threading.Event()

    def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    def worker(request: tuple[str, str, list[tuple[str, str]], bytes]) -> None:
        method, url, headers, _ = request
        v = guard.begin(method, url, headers)
        for _ in range(chunks_per_thread):
            start = time.perf_counter()
            v.update(chunk)  # >= 2 KiB: hashed without the GIL
            end = time.perf_counter()
            with lock:
                intervals.append((start, end))
        v.finish()

    t = threading.Thread(target=ticker)
    t.start()
    before = ticks
    workers = [threading.Thread(target=worker, args=(r,)) for r in requests_]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    stop.set()
    t.join()
    assert len(intervals) == 4 * chunks_per_thread
    # Another Python thread kept running while chunks were hashed...
    assert ticks - before > 100
    # ...and hashing calls from different threads overlapped in time.
    intervals.sort()
    overlaps = sum(1 for (s1, e1), (s2, _) in zip(intervals, intervals[1:]) if s2 < e1)
    assert overlaps > 0


def test_sign_with_base_is_the_base_explain_reports() -> None:
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}])
    head = [("Host", "api.example.com"), ("Content-Type", "application/json")]
    body = b'{"amount": 10}'
    headers, base = hg.Signer("k1", SECRET).sign_with_base(
        "POST", "/orders?id=7", head, body, url_scheme="https"
    )
    explained = guard.explain("POST", "/orders?id=7", head + headers, body, url_scheme="https")
    assert explained.ok, str(explained)
    assert base == explained.signature_base
    assert (
        dict(headers).keys() == dict(hg.Signer("k1", SECRET).sign("POST", "/orders?id=7", head, body)).keys()
    )

    simple = hg.Signer("k1", SECRET, scheme="simple")
    headers, base = simple.sign_with_base("PUT", "/p?q=1", [], body)
    explained = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], scheme="simple").explain(
        "PUT", "/p?q=1", headers, body
    )
    assert explained.ok, str(explained)
    assert base == explained.signature_base


def test_guard_accept_signature_maps_codes_only() -> None:
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], required_tag="app")
    fields = '("@method" "@authority" "@path" "@query"{});created;nonce;keyid;tag="app"'
    assert guard.accept_signature("ERR_SIGNATURE_MISMATCH", False) == "sig1=" + fields.format("")
    assert guard.accept_signature("ERR_MISSING_SIGNATURE", True) == "sig1=" + fields.format(
        ' "content-digest"'
    )
    assert guard.accept_signature("ERR_MALFORMED_SIGNATURE", True) is None
    assert guard.accept_signature("ERR_NOT_A_CODE", True) is None
    assert (
        hg.Guard(keys=[{"id": "k1", "secret": SECRET}], scheme="simple").accept_signature("ERR_REPLAY", False)
        is None
    )
