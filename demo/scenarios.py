"""The scenarios (rows 1 to 8g): each one builds a request, signed by the Python or the Node
binding in turn, and every server answers it; the answers become the table's cells."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from http_client import Request, exchange, json_bytes
from launch import Server
from processes import how_it_ended
from shared import ADMIN_KEY, NEW_KEY, OLD_KEY, STRANGER_KEY
from signers import JsSigner, PySigner
from verdicts import Cell, Expect, echoes, judge

OVERSIZE = 2 * 1024 * 1024  # twice the servers' default 1 MiB body limit


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
