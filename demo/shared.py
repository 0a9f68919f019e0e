"""What every part of the demo shares: the repository paths, the demo keys and ``DemoError``.

DEMO ONLY: the keys are the public ones in demo/keys.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
KEYS: dict[str, Any] = json.loads((DEMO / "keys.json").read_text(encoding="utf-8"))
OLD_KEY, NEW_KEY = KEYS["clients"][0]["id"], KEYS["clients"][1]["id"]
ADMIN_KEY, STRANGER_KEY = KEYS["admin"]["id"], KEYS["stranger"]["id"]
SECRETS = {k["id"]: k["secret"] for k in [*KEYS["clients"], KEYS["admin"], KEYS["stranger"]]}
SUBJECT = KEYS["clients"][0]["subject"]
WEBHOOK_SECRETS: dict[str, str] = KEYS["webhook_secrets"]  # preset -> its demo signing secret


class DemoError(Exception):
    """The demo could not run (a server did not start, a tool is missing)."""
