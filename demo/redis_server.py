"""The Redis replay store: a throwaway ``redis-server`` for ``--redis-server``, and whether
something answers like Redis at a URL."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from processes import free_port, spawn, stop, tail
from shared import DemoError


def redis_ping(url: str, timeout: float = 2.0) -> bool:
    """Whether something answers like Redis at ``url`` (any reply to PING, NOAUTH included)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64)[:1] in (b"+", b"-")
    except OSError:
        return False


def start_redis(logs: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server", path=env.get("PATH"))
    if binary is None:
        raise DemoError("--redis-server: redis-server is not installed (make redis-server installs it)")
    port = free_port()
    data = logs / "redis"
    data.mkdir()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--daemonize", "no", "--dir", str(data)]
    proc = spawn(argv, logs / "redis.log", env)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_ping(url, 0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise DemoError(f"redis-server did not start:\n{tail(logs / 'redis.log')}")
        time.sleep(0.05)
    return proc, url
