#!/usr/bin/env python3
"""The scripted client behind ``make demo`` and ``make test-demo``.

Starts the Express, Feathers, Flask (gunicorn, 1 worker) and FastAPI (uvicorn) demo servers on
127.0.0.1 (free ports, each checked through its ``/health`` answer), runs every scenario against
each of them -- signing some requests with the Node binding's ``Signer`` (through
``demo/js_signer.js``) and the others with the Python binding's -- then prints one table, the
core's ``explain`` output for the tampered request and a one-line summary. It stops every process
it started, on success, on error and on Ctrl-C, and exits 1 when a verdict differs from the
expected one (2 when the demo could not start).

    .venv/bin/python demo/run.py                    # replay store: memory, or HMAC_GUARD_REDIS_URL
    .venv/bin/python demo/run.py --redis-server     # a throwaway redis-server, then the Redis store
    .venv/bin/python demo/run.py --memory --tally   # what make test-demo runs (plus --redis-server)

DEMO ONLY: the keys are the public ones in demo/keys.json.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import http.client
import json
import os
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
KEYS: dict[str, Any] = json.loads((DEMO / "keys.json").read_text(encoding="utf-8"))
OLD_KEY, NEW_KEY = KEYS["clients"][0]["id"], KEYS["clients"][1]["id"]
ADMIN_KEY, STRANGER_KEY = KEYS["admin"]["id"], KEYS["stranger"]["id"]
SECRETS = {k["id"]: k["secret"] for k in [*KEYS["clients"], KEYS["admin"], KEYS["stranger"]]}
SUBJECT = KEYS["clients"][0]["subject"]

try:
    import hmac_guard
except ImportError:
    sys.exit(
        "demo/run.py needs the Python binding: run `make demo`, or build it with "
        "`bash python-binding/scripts/ci.sh --setup-only` and use .venv/bin/python"
    )

SERVERS: dict[str, tuple[list[str], str]] = {
    "express": (["node", "demo/servers/express.js"], "Express 5"),
    "feathers": (["node", "demo/servers/feathers.js"], "Feathers 5 over @feathersjs/express"),
    "flask": ([sys.executable, "demo/servers/flask_app.py"], "Flask under gunicorn, 1 worker"),
    "fastapi": ([sys.executable, "demo/servers/fastapi_app.py"], "FastAPI under uvicorn"),
}
INSTANCE_ENV = "HMAC_GUARD_DEMO_INSTANCE"
OVERSIZE = 2 * 1024 * 1024  # twice the servers' default 1 MiB body limit
STARTUP_TIMEOUT = 60.0


class DemoError(Exception):
    """The demo could not run (a server did not start, a tool is missing)."""


# --------------------------------------------------------------------------- processes


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


# --------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int | None
    doc: Any = None
    error: str | None = None  # transport failure

    @property
    def code(self) -> str | None:
        """The ERR_* code: ``{"error": {"code"}}`` (Express, Flask, FastAPI) or a Feathers error's
        ``data.code``."""
        if not isinstance(self.doc, dict):
            return None
        for outer in ("error", "data"):
            inner = self.doc.get(outer)
            if isinstance(inner, dict) and isinstance(inner.get("code"), str):
                return str(inner["code"])
        return None


def get_json(port: int, target: str, timeout: float = 10) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        return resp.status, _json(resp.read())
    finally:
        conn.close()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:200]


def exchange(port: int, req: Request, timeout: float = 15) -> Answer:
    """One request on its own connection, headers exactly as given, ``Content-Length`` added."""
    if req.chunked:
        return exchange_chunked(port, req, timeout)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for name, value in req.headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(req.body)))
        conn.putheader("Connection", "close")
        conn.endheaders(req.body or None)
        resp = conn.getresponse()
        return Answer(resp.status, _json(resp.read()))
    except (OSError, http.client.HTTPException) as e:
        return Answer(None, error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def exchange_chunked(port: int, req: Request, timeout: float, piece: int = 16 * 1024) -> Answer:
    """Sends the body with ``Transfer-Encoding: chunked`` (no Content-Length), piece by piece,
    and stops sending as soon as the server answers -- as a client facing a 413 would."""
    head = f"{req.method} {req.target} HTTP/1.1\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in req.headers)
    head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return Answer(None, error=f"{type(e).__name__}: {e}")
    with sock:
        try:
            sock.sendall(head.encode("latin-1"))
            for offset in range(0, len(req.body), piece):
                if select.select([sock], [], [], 0.002)[0]:
                    break  # the server has answered: stop sending
                part = req.body[offset : offset + piece]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed: read what it answered
        except OSError as e:
            return Answer(None, error=f"{type(e).__name__}: {e}")
        data = b""
        while True:
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            except OSError as e:
                return Answer(None, error=f"{type(e).__name__}: {e}")
            if not got:
                break
            data += got
    return parse_response(data)


def parse_response(data: bytes) -> Answer:
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/"):
        return Answer(None, error=f"no HTTP answer (got {len(data)} bytes)")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return Answer(int(parts[1]), _json(body))


# --------------------------------------------------------------------------- signers


class PySigner:
    """The Python binding's ``hmac_guard.Signer``."""

    name = "py"

    def __init__(self) -> None:
        self.signers = {kid: hmac_guard.Signer(kid, secret) for kid, secret in SECRETS.items()}

    def sign(
        self,
        key_id: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        created: int | None,
    ) -> list[tuple[str, str]]:
        return self.signers[key_id].sign(method, target, headers, body or None, created=created)

    @staticmethod
    def explain(keys: list[str], req: Request) -> str:
        guard = hmac_guard.Guard(keys=[{"id": k, "secret": SECRETS[k], "subject": SUBJECT} for k in keys])
        return str(guard.explain(req.method, req.target, req.headers, req.body))


class JsSigner:
    """The Node binding's ``Signer``, in ``demo/js_signer.js`` (JSON lines over a pipe)."""

    name = "js"

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.proc = spawn(
            ["node", "demo/js_signer.js"], log, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError:
            line = b""
        if not line:
            self.proc.poll()
            raise DemoError(f"the JS signer {how_it_ended(self.proc.returncode)}:\n{tail(self.log)}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise DemoError(f"the JS signer failed: {answer['error']}")
        return answer

    def sign(
        self,
        key_id: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        created: int | None,
    ) -> list[tuple[str, str]]:
        msg: dict[str, Any] = {"op": "sign", "keyId": key_id, "method": method, "target": target}
        msg.update(headers=headers, body=base64.b64encode(body).decode())
        if created is not None:
            msg["created"] = created
        return [(n, v) for n, v in self.call(msg)["headers"]]

    def explain(self, keys: list[str], req: Request) -> str:
        msg: dict[str, Any] = {"op": "explain", "keys": keys, "method": req.method, "target": req.target}
        msg.update(headers=req.headers, body=base64.b64encode(req.body).decode())
        return str(self.call(msg)["text"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --------------------------------------------------------------------------- scenarios


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool = False


@dataclass
class Expect:
    status: int
    code: str | None = None  # None: a success, checked further by ``check``
    check: Callable[[Any], str | None] | None = None  # a 2xx document -> problem or None

    def __str__(self) -> str:
        return f"{self.status} {self.code}" if self.code else str(self.status)


@dataclass
class Cell:
    signer: str
    answer: Answer | None  # None: not run (the server was down)
    problem: str | None = None  # why it differs from the expected verdict

    @property
    def ok(self) -> bool:
        return self.answer is not None and self.problem is None


@dataclass
class Context:
    server: Server
    signers: dict[str, PySigner | JsSigner]
    signer: str  # which signer this cell uses
    saved: dict[str, Any] = field(default_factory=dict)  # requests kept for later rows

    def signed(
        self,
        key_id: str,
        method: str,
        target: str,
        body: Any = None,
        *,
        created: int | None = None,
        send_target: str | None = None,
        send_body: bytes | None = None,
    ) -> Request:
        """A request signed by this cell's signer; ``send_*``: what is sent instead (tampering)."""
        raw = b"" if body is None else body if isinstance(body, bytes) else json_bytes(body)
        headers = [("Host", self.server.authority)]
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        signature = self.signers[self.signer].sign(key_id, method, target, headers, raw, created)
        sent = raw if send_body is None else send_body
        return Request(method, send_target or target, headers + signature, sent)


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def echoes(key_id: str, body: Any) -> Callable[[Any], str | None]:
    """The success answer must name the verified key and subject and echo the parsed body."""

    def check(doc: Any) -> str | None:
        if not isinstance(doc, dict):
            return "the answer is not a JSON object"
        if doc.get("key_id") != key_id or doc.get("subject") != SUBJECT:
            return f"answered key {doc.get('key_id')!r} / subject {doc.get('subject')!r}, expected {key_id!r}"
        if doc.get("body") != body:
            return "the echoed body differs from the one sent"
        return None

    return check


def lists_keys(*expected: str) -> Callable[[Any], str | None]:
    def check(doc: Any) -> str | None:
        got = doc.get("keys") if isinstance(doc, dict) else None
        return None if got == sorted(expected) else f"keys now {got}, expected {sorted(expected)}"

    return check


def order(n: str) -> dict[str, Any]:
    return {"sku": "A-1", "qty": 2, "note": f"scenario {n}"}


Scenario = tuple[str, str, Expect, Callable[[Context], Request]]


def scenarios() -> list[Scenario]:
    now = int(time.time())

    def valid(c: Context) -> Request:
        req = c.signed(OLD_KEY, "POST", "/orders", order("1"))
        c.saved["valid"] = (req, c.signer)
        return req

    def tampered_path(c: Context) -> Request:
        req = c.signed(OLD_KEY, "POST", "/orders", order("4"), send_target="/refunds")
        c.saved["tampered"] = (req, c.signer)
        return req

    oversize = {"sku": "A-1", "qty": 2, "blob": "x" * OVERSIZE}
    tampered_body = json_bytes({**order("3"), "qty": 200})
    return [
        ("1", "valid request", Expect(201, None, echoes(OLD_KEY, order("1"))), valid),
        ("2", "replayed (same request)", Expect(401, "ERR_REPLAY"), lambda c: c.saved["valid"][0]),
        ("3", "tampered body", Expect(401, "ERR_DIGEST_MISMATCH"),
         lambda c: c.signed(OLD_KEY, "POST", "/orders", order("3"), send_body=tampered_body)),
        ("4", "tampered path", Expect(401, "ERR_SIGNATURE_MISMATCH"), tampered_path),
        ("5", "expired timestamp", Expect(401, "ERR_TIMESTAMP_EXPIRED"),
         lambda c: c.signed(OLD_KEY, "POST", "/orders", order("5"), created=now - 600)),
        ("6", "unknown key", Expect(401, "ERR_UNKNOWN_KEY"),
         lambda c: c.signed(STRANGER_KEY, "POST", "/orders", order("6"))),
        ("7", "2 MiB, chunked, no length", Expect(413, "ERR_BODY_TOO_LARGE"),
         lambda c: _chunked(c.signed(OLD_KEY, "POST", "/orders", json_bytes(oversize)))),
        ("8a", "admin call with client key", Expect(401, "ERR_UNKNOWN_KEY"),
         lambda c: c.signed(OLD_KEY, "PUT", f"/admin/keys/{NEW_KEY}", {})),
        ("8b", "admin: add new key", Expect(200, None, lists_keys(OLD_KEY, NEW_KEY)),
         lambda c: c.signed(ADMIN_KEY, "PUT", f"/admin/keys/{NEW_KEY}", {})),
        ("8c", "overlap: old key", Expect(201, None, echoes(OLD_KEY, order("8c"))),
         lambda c: c.signed(OLD_KEY, "POST", "/orders", order("8c"))),
        ("8d", "overlap: new key", Expect(201, None, echoes(NEW_KEY, order("8d"))),
         lambda c: c.signed(NEW_KEY, "POST", "/orders", order("8d"))),
        ("8e", "admin: remove old key", Expect(200, None, lists_keys(NEW_KEY)),
         lambda c: c.signed(ADMIN_KEY, "DELETE", f"/admin/keys/{OLD_KEY}")),
        ("8f", "removed: old key", Expect(401, "ERR_UNKNOWN_KEY"),
         lambda c: c.signed(OLD_KEY, "POST", "/orders", order("8f"))),
        ("8g", "removed: new key", Expect(201, None, echoes(NEW_KEY, order("8g"))),
         lambda c: c.signed(NEW_KEY, "POST", "/orders", order("8g"))),
    ]  # fmt: skip


def _chunked(req: Request) -> Request:
    req.chunked = True
    return req


def judge(expect: Expect, answer: Answer) -> str | None:
    if answer.status is None:
        return answer.error or "no answer"
    if answer.status != expect.status or answer.code != expect.code:
        return f"expected {expect}"
    if expect.check is not None:
        return expect.check(answer.doc)
    return None


def run_scenarios(
    servers: list[Server], signers: dict[str, PySigner | JsSigner], delay: float
) -> tuple[list[Scenario], dict[tuple[str, str], Cell], dict[str, Context]]:
    rows = scenarios()
    cells: dict[tuple[str, str], Cell] = {}
    contexts = {s.name: Context(s, signers, "py") for s in servers}
    for j, (row_id, label, expect, build) in enumerate(rows):
        if delay and j:
            time.sleep(delay)
        for i, s in enumerate(servers):
            c = contexts[s.name]
            c.signer = ("py", "js")[(i + j) % 2]
            if s.down is not None:
                cells[row_id, s.name] = Cell(c.signer, None, "not run: the server is down")
                continue
            req = build(c)
            signer = c.saved["valid"][1] if row_id == "2" else c.signer
            answer = exchange(s.port, req)
            cell = Cell(signer, answer, judge(expect, answer))
            assert s.proc is not None
            if answer.status is None and s.proc.poll() is not None:
                s.down = f"{how_it_ended(s.proc.returncode)} during scenario {row_id} ({label})"
                cell.problem = "the server is down"
            cells[row_id, s.name] = cell
    return rows, cells, contexts


# --------------------------------------------------------------------------- CLI + curl

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
    return Answer(int(status), _json(body.encode()))


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


# --------------------------------------------------------------------------- output


def print_table(
    rows: list[Scenario],
    servers: list[Server],
    cells: dict[tuple[str, str], Cell],
    extra: tuple[str, list[CliRow]] | None = None,
) -> None:
    """One table; narrower terminals get the codes without ``ERR_``, then no expected column.
    ``extra``: a titled block of more rows (the CLI + curl step) in the same columns; a server
    without a cell in a row shows nothing there."""

    def render(level: int) -> list[str]:
        def code(c: str | None) -> str:
            return (c[4:] if level and c and c.startswith("ERR_") else c) or ""

        def cell_text(cell: Cell) -> str:
            a = cell.answer
            if a is None:
                return "- not run"
            verdict = "no answer" if a.status is None else f"{a.status} {code(a.code)}".rstrip()
            return f"{'' if cell.ok else 'X '}{verdict} {cell.signer}"

        header = ["scenario", *(["expected"] if level < 2 else []), *(s.name for s in servers)]

        def line(rid: str, label: str, e: Expect) -> list[str]:
            return [
                f"{rid:<3}{label}",
                *([f"{e.status} {code(e.code)}".rstrip()] if level < 2 else []),
                *(cell_text(cells[rid, s.name]) if (rid, s.name) in cells else "" for s in servers),
            ]

        body = [line(rid, label, e) for rid, label, e, _ in rows]
        more = [line(*row) for row in extra[1]] if extra else []
        widths = [max(len(r[k]) for r in [header, *body, *more]) for k in range(len(header))]

        def join(r: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()

        lines = [join(header), "  ".join("-" * w for w in widths), *map(join, body)]
        if extra:
            lines += [extra[0], *map(join, more)]
        return lines

    width = shutil.get_terminal_size((200, 24)).columns
    level = 0
    lines = render(level)
    while level < 2 and max(len(x) for x in lines if not extra or x != extra[0]) > width:
        level += 1
        lines = render(level)
    print("\n".join(lines))
    notes = ["codes without their ERR_ prefix"] if level else []
    notes += ["js / py: signed with the Node / Python binding's Signer"]
    notes += ["in c rows, by the npm / pip package's hmac-guard CLI"] if extra else []
    notes += ["X: not the expected verdict"]
    print(f"({'; '.join(notes)})")


def print_explain(
    servers: list[Server], contexts: dict[str, Context], signers: dict[str, PySigner | JsSigner]
) -> None:
    for s in servers:
        saved = contexts[s.name].saved.get("tampered")
        if saved is None:
            continue
        req, signer = saved
        try:
            text = signers[signer].explain([OLD_KEY], req)
        except DemoError as e:
            print(f"\nexplain failed: {e}")
            return
        api = {"js": "the Node binding's guard.explain()", "py": "the Python binding's Guard.explain()"}[
            signer
        ]
        print(f"\nexplain: scenario 4 as the {s.name} server saw it, from {api} (never shows a secret).")
        print('The client signed "@path": /orders; the request arrived at /refunds, so the MAC cannot match:')
        print("\n".join("  " + line for line in text.splitlines()))
        return


def print_cli(step: CliStep, servers: list[Server]) -> None:
    """The first command the CLI printed (it holds no secret: checked), and how it was made."""
    if step.shown is None:
        print("\nCLI + curl: no command to show (see the X lines below)")
        return
    argv, command = step.shown
    shown = shlex.join(os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in argv)
    target = next((s.name for s in servers if s.authority in command), "the first server")
    print(f"\nCLI + curl: for {target}, HMAC_GUARD_SECRET=<the key's secret> {shown} printed")
    print(
        "(the secret is in neither argv nor this output: checked), and sh -c ran it twice with the real curl:"
    )
    print("\n".join("  " + line for line in command.splitlines()))


def print_intro(servers: list[Server], url: str | None) -> None:
    for s in servers:
        argv = [os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in s.argv]
        print(f"  {s.name:<9} http://{s.authority}  {s.title}  ({' '.join(argv)} --port {s.port})")
    print(f"  store     {url or 'in memory, one per server process'}")
    print(f"  keys      old {OLD_KEY} (at start), new {NEW_KEY} (added in 8b), unknown {STRANGER_KEY}")
    print("  tampered  3: body changed after signing (qty 2 -> 200); 4: signed for /orders, sent to /refunds")
    print("  also      5: signed 10 min ago (window: 5 min); 7: 2 MiB sent chunked (limit: 1 MiB)\n")


def report(servers: list[Server], cells: dict[tuple[str, str], Cell]) -> int:
    """Prints what went wrong (servers that died, verdicts that differ); returns the count."""
    print()
    for s in servers:
        if s.down is not None:
            print(f"the {s.name} server (pid {s.proc.pid if s.proc else '?'}) {s.down}; its log ends:")
            print(tail(s.log))
    bad = [(rid, name, cell) for (rid, name), cell in cells.items() if not cell.ok]
    for rid, name, cell in bad:
        if cell.answer is not None:
            a = cell.answer
            got = "no answer" if a.status is None else f"{a.status} {a.code or ''}".rstrip()
            print(f"  X {rid} on {name}: got {got} -- {cell.problem}")
    for s in servers:
        skipped = [rid for rid, name, cell in bad if name == s.name and cell.answer is None]
        if skipped:
            print(f"  X {s.name}: {len(skipped)} scenarios not run ({', '.join(skipped)}): server down")
    return len(bad)


# --------------------------------------------------------------------------- Redis


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


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--memory", action="store_true", help="ignore HMAC_GUARD_REDIS_URL: in-memory store")
    store.add_argument("--redis-server", action="store_true", help="start a throwaway redis-server, use it")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset (default: all)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait between scenarios")
    parser.add_argument("--tally", action="store_true", help="end with '# pass N' / '# fail M' lines")
    args = parser.parse_args()
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    if not names or any(n not in SERVERS for n in names):
        parser.error(f"--servers: choose among {', '.join(SERVERS)}")

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGINT, interrupted)  # even when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    (ROOT / "target" / "demo").mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / "target" / "demo"))
    env = dict(os.environ)
    started: list[subprocess.Popen[bytes]] = []
    servers: list[Server] = []
    js: JsSigner | None = None
    code = 2
    t0 = time.monotonic()
    try:
        if args.memory:
            env.pop("HMAC_GUARD_REDIS_URL", None)
        elif args.redis_server:
            redis, env["HMAC_GUARD_REDIS_URL"] = start_redis(logs, env)
            started.append(redis)
        url = env.get("HMAC_GUARD_REDIS_URL") or None
        if url and not redis_ping(url):
            raise DemoError(
                f"HMAC_GUARD_REDIS_URL={url}: nothing answers there (unset it for the in-memory store)"
            )
        store_name = "redis" if url else "memory"
        print(f"hmac-guard demo: starting {', '.join(names)} on 127.0.0.1 (replay store: {store_name})")
        js = JsSigner(logs / "js_signer.log", env)
        started.append(js.proc)
        servers = start_servers(names, logs, env, store_name)
        started += [s.proc for s in servers if s.proc is not None]
        print_intro(servers, url)

        signers: dict[str, PySigner | JsSigner] = {"py": PySigner(), "js": js}
        rows, cells, contexts = run_scenarios(servers, signers, args.delay)
        cli = cli_and_curl(servers, logs, env)
        title = (
            f"CLI + curl (key {', '.join(sorted(cli.keys)) or '-'}: the one loaded now; "
            "hmac-guard sign --curl, the printed command run by sh -c)"
        )
        cells.update(cli.cells)
        print_table(rows, servers, cells, (title, cli.rows))
        print_cli(cli, servers)
        print_explain(servers, contexts, signers)

        bad = report(servers, cells)
        elapsed = time.monotonic() - t0
        what = f"{len(servers)} servers x {len(rows)} scenarios + {len(cli.cells)} CLI + curl"
        what += f", replay store: {store_name}, {elapsed:.1f} s"
        if bad:
            print(
                f"FAILED: {bad} of {len(cells)} verdicts differ from the expected ones ({what}); logs: {logs}"
            )
        else:
            print(f"OK: all {len(cells)} verdicts as expected ({what})")
        if args.tally:
            print(f"# pass {len(cells) - bad}\n# fail {bad}")
        code = 1 if bad else 0
    except DemoError as e:
        print(f"\ndemo failed: {e}\nlogs: {logs}", file=sys.stderr)
        if args.tally:
            print("# pass 0\n# fail 1")
        code = 2
    except KeyboardInterrupt as e:
        signum = e.args[0] if e.args and isinstance(e.args[0], int) else signal.SIGINT
        print(f"\n{signal.Signals(signum).name}: stopping the servers", file=sys.stderr)
        code = 128 + signum
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # finish the cleanup even on a second Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if js is not None:
            js.close()
        leftovers = [p.pid for p in started if not stop(p)]
        if leftovers:
            print(f"could not stop processes {leftovers}", file=sys.stderr)
            code = code or 1
        if code == 0:
            shutil.rmtree(logs, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
