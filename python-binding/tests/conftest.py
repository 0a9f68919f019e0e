"""Shared fixtures: the repository's shared vectors and error codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
ERROR_CODES_JSON = REPO / "tests" / "error_codes.json"
APPS = Path(__file__).resolve().parent / "apps"
sys.path.insert(0, str(APPS))  # the test servers' modules (`common`, the apps)

SECRET = b"0123456789abcdef0123456789abcdef"  # test-only key material
OTHER_SECRET = b"fedcba9876543210fedcba9876543210"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def error_codes() -> list[dict[str, Any]]:
    return load_json(ERROR_CODES_JSON)["codes"]
