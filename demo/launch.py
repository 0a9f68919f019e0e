"""The demo servers: which ones there are, and starting them on free ports until each answers
``/health`` with this run's token and the expected replay store."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from http_client import get_json
from processes import free_port, how_it_ended, spawn, tail
from shared import DemoError

RUST_EXAMPLES = Path(__file__).resolve().parents[1] / "target" / "debug" / "examples"
SERVERS: dict[str, tuple[list[str], str]] = {
    "express": (["node", "demo/servers/express.js"], "Express 5"),
    "feathers": (["node", "demo/servers/feathers.js"], "Feathers 5 over @feathersjs/express"),
    "flask": ([sys.executable, "demo/servers/flask_app.py"], "Flask under gunicorn, 1 worker"),
    "fastapi": ([sys.executable, "demo/servers/fastapi_app.py"], "FastAPI under uvicorn"),
    # Built by `make demo-setup` (cargo build --examples): the Rust adapters' demo servers.
    "actix": ([str(RUST_EXAMPLES / "actix_demo")], "actix-web 4 (hmac-guard-actix)"),
    "axum": ([str(RUST_EXAMPLES / "axum_demo")], "axum 0.8 (hmac-guard-axum)"),
}
INSTANCE_ENV = "HMAC_GUARD_DEMO_INSTANCE"
STARTUP_TIMEOUT = 60.0


@dataclass
class Server:
    name: str
    title: str
    argv: list[str]
    log: Path
    port: int = 0
    proc: Optional[subprocess.Popen[bytes]] = None
    down: Optional[str] = None  # why it stopped answering

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_servers(names: list[str], logs: Path, env: dict[str, str], store: str) -> list[Server]:
    """Starts every server, then waits until each answers /health with this run's instance token
    and the expected replay store. A server that lost its port to another process is restarted on
    a new one (3 tries)."""
    servers = [Server(n, SERVERS[n][1], SERVERS[n][0], logs / f"{n}.log") for n in names]
    token = secrets.token_hex(8)
    child_env = {**env, INSTANCE_ENV: token}
    tries = dict.fromkeys(names, 0)

    def launch(s: Server) -> None:
        tries[s.name] += 1
        s.port = free_port()
        s.proc = spawn([*s.argv, "--port", str(s.port)], s.log, child_env)

    for s in servers:
        launch(s)
    waiting = list(servers)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while waiting:
        for s in list(waiting):
            assert s.proc is not None
            if s.proc.poll() is not None:
                log = s.log.read_text(encoding="utf-8", errors="replace").lower()
                if ("address already in use" in log or "eaddrinuse" in log) and tries[s.name] < 3:
                    launch(s)
                    continue
                raise DemoError(
                    f"{s.name} server {how_it_ended(s.proc.returncode)} at startup:\n{tail(s.log)}"
                )
            try:
                status, doc = get_json(s.port, "/health", timeout=2)
            except OSError:
                continue
            if status == 200 and isinstance(doc, dict) and doc.get("instance") == token:
                if doc.get("store") != store:
                    raise DemoError(
                        f"{s.name} server uses the {doc.get('store')} replay store, expected {store}"
                    )
                waiting.remove(s)
        if waiting and time.monotonic() > deadline:
            s = waiting[0]
            raise DemoError(
                f"{s.name} server did not answer /health in {STARTUP_TIMEOUT:.0f} s:\n{tail(s.log)}"
            )
        if waiting:
            time.sleep(0.1)
    return servers
