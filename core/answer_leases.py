"""Which of several instances writes an answer: a lease in the shared store, kept renewed."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import Store

log = logging.getLogger(__name__)

PREFIX = "answering:"
# Long enough that a busy instance renews in time; short enough that the answers of an
# instance that died are taken over by another one within about this long.
DEFAULT_TTL = 15.0


class AnswerLeases:
    """Leases on answers, so that instances sharing one store never write the same answer.

    An event redelivered to a second instance while the first writes its answer reads as
    pending there, exactly like an answer that a crashed run left. So whoever answers takes
    the event's lease first (``take``: a record holding this instance's token, expiring after
    ``ttl``) and keeps it renewed while it writes (``keep``); an instance that cannot take it
    leaves the event to the writer. A writer that dies stops renewing, and its lease runs out
    within ``ttl``: another instance may then finish the answer.

    With ``ttl`` None (a store no other process uses) every ``take`` succeeds at once and
    nothing is written: a restarted bot finishes what its last run left without waiting.
    """

    def __init__(self, *, store: Store, ttl: float | None = None) -> None:
        self._store = store
        self.ttl = ttl
        self._token = uuid.uuid4().hex
        # Renewed are only the leases this instance took: a key it is still asking about
        # may be another instance's lease, which a renewal would steal.
        self._held: set[str] = set()

    async def take(self, key: str) -> bool:
        """Take the lease on ``key`` (an answer's record key); False while another holds it.

        Raises ``StoreError`` when the store fails.
        """
        if self.ttl is None:
            return True
        if await self._store.add_if_absent(PREFIX + key, value=self._token, ttl=self.ttl):
            self._held.add(key)
            return True
        return key in self._held and await self._store.get(PREFIX + key) == self._token

    async def keep(self, keys: Callable[[], Collection[str]]) -> None:
        """Renew, every third of ``ttl``, the leases this instance took on the answers
        ``keys()`` names (the ones it is writing), until cancelled; the others it took are
        let go (they run out). A failing store is logged and retried."""
        if self.ttl is None:
            await asyncio.Event().wait()
            return
        while True:
            await asyncio.sleep(self.ttl / 3)
            self._held &= set(keys())
            for key in list(self._held):
                try:
                    await self._store.set(PREFIX + key, value=self._token, ttl=self.ttl)
                except StoreError as exc:
                    log.warning("could not renew the lease on the answer %s: %s", key, exc)
