"""The CLI + curl step (rows c1 to c4): ``hmac-guard sign --curl`` from the pip and the npm
package, with the secret in ``HMAC_GUARD_SECRET`` only, and the printed command run as it is
by ``sh -c`` with the real ``curl``, twice (accepted, then a replay)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from http_client import Answer, get_json, json_bytes, json_or_text
from launch import Server
from processes import how_it_ended
from shared import NEW_KEY, OLD_KEY, ROOT, SECRETS
from verdicts import Cell, Expect, echoes, judge

# The installed `hmac-guard` command lines: the pip package's console script in the demo's venv,
# and the npm package's bin (the same core, through the Node addon).
CLIS = {
    "py": [str(Path(sys.executable).parent / "hmac-guard")],
    "js": ["node", "node-binding/bin/hmac-guard.js"],
}
CliRow = tuple[str, str, Expect]


@dataclass
class CliStep:
    """The CLI + curl step's rows, cells and what to show: the first printed command and its argv."""

    rows: list[CliRow]
    cells: dict[tuple[str, str], Cell]
    keys: set[str]
    shown: tuple[list[str], str] | None = None  # (the CLI's argv, its curl command)


def current_client_key(s: Server) -> str | None:
    """The client key the server has loaded now (the new one once the rotation has run)."""
    try:
        status, doc = get_json(s.port, "/health", timeout=5)
    except OSError:
        return None
    loaded = doc.get("keys") if status == 200 and isinstance(doc, dict) else None
    return next((k for k in (NEW_KEY, OLD_KEY) if isinstance(loaded, list) and k in loaded), None)


def cli_sign(which: str, key_id: str, body_file: str, url: str, env: dict[str, str]) -> tuple[list[str], str]:
    """Runs ``hmac-guard sign --curl`` with the secret in ``HMAC_GUARD_SECRET`` only; returns the
    argv and the printed curl command. Raises ``RuntimeError`` with the reason when it fails."""
    secret = SECRETS[key_id]
    argv = [*CLIS[which], "sign", "--key-id", key_id, "--body-file", body_file]
    argv += ["-H", "Content-Type: application/json", "--curl", url]
    assert not any(secret in a for a in argv)  # never an argument
    try:
        run = subprocess.run(
            argv, cwd=ROOT, env={**env, "HMAC_GUARD_SECRET": secret}, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"{' '.join(argv[:2])}: {e}") from e
    if secret.encode() in run.stdout or secret.encode() in run.stderr:
        raise RuntimeError("the secret appears in the CLI's output")
    command = run.stdout.decode("utf-8", "replace").strip()
    if run.returncode != 0 or not command.startswith("curl "):
        lines = run.stderr.decode("utf-8", "replace").strip().splitlines() or [command[:200]]
        err = next((x for x in lines if "error" in x.lower()), lines[-1]).strip()
        raise RuntimeError(f"the CLI {how_it_ended(run.returncode)}: {err}")
    return argv, command


def run_curl(command: str, env: dict[str, str]) -> Answer:
    """The printed command, byte for byte, through ``sh -c``: the real ``curl`` sends it. The
    status line comes from ``write-out`` in a ``.curlrc`` that ``CURL_HOME`` points at (which also
    keeps a user's own ``~/.curlrc`` and proxy settings out of the demo)."""
    try:
        run = subprocess.run(
            ["sh", "-c", command], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return Answer(None, error=f"sh -c curl: {e}")
    body, _, status = run.stdout.decode("utf-8", "replace").rstrip("\n").rpartition("\n")
    if run.returncode != 0 or not status.isdigit() or status == "000":
        err = run.stderr.decode("utf-8", "replace").strip()
        return Answer(None, error=f"sh -c <curl …> {how_it_ended(run.returncode)}: {err or 'no status'}")
    return Answer(int(status), json_or_text(body.encode()))


def cli_and_curl(servers: list[Server], logs: Path, env: dict[str, str]) -> CliStep:
    """After the scenarios: for every server, ``hmac-guard sign --curl`` (pip) with the client
    key it has now, the printed command run twice with ``sh -c`` (201, then ``ERR_REPLAY``); the
    npm package's CLI once, for the first server (Express by default)."""
    doc = {"sku": "A-1", "qty": 2, "note": "signed by the hmac-guard CLI, sent by curl"}
    body_file = logs / "cli-order.json"
    body_file.write_bytes(json_bytes(doc))
    rel_body = os.path.relpath(body_file, ROOT)
    curl_home = logs / "curl"
    curl_home.mkdir(exist_ok=True)
    curlrc = 'write-out = "\\n%{http_code}\\n"\nmax-time = 20\nnoproxy = "127.0.0.1,localhost"\n'
    (curl_home / ".curlrc").write_text(curlrc, encoding="utf-8")
    base_env = {k: v for k, v in env.items() if k != "HMAC_GUARD_SECRET"}
    curl_env = {**base_env, "CURL_HOME": str(curl_home)}
    curl_missing = shutil.which("curl", path=env.get("PATH")) is None

    rows: list[CliRow] = [
        ("c1", "pip CLI sign --curl | sh", Expect(201, None)),
        ("c2", "same curl command again", Expect(401, "ERR_REPLAY")),
        ("c3", "npm CLI sign --curl | sh", Expect(201, None)),
        ("c4", "same curl command again", Expect(401, "ERR_REPLAY")),
    ]
    step = CliStep(rows, {}, set())
    for i, s in enumerate(servers):
        for which, (sign_id, replay_id) in (("py", ("c1", "c2")), ("js", ("c3", "c4"))):
            if which == "js" and i:
                continue  # the npm CLI: once, for the first server
            if s.down is not None:
                for rid in (sign_id, replay_id):
                    step.cells[rid, s.name] = Cell(which, None, "not run: the server is down")
                continue
            failed = Answer(None, error="not run")
            key_id = current_client_key(s)
            step.keys.update([key_id] if key_id else [])
            if key_id is None:
                step.cells[sign_id, s.name] = Cell(which, failed, "no client key loaded (see /health)")
            elif curl_missing:
                step.cells[sign_id, s.name] = Cell(which, failed, "curl is not installed: this step needs it")
            else:
                try:
                    argv, command = cli_sign(
                        which, key_id, rel_body, f"http://{s.authority}/orders", base_env
                    )
                except RuntimeError as e:
                    step.cells[sign_id, s.name] = Cell(which, failed, str(e))
                else:
                    if step.shown is None:
                        step.shown = (argv, command)
                    for rid, expect in (
                        (sign_id, Expect(201, None, echoes(key_id, doc))),
                        (replay_id, Expect(401, "ERR_REPLAY")),
                    ):
                        answer = run_curl(command, curl_env)
                        step.cells[rid, s.name] = Cell(which, answer, judge(expect, answer))
            if (replay_id, s.name) not in step.cells:
                step.cells[replay_id, s.name] = Cell(
                    which, failed, f"no command to run again ({sign_id} failed)"
                )
    return step
