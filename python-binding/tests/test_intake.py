"""Request intake against real servers on 127.0.0.1, with raw bytes on a TCP socket: Flask and a
plain WSGI app under gunicorn (sync and gthread workers), FastAPI under uvicorn (middleware and
dependency). A body the server cannot read is a 400 (``ERR_BAD_FRAMING`` when the adapter gets to
answer), never a 500; ``Transfer-Encoding`` with ``Content-Length`` is a 400; a refused request
with its body unread is answered, the connection closed, and little more of the body is read; the
server keeps serving."""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import hmac_guard as hg

from common import SECRET
from servers import Server, free_port, gunicorn_argv, request, serve, uvicorn_argv

pytestmark = pytest.mark.timeout(180)

SIGNER = hg.Signer("k1", SECRET)
WRONG = hg.Signer("k1", b"W" * 32)
MiB = 1024 * 1024
DECLARED = 50 * MiB
# What the client may get into the kernel's buffers (its send buffer, the server's receive
# buffer) plus what the server drains before it closes: a few MiB on Linux loopback.
MAX_WRITTEN = 8 * MiB


# -- raw HTTP/1.1 --------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no response came back
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed (or reset) the connection
    written: int = 0  # body bytes the client got into the kernel (flood only)

    @property
    def code(self) -> str | None:
        try:
            doc: Any = json.loads(self.body)
            return str(doc["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return None


def parse(data: bytes, ended: bool) -> tuple[int, dict[str, str], bytes] | None:
    """The first response in ``data``, or None while it is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return (0, {}, data) if ended else None
    lines = data[:end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = data[end + 4 :]
    if "content-length" in headers:
        n = int(headers["content-length"])
        if len(body) < n and not ended:
            return None
        return status, headers, body[:n]
    if headers.get("transfer-encoding") == "chunked":
        out, at = b"", 0
        while True:
            nl = body.find(b"\r\n", at)
            if nl < 0:
                return (status, headers, out) if ended else None
            size = int(body[at:nl].split(b";")[0] or b"0", 16)
            if size == 0:
                return status, headers, out
            if len(body) < nl + 2 + size + 2:
                return (status, headers, out) if ended else None
            out += body[nl + 2 : nl + 2 + size]
            at = nl + 2 + size + 2
    return (status, headers, body) if ended else None


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def head(method: str, target: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(
    server: Server, pieces: Sequence[bytes], *, end: str = "none", timeout: float = 10, wait_close: float = 3
) -> Reply:
    """Writes ``pieces``, then ``end``: ``"half"`` (FIN, keep reading), ``"close"`` (FIN and stop
    reading soon) or ``"none"``; reads the first response and waits up to ``wait_close`` seconds
    after it for the server to close the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        for piece in pieces:
            try:
                s.sendall(piece)
            except OSError:
                break
        if end in ("half", "close"):
            with contextlib.suppress(OSError):  # the server may have answered and closed already
                s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + (0.3 if end == "close" else timeout)
        data, closed, answered = b"", False, False
        while time.monotonic() < deadline:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                got = s.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not got:
                closed = True
                break
            data += got
            if not answered and parse(data, False) is not None:
                answered = True
                deadline = min(deadline, time.monotonic() + wait_close)
        status, headers, body = parse(data, True) or (0, {}, data)
        return Reply(status, headers, body, closed)


def flood(
    server: Server,
    request_head: bytes,
    *,
    total: int = DECLARED,
    piece: int = 64 * 1024,
    chunked: bool = False,
    timeout: float = 20,
) -> Reply:
    """Sends ``request_head``, then body bytes as fast as the server takes them (each piece one
    chunk when ``chunked``), reading the answer meanwhile and writing on after it: stops when the
    connection errors or closes, after ``total`` bytes (the server read it all) or ``timeout``."""
    payload = chunk(b"x" * piece) if chunked else b"x" * piece
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        s.sendall(request_head)
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        data, written, closed, fin = b"", 0, False, False
        pending = memoryview(payload)
        deadline = time.monotonic() + timeout
        while not closed and written < total and time.monotonic() < deadline:
            for _, mask in sel.select(0.2):
                if mask & selectors.EVENT_READ:
                    try:
                        got = s.recv(65536)
                    except BlockingIOError:
                        got = None
                    except OSError:
                        closed = True
                        break
                    if got == b"":
                        fin = True  # the server's FIN: go on writing, a reset ends it
                        sel.modify(s, selectors.EVENT_WRITE)
                    elif got:
                        data += got
                if mask & selectors.EVENT_WRITE:
                    try:
                        n = s.send(pending)
                    except BlockingIOError:
                        continue
                    except OSError:
                        closed = True
                        break
                    written += n
                    pending = pending[n:] if n < len(pending) else memoryview(payload)
        # What the server sent before its reset is still readable.
        s.setblocking(True)
        s.settimeout(1)
        while not fin:
            try:
                got = s.recv(65536)
            except OSError:
                break
            if not got:
                break
            data += got
        status, headers, body = parse(data, True) or (0, {}, data)
        return Reply(status, headers, body, closed or fin, written)
    finally:
        s.close()


# -- servers -------------------------------------------------------------------------------------


@dataclass
class Target:
    kind: str  # flask | flask-gthread | wsgi | fastapi | fastapi-dependency
    server: Server
    path: str

    @property
    def answers_framing_itself(self) -> bool:
        """uvicorn answers a body it cannot parse with its own 400 and reports a disconnect; a
        client's EOF mid-body is a disconnect too (nobody left to answer)."""
        return self.kind.startswith("fastapi")

    @property
    def honours_connection_close(self) -> bool:
        """gunicorn drops an application's ``Connection`` header (hop-by-hop) and decides itself:
        the sync worker always closes; gthread announces keep-alive, then closes a connection
        whose body failed or cannot be drained within 64 KiB."""
        return self.kind != "flask-gthread"


def gunicorn(app: str, *extra: str) -> Any:
    port = free_port()
    argv = gunicorn_argv(
        port, 2, app, "--timeout", "60", "--graceful-timeout", "3", "--log-level", "warning", *extra
    )
    return serve(f"gunicorn-{app}", argv, port)


@pytest.fixture(scope="module")
def flask_sync() -> Iterator[Server]:
    with gunicorn("flask_app:app") as s:
        yield s


@pytest.fixture(scope="module")
def flask_gthread() -> Iterator[Server]:
    with gunicorn("flask_app:app", "-k", "gthread", "--threads", "8") as s:
        yield s


@pytest.fixture(scope="module")
def plain_wsgi() -> Iterator[Server]:
    with gunicorn("wsgi_app:app") as s:
        yield s


@pytest.fixture(scope="module")
def fastapi_uvicorn() -> Iterator[Server]:
    port = free_port()
    with serve("uvicorn", uvicorn_argv(port), port) as s:
        yield s


KINDS = {
    "flask": ("flask_sync", "/echo"),
    "flask-gthread": ("flask_gthread", "/echo"),
    "wsgi": ("plain_wsgi", "/echo"),
    "fastapi": ("fastapi_uvicorn", "/echo"),
    "fastapi-dependency": ("fastapi_uvicorn", "/dep/raw"),
}


@pytest.fixture(params=list(KINDS))
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    fixture, path = KINDS[request.param]
    server: Server = request.getfixturevalue(fixture)
    log_before = server.log.stat().st_size
    yield Target(request.param, server, path)
    log = server.log.read_bytes()[log_before:]
    assert b"Traceback" not in log, log.decode(errors="replace")


BODY = b'{"amount": 10}'


def signed_headers(t: Target, body: bytes = BODY, signer: hg.Signer = SIGNER) -> list[tuple[str, str]]:
    base = [("Host", t.server.host), ("Content-Type", "application/json")]
    return base + signer.sign("POST", t.path, base, body)


def still_serving(t: Target) -> None:
    status, _, data = request(t.server, "POST", t.path, signed_headers(t), BODY)
    assert status == 200, data
    assert json.loads(data)["body_len"] == len(BODY)


def framing_refused(t: Target, r: Reply, *, eof: bool = False) -> None:
    """400 ERR_BAD_FRAMING with the connection closed; from uvicorn its own 400 (or, when the
    client's EOF came first, no answer at all). Never a 500."""
    assert r.status != 500, r.body
    if t.answers_framing_itself:
        assert r.status in ((0, 400) if eof else (400,)), (r.status, r.body)
    else:
        assert (r.status, r.code) == (400, "ERR_BAD_FRAMING"), (r.status, r.body)
        if t.honours_connection_close:
            assert r.headers.get("connection") == "close", r.headers
    assert r.closed, "the server kept the connection"


# -- framing -------------------------------------------------------------------------------------


def test_bad_chunk_size_is_a_400(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Transfer-Encoding", "chunked")])
    r = exchange(target.server, [h, b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"])
    framing_refused(target, r)
    still_serving(target)


def test_chunk_without_its_crlf_is_a_400(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Transfer-Encoding", "chunked")])
    r = exchange(target.server, [h, f"{len(BODY):x}\r\n".encode() + BODY + b"XX5\r\nhello\r\n0\r\n\r\n"])
    framing_refused(target, r)
    still_serving(target)


def test_truncated_chunk_then_half_close_is_a_400(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Transfer-Encoding", "chunked")])
    r = exchange(target.server, [h, f"{len(BODY) + 40:x}\r\n".encode() + BODY], end="half")
    framing_refused(target, r, eof=True)
    still_serving(target)


def test_truncated_chunk_then_close_leaves_the_server_serving(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Transfer-Encoding", "chunked")])
    r = exchange(target.server, [h, f"{len(BODY) + 40:x}\r\n".encode() + BODY], end="close")
    assert r.status != 500, r.body
    still_serving(target)


def test_content_length_body_cut_short_then_half_close_is_a_400(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Content-Length", str(len(BODY)))])
    r = exchange(target.server, [h, BODY[:5]], end="half")
    framing_refused(target, r, eof=True)
    still_serving(target)


def test_transfer_encoding_with_content_length_is_a_400(target: Target) -> None:
    # gunicorn refuses the pair itself; uvicorn (h11) passes both headers on and the core refuses.
    for pair in (
        [("Content-Length", str(len(BODY))), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "chunked"), ("Content-Length", str(len(BODY)))],
    ):
        h = head("POST", target.path, [*signed_headers(target), *pair])
        r = exchange(target.server, [h, chunk(BODY), b"0\r\n\r\n"])
        assert r.status == 400, (r.status, r.body)
        if target.kind.startswith("fastapi"):
            assert r.code == "ERR_BAD_FRAMING", r.body
            assert r.headers.get("connection") == "close", r.headers
        assert r.closed
    still_serving(target)


def test_final_transfer_coding_other_than_chunked_is_a_400(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Transfer-Encoding", "gzip")])
    r = exchange(target.server, [h, BODY], end="half")
    assert r.status in (400, 501), (r.status, r.body)  # h11 answers 501 for a coding it lacks
    still_serving(target)


# -- refusals with the body unread ---------------------------------------------------------------


def refused_flood(t: Target, h: bytes, status: int, code: str, *, chunked: bool = False) -> None:
    r = flood(t.server, h, chunked=chunked)
    assert (r.status, r.code) == (status, code), (r.status, r.body, r.written)
    assert r.closed, f"the connection stayed open ({r.written} bytes written)"
    assert r.written < MAX_WRITTEN, f"the client could write {r.written} of {DECLARED} bytes"
    if t.honours_connection_close:
        assert r.headers.get("connection") == "close", r.headers
    still_serving(t)


def test_unsigned_50_mib_upload_is_refused_and_not_read(target: Target) -> None:
    h = head(
        "POST",
        target.path,
        [
            ("Host", target.server.host),
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(DECLARED)),
        ],
    )
    refused_flood(target, h, 401, "ERR_MISSING_SIGNATURE")


def test_wrong_mac_chunked_upload_is_refused_and_not_read(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target, signer=WRONG), ("Transfer-Encoding", "chunked")])
    refused_flood(target, h, 401, "ERR_SIGNATURE_MISMATCH", chunked=True)


def test_oversize_declared_upload_is_refused_and_not_read(target: Target) -> None:
    h = head("POST", target.path, [*signed_headers(target), ("Content-Length", str(DECLARED))])
    refused_flood(target, h, 413, "ERR_BODY_TOO_LARGE")


def test_refusal_without_a_body_keeps_the_connection(fastapi_uvicorn: Server) -> None:
    t = Target("fastapi", fastapi_uvicorn, "/echo")
    h = head("POST", t.path, [("Host", t.server.host), ("Content-Length", "0")])
    r = exchange(t.server, [h], wait_close=0.3)
    assert (r.status, r.code) == (401, "ERR_MISSING_SIGNATURE")
    assert "close" not in r.headers.get("connection", "")
    assert not r.closed
