"""The webhook step (rows w1 to w6, one per provider preset): a JSON delivery signed as the
provider signs it -- by the Python binding's ``sign_webhook`` or the Node binding's
``signWebhook``, in turn -- goes to ``POST /hooks/<preset>`` on every server three times: as
signed (200, the handler ran once), the very same bytes again (200 ``ERR_DUPLICATE_DELIVERY``,
the handler not run) and with one body byte changed (401 ``ERR_SIGNATURE_MISMATCH``).

Every delivery is new: its ids and body carry random parts, one per server and run, so servers
sharing one Redis, or a second run on the same Redis, never see each other's deliveries."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from http_client import Request, exchange, json_bytes
from launch import Server
from processes import how_it_ended
from signers import JsSigner, PySigner
from verdicts import Cell, Expect, judge

# How the table shortens the codes of the webhook rows.
SHORT = {"ERR_DUPLICATE_DELIVERY": "dup", "ERR_SIGNATURE_MISMATCH": "mismatch"}
TITLE = (
    "webhooks (POST /hooks/<provider>: a signed delivery, handled once; the same bytes again: dup = "
    "200 ERR_DUPLICATE_DELIVERY, handler not run; one body byte changed: 401 ERR_SIGNATURE_MISMATCH)"
)


@dataclass
class Checks:
    """What a webhook row expects: one ``Expect`` per check, the cells under ``rid + suffix``."""

    parts: list[tuple[str, Expect]]

    def __str__(self) -> str:
        return ", ".join(short(e.status, e.code) for _, e in self.parts)


WebhookRow = tuple[str, str, Checks]


def short(status: int | None, code: str | None) -> str:
    """A check in a few characters: ``200``, ``200 dup``, ``401 mismatch`` (other codes in full)."""
    text = "no answer" if status is None else str(status)
    return f"{text} {SHORT.get(code, code)}" if code else text


@dataclass
class Delivery:
    body: bytes
    headers: list[tuple[str, str]]  # unsigned headers the provider adds (type, delivery id)
    delivery_id: str | None  # the Standard Webhooks / Svix id to sign, else None
    id: str  # the id the server must report
    type: str  # the event type it must report


def delivery(preset: str, server: str) -> Delivery:
    """A new delivery of ``preset`` for ``server``, shaped like the provider's (abridged)."""
    tag = secrets.token_hex(8)
    now = int(time.time())
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    if preset in ("standard-webhooks", "svix"):
        kind = "invoice.paid" if preset == "standard-webhooks" else "user.created"
        doc: dict[str, Any] = {"type": kind, "timestamp": iso, "data": {"server": server, "amount": 2000}}
        return Delivery(json_bytes(doc), [], f"msg_{tag}", f"msg_{tag}", kind)
    if preset == "stripe":
        kind = "payment_intent.succeeded"
        obj = {"id": f"pi_{tag}", "object": "payment_intent", "amount": 2000}
        doc = {"id": f"evt_{tag}", "object": "event", "type": kind, "created": now, "data": {"object": obj}}
        return Delivery(json_bytes(doc), [], None, f"evt_{tag}", kind)
    if preset == "github":
        hook_id = str(uuid.uuid4())
        doc = {"action": "opened", "issue": {"number": 7, "title": f"demo {tag}"}, "hook_id": 4200}
        return Delivery(json_bytes(doc), [("X-GitHub-Event", "issues"), ("X-GitHub-Delivery", hook_id)], None,
                        hook_id, "issues")  # fmt: skip
    if preset == "slack":
        event = {"type": "app_mention", "user": "U0DEMO", "text": "<@U0BOT> hello", "channel": "C0DEMO"}
        doc = {"type": "event_callback", "event": event, "event_id": f"Ev{tag.upper()}", "event_time": now}
        return Delivery(json_bytes(doc), [], None, f"Ev{tag.upper()}", "app_mention")
    if preset == "shopify":
        hook_id = str(uuid.uuid4())
        doc = {"id": secrets.randbelow(10**12), "name": "#1001", "note": tag, "total_price": "19.99"}
        headers = [("X-Shopify-Topic", "orders/create"), ("X-Shopify-Webhook-Id", hook_id)]
        return Delivery(json_bytes(doc), [*headers, ("X-Shopify-Shop-Domain", "demo.myshopify.com")], None,
                        hook_id, "orders/create")  # fmt: skip
    raise ValueError(f"no demo delivery for the preset {preset}")


def change_one_byte(body: bytes) -> bytes:
    """The body with its last digit replaced by the next one (still JSON, one byte different)."""
    i = max(body.rfind(b"%d" % d) for d in range(10))
    return body[:i] + b"%d" % ((body[i] - ord("0") + 1) % 10) + body[i + 1 :]


def handled_once(server: str, preset: str, d: Delivery) -> Callable[[Any], str | None]:
    """The handler's answer: this server, the provider, the delivery's id and type, the first
    secret, and a first run of the handler."""
    want: dict[str, Any] = {"server": server, "provider": preset, "id": d.id, "type": d.type}
    want.update({"secret_id": "secret-0", "handled": 1})  # the first secret (an id, not a secret)

    def check(doc: Any) -> str | None:
        if not isinstance(doc, dict):
            return "the answer is not a JSON object"
        wrong = [f"{k} {doc.get(k)!r} (expected {v!r})" for k, v in want.items() if doc.get(k) != v]
        return f"answered {', '.join(wrong)}" if wrong else None

    return check


def webhook_rows(presets: list[str]) -> list[WebhookRow]:
    rows = []
    for n, preset in enumerate(presets, 1):
        parts = [
            ("", Expect(200, None)),
            ("/again", Expect(200, "ERR_DUPLICATE_DELIVERY")),
            ("/changed", Expect(401, "ERR_SIGNATURE_MISMATCH")),
        ]
        rows.append((f"w{n}", preset, Checks(parts)))
    return rows


def run_webhooks(
    servers: list[Server], signers: dict[str, PySigner | JsSigner], presets: list[str], delay: float
) -> tuple[list[WebhookRow], dict[tuple[str, str], Cell]]:
    """Every preset on every server: three checks per cell, under ``w<n>``, ``w<n>/again`` and
    ``w<n>/changed``. The signer alternates by row and server, as in the scenarios."""
    rows = webhook_rows(presets)
    cells: dict[tuple[str, str], Cell] = {}
    for j, (rid, preset, checks) in enumerate(rows):
        if delay and j:
            time.sleep(delay)
        for i, s in enumerate(servers):
            signer = ("py", "js")[(i + j) % 2]
            if s.down is not None:
                for suffix, _ in checks.parts:
                    cells[rid + suffix, s.name] = Cell(signer, None, "not run: the server is down")
                continue
            d = delivery(preset, s.name)
            signature = signers[signer].sign_webhook(preset, d.body, d.delivery_id)
            headers = [("Host", s.authority), ("Content-Type", "application/json"), *d.headers, *signature]
            for suffix, expect in checks.parts:
                body = change_one_byte(d.body) if suffix == "/changed" else d.body
                answer = exchange(s.port, Request("POST", f"/hooks/{preset}", headers, body))
                if suffix == "":
                    expect = Expect(expect.status, expect.code, handled_once(s.name, preset, d))
                cell = Cell(signer, answer, judge(expect, answer))
                assert s.proc is not None
                if answer.status is None and s.proc.poll() is not None:
                    s.down = f"{how_it_ended(s.proc.returncode)} during webhook row {rid} ({preset})"
                    cell.problem = "the server is down"
                cells[rid + suffix, s.name] = cell
                if s.down is not None:
                    break
            for suffix, _ in checks.parts:  # checks left after the server went down
                cells.setdefault((rid + suffix, s.name), Cell(signer, None, "not run: the server is down"))
    return rows, cells
