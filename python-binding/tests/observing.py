"""Helpers of the observability tests against real servers: start the observing apps
(apps/observe_app.py under gunicorn, apps/observe_fastapi_app.py under uvicorn), read what their
test-only routes and log file say, sign requests for them."""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hmac_guard as hg

from common import SECRET
from servers import Server, free_port, gunicorn_argv, request, serve, uvicorn_argv

SIGNER = hg.Signer("k1", SECRET)
BODY = b'{"amount": 10}'


@contextlib.contextmanager
def flask_server(env: dict[str, str] | None = None) -> Iterator[tuple[Server, Path]]:
    """The observing Flask app under gunicorn (one sync worker) and its log file."""
    log = Path(tempfile.mkstemp(prefix="hmac-guard-observe-", suffix=".jsonl")[1])
    port = free_port()
    argv = gunicorn_argv(port, 1, "observe_app:app", "--log-level", "warning", "--graceful-timeout", "3")
    with serve("gunicorn-observe", argv, port, env={**(env or {}), "HMAC_GUARD_TEST_LOG": str(log)}) as s:
        yield s, log


@contextlib.contextmanager
def fastapi_server(env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    with serve("uvicorn-observe", uvicorn_argv(port, "observe_fastapi_app:app"), port, env=env) as s:
        yield s


def redis_env(url: str) -> dict[str, str]:
    """What makes the observing apps use the Redis store at ``url``, under a fresh key prefix."""
    return {
        "HMAC_GUARD_TEST_REDIS_URL": url,
        "HMAC_GUARD_TEST_REDIS_PREFIX": f"hg-obs-{uuid.uuid4().hex[:8]}",
    }


def fetch(server: Server, path: str) -> Any:
    status, _, data = request(server, "GET", path, [])
    assert status == 200, data
    return json.loads(data)


def fetch_text(server: Server, path: str) -> str:
    status, _, data = request(server, "GET", path, [])
    assert status == 200, data
    return data.decode()


def events(server: Server) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = fetch(server, "/_test/events")
    return out


def log_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def signed(
    server: Server,
    body: bytes = BODY,
    *,
    signer: hg.Signer = SIGNER,
    path: str = "/echo",
    **sign: Any,
) -> list[tuple[str, str]]:
    head = [("Host", server.host), ("Content-Type", "application/json")]
    return head + signer.sign("POST", path, head, body, **sign)


def post(server: Server, headers: list[tuple[str, str]], body: bytes = BODY, path: str = "/echo") -> int:
    return request(server, "POST", path, headers, body)[0]
