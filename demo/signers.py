"""The two signers the scenarios alternate between: the Python binding's ``hmac_guard.Signer``
in this process, and the Node binding's ``Signer`` in ``demo/js_signer.js`` (JSON lines over a
pipe). Both also run the core's ``explain`` for a request, and sign webhook deliveries as their
providers do (``sign_webhook`` / ``signWebhook``) with the demo secret of the preset."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from http_client import Request
from processes import how_it_ended, spawn, stop, tail
from shared import SECRETS, SUBJECT, WEBHOOK_SECRETS, DemoError

try:
    import hmac_guard
except ImportError:
    sys.exit(
        "demo/run.py needs the Python binding: run `make demo`, or build it with "
        "`bash python-binding/scripts/ci.sh --setup-only` and use .venv/bin/python"
    )


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
    def sign_webhook(preset: str, body: bytes, delivery_id: str | None) -> list[tuple[str, str]]:
        signed = hmac_guard.sign_webhook(preset, secret=WEBHOOK_SECRETS[preset], body=body, id=delivery_id)
        return list(signed.headers.items())

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

    def sign_webhook(self, preset: str, body: bytes, delivery_id: str | None) -> list[tuple[str, str]]:
        msg: dict[str, Any] = {"op": "webhook", "preset": preset, "body": base64.b64encode(body).decode()}
        if delivery_id is not None:
            msg["id"] = delivery_id
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
