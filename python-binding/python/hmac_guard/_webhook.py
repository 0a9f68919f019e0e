"""What the webhook receivers share: the delivery a handler gets, the guard a preset builds, and
the settling of the replay reservation.

The core decides everything (the preset's rules, which options are allowed, the dedupe key, each
refusal's status, body, ``Retry-After`` and ``Connection: close``); this module only carries its
answers: ``Guard(scheme=preset, **options)`` builds the guard through the same options path as
:class:`~hmac_guard.Guard`, and :meth:`Guard.refusal` answers every refusal.

A verified delivery comes with a two-phase reservation: it is committed when the handler answered
2xx (a later copy is then answered 200 without running the handler) and released when the handler
answered anything else, raised, or the client went away (so the provider's retry runs). A 2xx is
committed just before the last piece of the response goes to the server: once the provider has
its answer, a copy is a duplicate; a write that fails before that (a client gone) releases.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, cast

from ._errors import HmacGuardError
from ._native import Guard, ReplayTicket, Verified, webhook_handled

__all__ = ["WebhookDelivery", "delivery_of", "succeeded", "webhook_guard"]


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified webhook delivery, as a handler gets it."""

    #: The preset's name (``"stripe"``).
    provider: str
    #: The provider's delivery or event id (signed for Standard Webhooks, Stripe and Slack; the
    #: informational header for GitHub and Shopify), or ``None``.
    id: str | None
    #: The event type, or ``None``.
    type: str | None
    #: The body parsed as JSON when the core found a JSON document, else ``None``.
    payload: Any
    #: The exact body bytes that were verified.
    body: bytes = field(repr=False)
    #: Which configured secret verified it: ``secret-0``, ``secret-1`` (during a rotation), ...
    secret_id: str
    #: What the delivery is deduplicated under: ``signed-id``, ``body-id`` or ``signature``.
    dedupe: str
    #: The full verification result.
    verified: Verified = field(repr=False, compare=False)


def webhook_guard(preset: str | None, guard: Guard | None, options: dict[str, Any]) -> Guard:
    """The guard of a receiver: ``guard`` as given, else ``Guard(scheme=preset, **options)`` (the
    core checks the preset's name and every option)."""
    if guard is not None:
        if preset is not None or options:
            raise TypeError("give a preset and its options, or guard=, not both")
        guard.webhook_preset()  # the core refuses a guard of signed requests (ConfigError)
        return guard
    return Guard(scheme=cast(Any, preset), **options)


def delivery_of(verified: Verified, body: bytes) -> WebhookDelivery:
    """The handler's view of a verified delivery (``payload`` parsed when the core says JSON)."""
    hook = verified.webhook
    if hook is None:
        raise TypeError("the guard is not a webhook preset's (Guard(scheme='stripe', secrets=[...]))")
    payload: Any = None
    if hook.json:
        try:
            payload = json.loads(body)
        except ValueError:  # a document the core's parser took and Python's does not
            payload = None
    return WebhookDelivery(
        provider=hook.provider,
        id=hook.id,
        type=hook.type,
        payload=payload,
        body=body,
        secret_id=verified.key_id,
        dedupe=hook.dedupe,
        verified=verified,
    )


def succeeded(status: int) -> bool:
    """Whether a handler's answer commits the delivery (the core's ``webhook::handled``)."""
    return webhook_handled(status)


def settle(ticket: ReplayTicket | None, commit: bool) -> None:
    """Commits or releases the reservation (blocking: WSGI).

    A store that cannot answer does not change the handler's answer: the core counts and reports
    the failure, and an unreleased or uncommitted reservation lapses after its hold (as in every
    package)."""
    if ticket is None:
        return
    try:
        if commit:
            ticket.commit()
        else:
            ticket.release()
    except HmacGuardError:
        pass


async def settle_async(guard: Guard, ticket: ReplayTicket | None, commit: bool) -> None:
    """Commits or releases the reservation without blocking the event loop (Redis: awaited on the
    store's async client; memory: at once)."""
    if ticket is None:
        return
    if guard.store == "memory":
        settle(ticket, commit)
        return
    try:
        if commit:
            await ticket.commit_async()
        else:
            await ticket.release_async()
    except HmacGuardError:
        pass  # as in settle(): the answer stands, the core reports the store's failure


class Once:
    """Settles a reservation once: the first ``commit``/``release`` wins, later ones do nothing."""

    __slots__ = ("_ticket",)

    def __init__(self, ticket: ReplayTicket | None) -> None:
        self._ticket = ticket

    def __call__(self, commit: bool) -> None:
        ticket, self._ticket = self._ticket, None
        settle(ticket, commit)


def committing_last(chunks: Iterable[Any], once: Once, commit: Callable[[], bool]) -> Iterator[Any]:
    """``chunks`` passed through; the reservation settled (``commit()`` says how) just before the
    last chunk is handed over, and released if the server stops early or a write fails."""
    held: list[Any] = []
    try:
        for chunk in chunks:
            if held:
                yield held.pop()
            held.append(chunk)
    except BaseException:
        once(False)
        raise
    once(commit())
    yield from held
