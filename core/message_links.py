"""Remembers which Knowrithm message each platform message shows, so reactions can rate it,
for a limited time, so that the store does not grow with the bot's age."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from knowrithm_bots.core.store import Store

DAY = 86400.0
DEFAULT_LINK_DAYS = 30.0


@dataclass(frozen=True, kw_only=True)
class Link:
    conversation_id: str
    message_id: str
    thread: str


@dataclass(frozen=True, kw_only=True)
class ExpiredLink:
    """A platform message that showed an answer now too old to rate, and its thread."""

    thread: str


def _key(adapter: str, platform_message_id: str) -> str:
    return f"msg:{adapter}:{platform_message_id}"


async def link_messages(
    *,
    store: Store,
    adapter: str,
    platform_message_ids: Sequence[str],
    link: Link,
    days: float = DEFAULT_LINK_DAYS,
    now: float | None = None,
) -> None:
    """Record that every message in ``platform_message_ids`` shows ``link.message_id``, which
    can be rated for ``days`` from ``now`` (wall-clock seconds; default: the system's).

    The record is kept for as long again, so that a reaction in that time is told the answer
    is too old rather than ignored; then the store lets it go.
    """
    lifetime = days * DAY
    until = (time.time() if now is None else now) + lifetime
    for platform_id in platform_message_ids:
        await store.set(
            _key(adapter, platform_id),
            value={
                "conversation_id": link.conversation_id,
                "message_id": link.message_id,
                "thread": link.thread,
                "until": until,
            },
            ttl=2 * lifetime,
        )


async def look_up_link(
    *, store: Store, adapter: str, platform_message_id: str, now: float | None = None
) -> Link | ExpiredLink | None:
    """The answer a platform message shows: a ``Link`` while it can be rated, an
    ``ExpiredLink`` once it is too old, None for a message that shows no answer (or whose
    record is gone too)."""
    value = await store.get(_key(adapter, platform_message_id))
    if not isinstance(value, dict):
        return None
    conversation_id, message_id, thread, until = (
        value.get("conversation_id"),
        value.get("message_id"),
        value.get("thread"),
        value.get("until"),
    )
    if not (
        isinstance(conversation_id, str) and isinstance(message_id, str) and isinstance(thread, str)
    ):
        return None
    # Links stored before they had a lifetime have no "until": they stay rateable.
    deadline = until if isinstance(until, int | float) and not isinstance(until, bool) else None
    if deadline is not None and (time.time() if now is None else now) >= deadline:
        return ExpiredLink(thread=thread)
    return Link(conversation_id=conversation_id, message_id=message_id, thread=thread)


async def find_link(
    *, store: Store, adapter: str, platform_message_id: str, now: float | None = None
) -> Link | None:
    """The answer a platform message shows while it can be rated, else None."""
    found = await look_up_link(
        store=store, adapter=adapter, platform_message_id=platform_message_id, now=now
    )
    return found if isinstance(found, Link) else None


def too_old_to_rate(*, days: float) -> str:
    """The sentence for a reaction on an answer older than the rating window."""
    unit = "day" if days == 1 else "days"
    return f"That answer is too old to rate: answers can be rated for {days:g} {unit}."
