"""Child processes: start one in its own process group (stopped with the demo, even if the demo is
killed), stop it with everything it started, and describe how one ended."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from shared import ROOT


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when demo/run.py dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(argv: list[str], log: Path, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """A child in its own session (Ctrl-C reaches run.py only, which stops it), output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=kwargs.pop("stdout", out),
            stderr=out,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # no threads in this script
            **kwargs,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    """SIGTERM to the process group this script created for ``proc`` (gunicorn's worker
    included), SIGKILL after ``timeout``. Returns False if something of it is still alive."""
    pgid = proc.pid  # start_new_session: the child leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    time.sleep(0.2)
    proc.poll()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def how_it_ended(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return "    (no log)"
    return "\n".join("    | " + line for line in text[-lines:]) or "    (empty log)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
