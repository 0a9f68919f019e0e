"""Verdicts: what a row expects (status, ERR_ code, a check of a success document), what a
server answered in one cell of the table, and whether the two agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from http_client import Answer
from shared import SUBJECT


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


def judge(expect: Expect, answer: Answer) -> str | None:
    if answer.status is None:
        return answer.error or "no answer"
    if answer.status != expect.status or answer.code != expect.code:
        return f"expected {expect}"
    if expect.check is not None:
        return expect.check(answer.doc)
    return None


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
