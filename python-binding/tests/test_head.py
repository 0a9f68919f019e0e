"""The request head each guard refills in place, and `Guard.verify_environ` (the WSGI adapters'
one native call): no request ever sees another's headers (after a failure midway, re-entrantly,
across threads), and the environ path reads exactly what `request_head` reads."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import hmac_guard as hg
from hmac_guard import _native
from hmac_guard._wsgi import read_and_verify, request_head

from conftest import SECRET

NOW = 1_700_000_000
HOST = [("Host", "api.example.com")]
# The signature covers X-Pad: a request without it must fail, and would pass if an earlier
# request's X-Pad (same value) were still in the head.
COMPONENTS = ["@method", "@authority", "@path", "@query", "content-digest", "x-pad"]


def make() -> tuple[hg.Guard, hg.Signer]:
    clock = hg.ManualClock(NOW)
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], clock=clock)
    return guard, hg.Signer("k1", SECRET, clock=clock)


def padded(signer: hg.Signer, pad: str = "v1", extra: int = 0) -> list[tuple[str, str]]:
    """Signed headers covering X-Pad, with X-Pad last (after `extra` unsigned headers)."""
    head = HOST + [(f"X-Extra-{i}", "e" * i) for i in range(extra)] + [("X-Pad", pad)]
    signature = signer.sign("POST", "/o", head, b"x", components=COMPONENTS)
    return HOST + signature + head[1:]


def without_pad(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k != "X-Pad"]


def test_a_shorter_request_never_sees_the_previous_requests_headers() -> None:
    guard, signer = make()
    assert guard.verify("POST", "/o", padded(signer, extra=12), b"x").component("x-pad") == "v1"
    with pytest.raises(hg.ComponentNotFoundError):
        guard.verify("POST", "/o", without_pad(padded(signer)), b"x")
    # And the buffer still works for full requests afterwards, longer and shorter.
    assert guard.verify("POST", "/o", padded(signer, extra=3), b"x").component("x-pad") == "v1"
    assert guard.verify("POST", "/o", padded(signer, extra=30), b"x").component("x-pad") == "v1"
    # More pairs than the buffer keeps between requests, then fewer again.
    assert guard.verify("POST", "/o", padded(signer, extra=300), b"x").component("x-pad") == "v1"
    with pytest.raises(hg.ComponentNotFoundError):
        guard.verify("POST", "/o", without_pad(padded(signer, extra=100)), b"x")
    assert guard.verify("POST", "/o", padded(signer, extra=70), b"x").component("x-pad") == "v1"
    v = guard.begin("POST", "/o", padded(signer))
    v.update(b"x")
    assert v.finish().component("x-pad") == "v1"
    with pytest.raises(hg.ComponentNotFoundError):
        guard.begin("POST", "/o", without_pad(padded(signer)))


@pytest.mark.parametrize(
    "bad",
    [("X-Bad", 123), ("X-Bad",), ("X-Bad", "\ud800"), ("\ud800", "v")],
    ids=["int-value", "one-tuple", "surrogate-value", "surrogate-name"],
)
def test_a_call_that_fails_midway_leaves_nothing_behind(bad: tuple[Any, ...]) -> None:
    guard, signer = make()
    assert guard.verify("POST", "/o", padded(signer, extra=12), b"x").key_id == "k1"
    half_filled = padded(signer, extra=5)
    half_filled.insert(len(half_filled) - 1, bad)  # fails just before X-Pad
    with pytest.raises((TypeError, hg.MalformedHeaderError)):
        guard.verify("POST", "/o", half_filled, b"x")
    with pytest.raises(hg.ComponentNotFoundError):
        guard.verify("POST", "/o", without_pad(padded(signer)), b"x")
    assert guard.verify("POST", "/o", padded(signer), b"x").key_id == "k1"


def test_a_header_iterable_that_verifies_again_gets_its_own_head() -> None:
    guard, signer = make()
    inner_results: list[str | None] = []

    def headers() -> Iterator[tuple[str, str]]:
        outer = padded(signer, pad="outer", extra=4)
        for i, pair in enumerate(outer):
            if i == 3:  # mid-fill: the guard's buffer is taken, the nested call must not touch it
                inner = guard.verify("POST", "/o", padded(signer, pad="inner"), b"x")
                inner_results.append(inner.component("x-pad"))
                with pytest.raises(hg.ComponentNotFoundError):
                    guard.verify("POST", "/o", without_pad(padded(signer)), b"x")
            yield pair

    assert guard.verify("POST", "/o", headers(), b"x").component("x-pad") == "outer"
    assert inner_results == ["inner"]


def test_threads_sharing_one_guard_never_mix_heads() -> None:
    guard, signer = make()
    per_thread = 150
    work = {
        t: [(f"t{t}-{i}", padded(signer, pad=f"t{t}-{i}", extra=(t * 7 + i) % 9)) for i in range(per_thread)]
        for t in range(4)
    }
    failures: list[str] = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, also mid-fill

    def worker(t: int) -> None:
        for pad, headers in work[t]:
            try:
                got = guard.verify("POST", "/o", iter(headers), b"x").component("x-pad")
                if got != pad:
                    failures.append(f"{pad}: got {got}")
                with pytest.raises(hg.ComponentNotFoundError):
                    guard.verify("POST", "/o", without_pad(headers), b"x")
            except Exception as e:  # collected, reported below
                failures.append(f"{pad}: {e!r}")

    try:
        threads = [threading.Thread(target=worker, args=(t,)) for t in work]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    finally:
        sys.setswitchinterval(old)
    assert failures == []


def test_str_arguments_are_read_without_a_copy_where_the_interpreter_allows() -> None:
    expected = sys.version_info >= (3, 10) and sys.platform.startswith(("linux", "darwin", "freebsd"))
    assert _native._str_fast_path() is expected
    # Non-ASCII text (str, or bytes taken as Latin-1) converts; covered values must be ASCII.
    guard, signer = make()
    extra = [("X-Note", "ünïcödé ✓")]
    assert guard.verify("POST", "/o", padded(signer) + extra, b"x").key_id == "k1"
    latin = [(k.encode(), v.encode()) for k, v in padded(signer)] + [(b"X-Note", "café".encode("latin-1"))]
    assert guard.verify("POST", "/o", latin, b"x").key_id == "k1"
    for pad in ("café", "café".encode("latin-1")):
        headers: list[tuple[Any, Any]] = [*without_pad(padded(signer)), ("X-Pad", pad)]
        with pytest.raises(hg.MalformedHeaderError, match="non-ASCII"):
            guard.verify("POST", "/o", headers, b"x")


# -- verify_environ ---------------------------------------------------------------------------------


def environ_for(headers: list[tuple[str, str]], body: bytes, **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/o",
        "QUERY_STRING": "",
        "RAW_URI": "/o",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    environ.update(extra)
    return environ


def test_verify_environ_reads_the_head_request_head_reads() -> None:
    guard, signer = make()
    environ = environ_for(padded(signer, extra=3), b"x", CONTENT_TYPE="", **{"HTTP_X_B": b"raw\xe9"})
    method, target, headers, url_scheme = request_head(environ)
    explained = guard.explain(method, target, headers, b"x", url_scheme=url_scheme)
    verified, body = guard.verify_environ(environ, "/o")
    assert body == b"x"
    assert verified.covered == explained.covered
    assert verified.component("x-pad") == "v1"


@pytest.mark.parametrize("chunk_size", [1, 3, 65536])
def test_verify_environ_streams_the_body_in_chunks(chunk_size: int) -> None:
    guard, signer = make()
    body = bytes(range(256)) * 3
    head = [*HOST, ("X-Pad", "v1")]
    headers = HOST + signer.sign("POST", "/o", head, body, components=COMPONENTS) + head[1:]
    reads: list[int] = []

    class Stream(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            reads.append(-1 if n is None else n)
            return super().read(n)

    environ = environ_for(headers, body, **{"wsgi.input": Stream(body)})
    verified, got = read_and_verify(guard, environ, chunk_size=chunk_size)
    assert got == body
    assert type(got) is bytes
    assert verified.body_len == len(body)
    assert max(reads) <= chunk_size
    assert sum(reads) == len(body)  # stopped at Content-Length: no read for an EOF


def test_verify_environ_body_rules() -> None:
    guard, signer = make()
    head = [*HOST, ("X-Pad", "v1")]

    def headers_for(body: bytes) -> list[tuple[str, str]]:
        return HOST + signer.sign("POST", "/o", head, body, components=COMPONENTS) + head[1:]

    # No Content-Length and no wsgi.input_terminated: the body is empty, nothing is read.
    environ = environ_for(headers_for(b""), b"never read")
    del environ["CONTENT_LENGTH"]
    verified, body = guard.verify_environ(environ, "/o")
    assert (body, verified.body_len) == (b"", 0)
    assert environ["wsgi.input"].tell() == 0
    # wsgi.input_terminated: read to EOF; bytearray chunks come back as bytes.
    environ = environ_for(headers_for(b"abc"), b"", **{"wsgi.input_terminated": True})
    del environ["CONTENT_LENGTH"]

    class ByteArrays:
        def __init__(self) -> None:
            self.left = [bytearray(b"a"), bytearray(b"bc")]

        def read(self, n: int) -> bytearray:
            return self.left.pop(0) if self.left else bytearray()

    verified, body = guard.verify_environ(environ, "/o", ByteArrays(), 2)
    assert (body, type(body)) == (b"abc", bytes)
    # Over the limit: fails once body_limit + 1 bytes were read, never more.
    small = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], clock=hg.ManualClock(NOW), body_limit=10)
    big = b"z" * 100
    environ = environ_for(headers_for(big), big)
    environ["CONTENT_LENGTH"] = "not a number"
    with pytest.raises(hg.HmacGuardError):
        small.verify_environ(environ, "/o", None, 4)
    assert environ["wsgi.input"].tell() <= 11
    # A failed header check reads nothing.
    environ = environ_for(without_pad(headers_for(b"x")), b"x")
    with pytest.raises(hg.ComponentNotFoundError):
        guard.verify_environ(environ, "/o")
    assert environ["wsgi.input"].tell() == 0
    # Wrong types are TypeErrors.
    environ = environ_for(headers_for(b"x"), b"x", HTTP_X_C=5)
    with pytest.raises(TypeError):
        guard.verify_environ(environ, "/o")
    environ = environ_for(headers_for(b"x"), b"x", REQUEST_METHOD=5)
    with pytest.raises(TypeError):
        guard.verify_environ(environ, "/o")


def test_verify_environ_accepts_any_mapping() -> None:
    guard, signer = make()

    class Environ(dict):  # type: ignore[type-arg]
        pass

    environ = Environ(environ_for(padded(signer), b"x"))
    verified, body = guard.verify_environ(environ, "/o")
    assert (verified.component("x-pad"), body) == ("v1", b"x")


def test_verify_environ_refuses_a_chunk_size_below_one() -> None:
    # read(0) would read nothing and read(-1) the whole stream before any limit check.
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}])
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
    }
    for bad in (0, -1):
        with pytest.raises(hg.ConfigError):
            guard.verify_environ(environ, "/", None, bad)
