#!/usr/bin/env python3
"""The root README's quick starts are copies: each ```js / ```python / ```rust,no_run block must be,
byte for byte, a block of node-binding/, python-binding/, actix/ or axum/README.md, whose tests run
them against real servers. Also checks that every relative link in the README points at a file that exists.

    python3 scripts/check_readme.py      # exit 1 naming each stale block or dead link
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SOURCES = [ROOT / d / "README.md" for d in ("node-binding", "python-binding", "actix", "axum")]
# Quick starts: JS, Python, and the Rust adapters' (`rust,no_run`: compiled by the doc tests).
BLOCK = re.compile(r"```(js|python|rust,no_run)\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")

text = README.read_text(encoding="utf-8")
tested = {body for src in SOURCES for _, body in BLOCK.findall(src.read_text(encoding="utf-8"))}
problems = []
blocks = BLOCK.findall(text)
for lang, body in blocks:
    if body not in tested:
        first = body.splitlines()[0] if body.strip() else "(empty)"
        problems.append(f"{lang} block starting {first!r} is not a copy of a block in the package READMEs")
for target in LINK.findall(text):
    if not (ROOT / target).exists():
        problems.append(f"dead link: {target}")
for p in problems:
    print(f"README.md: {p}", file=sys.stderr)
print(f"README.md: {len(blocks)} code blocks are copies of tested ones, {len(LINK.findall(text))} links checked")
sys.exit(1 if problems or not blocks else 0)
