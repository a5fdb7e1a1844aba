"""Remembers which Knowrithm message each platform message shows, so reactions can rate it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowrithm_bots.core.store import Store


@dataclass(frozen=True, kw_only=True)
class Link:
    conversation_id: str
    message_id: str
    thread: str


def _key(adapter: str, platform_message_id: str) -> str:
    return f"msg:{adapter}:{platform_message_id}"


async def link_messages(
    *,
    store: Store,
    adapter: str,
    platform_message_ids: Sequence[str],
    link: Link,
) -> None:
    """Record that every message in ``platform_message_ids`` shows ``link.message_id``."""
    for platform_id in platform_message_ids:
        await store.set(
            _key(adapter, platform_id),
            value={
                "conversation_id": link.conversation_id,
                "message_id": link.message_id,
                "thread": link.thread,
            },
        )


async def find_link(*, store: Store, adapter: str, platform_message_id: str) -> Link | None:
    value = await store.get(_key(adapter, platform_message_id))
    if not isinstance(value, dict):
        return None
    conversation_id, message_id, thread = (
        value.get("conversation_id"),
        value.get("message_id"),
        value.get("thread"),
    )
    if not (
        isinstance(conversation_id, str) and isinstance(message_id, str) and isinstance(thread, str)
    ):
        return None
    return Link(conversation_id=conversation_id, message_id=message_id, thread=thread)
