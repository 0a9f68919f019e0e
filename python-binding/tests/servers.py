"""Start and stop real servers on 127.0.0.1 ephemeral ports, and talk HTTP/1.1 to them."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPS = Path(__file__).resolve().parent / "apps"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_argv(port: int, workers: int, app: str = "flask_app:app", *extra: str) -> list[str]:
    """gunicorn on 127.0.0.1:port; no shared control socket (gunicorn 27 opens one in ~ by default)."""
    return ["gunicorn", "--no-control-socket", "-w", str(workers), "-b", f"127.0.0.1:{port}", *extra, app]


def uvicorn_argv(port: int, app: str = "fastapi_app:app") -> list[str]:
    return ["uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve(
    name: str,
    argv: list[str],
    port: int,
    startup_timeout: float = 30.0,
    cwd: Path = APPS,
    env: dict[str, str] | None = None,
    health: str = "/health",
) -> Iterator[Server]:
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    log = Path(tempfile.mkstemp(prefix=f"hmac-guard-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=APPS,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, proc, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited at startup:\n{log.read_text(errors='replace')}")
            try:
                status, _, _ = request(server, "GET", health, [], timeout=2)
                if status == 200 or health != "/health":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not start in {startup_timeout}s:\n{log.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        yield server
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this test started
            proc.wait(10)


def request(
    server: Server,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    timeout: float = 15,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        names = set()
        for name, value in headers:
            conn.putheader(name, value)
            names.add(name.lower())
        if "host" not in names:
            conn.putheader("Host", server.host)
        if body and "content-length" not in names and "transfer-encoding" not in names:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str | None:
    try:
        doc: Any = json.loads(body)
        return str(doc["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def raw_exchange(
    server: Server, head: bytes, pieces: Iterable[bytes], timeout: float = 15
) -> tuple[int, bytes]:
    """Sends ``head`` then ``pieces`` (stopping quietly if the server closes), then reads the
    response. Never sends more than given: a server that waits for the rest times out."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head)
        for piece in pieces:
            try:
                s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                got = s.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            data += got
        head_end = data.find(b"\r\n\r\n")
        status_line = data.split(b"\r\n", 1)[0]
        status = int(status_line.split()[1]) if status_line.startswith(b"HTTP/") else 0
        response_headers = data[:head_end].decode("latin-1").lower() if head_end >= 0 else ""
        body = data[head_end + 4 :] if head_end >= 0 else b""
        length = None
        for line in response_headers.split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        while length is not None and len(body) < length:
            try:
                got = s.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            body += got
        return status, body
