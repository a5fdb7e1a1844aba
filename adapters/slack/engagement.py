"""The channel threads the bot takes part in: kept in the bot's store, read through memory."""

from __future__ import annotations

import logging

from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import Store

log = logging.getLogger(__name__)

PREFIX = "engaged:"
DAY = 86_400.0


def _place(thread: str) -> str:
    """The Slack thread a key names, without the user part of one person's conversation:
    the bot takes part in the thread, whoever it talked with there."""
    try:
        return ThreadKey.decode(thread).shared.encode()
    except ValueError:
        return thread


class Engagement:
    """Which channel threads the bot was mentioned in or answered, so that it answers their
    later replies without a new mention.

    Memory answers first; a thread unknown there is looked up in the store (when the runner
    gave one), where every instance of the bot records the threads it joins: a reply that
    lands on another instance than the mention did is answered all the same. Records expire
    after ``days`` without a new mention. A store that fails is logged and the answer is what
    memory knows: the reply goes unanswered, as it would have before the store was shared.
    Every method takes a thread key, per person or not, and keeps the thread itself.
    """

    def __init__(self, *, size: int, days: float) -> None:
        self._memory: Lru[str, bool] = Lru(size=size)
        self._ttl = days * DAY
        self._store: Store | None = None

    def use_store(self, store: Store) -> None:
        self._store = store

    def note(self, thread: str) -> None:
        """Remember ``thread`` in this process at once (the store is written by ``record``)."""
        self._memory.put(_place(thread), value=True)

    def known_here(self, thread: str) -> bool:
        return self._memory.get(_place(thread)) is not None

    def forget(self, thread: str) -> None:
        self._memory.pop(_place(thread))

    async def record(self, thread: str) -> None:
        """Remember ``thread`` here and, for the other instances and the next run, in the store."""
        thread = _place(thread)
        self.note(thread)
        if self._store is None:
            return
        try:
            await self._store.set(PREFIX + thread, value=True, ttl=self._ttl)
        except StoreError as exc:
            log.warning("could not record that the bot takes part in %s: %s", thread, exc)

    async def knows(self, thread: str) -> bool:
        """Whether the bot takes part in ``thread``, by this process's memory or the store."""
        thread = _place(thread)
        if self.known_here(thread):
            return True
        if self._store is None:
            return False
        try:
            found = await self._store.get(PREFIX + thread)
        except StoreError as exc:
            log.warning("could not read whether the bot takes part in %s: %s", thread, exc)
            return False
        if found is None:
            return False
        self.note(thread)
        return True
