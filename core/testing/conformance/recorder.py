"""An event sink that records what an adapter delivers, for the conformance checks to await."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from knowrithm_bots.core.events import Author, Inbound, Reaction


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A notice an adapter asked the sink to post."""

    thread: str
    text: str
    reply_to: str | None


class EventRecorder:
    """Implements ``core.adapter.EventSink``: keeps every event, in order, and lets tests wait.

    It returns at once, like the bridge, so an adapter that awaits the sink from a platform
    callback is never slowed down by the test.
    """

    def __init__(self) -> None:
        self.messages: list[Inbound] = []
        self.reactions: list[Reaction] = []
        self.notices: list[Notice] = []
        self.stops: list[tuple[str, Author, str | None]] = []
        self._changed = asyncio.Condition()

    async def on_message(self, event: Inbound) -> None:
        self.messages.append(event)
        await self._notify()

    async def on_reaction(self, event: Reaction) -> None:
        self.reactions.append(event)
        await self._notify()

    async def on_notice(self, *, thread: str, text: str, reply_to: str | None = None) -> None:
        self.notices.append(Notice(thread=thread, text=text, reply_to=reply_to))
        await self._notify()

    async def on_stop(self, *, thread: str, by: Author, message_id: str | None = None) -> bool:
        self.stops.append((thread, by, message_id))
        await self._notify()
        return False  # nothing is ever being written here

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def message_with(self, text: str, *, within: float) -> Inbound:
        """The first recorded message whose text is ``text``, waiting up to ``within`` seconds."""

        def found() -> Inbound | None:
            return next((m for m in self.messages if m.text == text), None)

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        event = found()
        assert event is not None
        return event

    async def reaction_number(self, count: int, *, within: float) -> Reaction:
        """The ``count``-th recorded reaction (1-based), waiting up to ``within`` seconds."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.reactions) >= count)
        return self.reactions[count - 1]
