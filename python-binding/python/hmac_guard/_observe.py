"""Delivers the core's events: to the ``on_event`` hook, and as log records. The core decides what
is an event, its level and whether it is logged (``event["log"]``: the level threshold and the rate
limit); this module only calls the hook and the logger.

The native guard builds one dispatcher with :func:`dispatcher` and calls it with each event's
JSON, on the thread that reached the verdict, with the GIL held.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional, TypedDict, Union, cast

__all__ = ["GuardEvent", "dispatcher"]


class GuardEvent(TypedDict):
    """One event (docs/observability.md): a verdict, a replay store state change or a fail-open use."""

    type: str
    outcome: str
    code: Optional[str]
    status: Optional[int]
    scheme: Optional[str]
    key_id: Optional[str]
    duration_ms: Optional[float]
    store: str
    reason: Optional[str]
    level: str
    log: bool
    suppressed: int
    message: str


Hook = Callable[[GuardEvent], object]
Logger = Union[logging.Logger, "logging.LoggerAdapter[Any]"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}
# The event fields a log record carries as ``extra`` (``hmac_<name>``).
_FIELDS = (
    "type",
    "outcome",
    "code",
    "status",
    "scheme",
    "key_id",
    "duration_ms",
    "store",
    "reason",
    "suppressed",
)
_HOOK_FAILED = "hmac-guard: the on_event hook raised (reported once; later failures are not logged)"


def dispatcher(hook: Hook | None, logger: Any, choice: str) -> Callable[[str], None]:
    """The function the native guard calls with each event's JSON. ``choice`` is the core's
    reading of the ``logger`` option: ``default`` (the ``hmac_guard`` logger), ``off`` or
    ``custom`` (``logger`` itself)."""
    target: Logger | None = {"default": logging.getLogger("hmac_guard"), "off": None}.get(choice, logger)
    failed = False

    def dispatch(text: str) -> None:
        nonlocal failed
        fields: dict[str, Any] = json.loads(text)
        # Taken before the hook runs: it may change the dict it gets.
        logged = fields["log"] and target is not None
        level, message = _LEVELS[fields["level"]], fields["message"]
        extra = {f"hmac_{name}": fields[name] for name in _FIELDS} if logged else None
        if hook is not None:
            try:
                hook(cast(GuardEvent, fields))
            except Exception:
                # A broken hook never breaks a request; it is reported once: logged, or with
                # logging off written as unraisable by the native caller.
                if not failed:
                    failed = True
                    if target is None:
                        raise
                    target.error(_HOOK_FAILED, exc_info=True)
        if target is not None and extra is not None:
            target.log(level, message, extra=extra)

    return dispatch
