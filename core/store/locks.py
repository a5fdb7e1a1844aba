"""Process-local keyed locks with a holder timeout, for backends that live in one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it.

    ``ttl`` bounds how long a waiter waits for a stuck holder; after that it takes the lock
    anyway, as a shared backend would after the holder's lease expired.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str, *, ttl: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        acquired = False
        try:
            try:
                await asyncio.wait_for(lock.acquire(), timeout=ttl)
                acquired = True
            except TimeoutError:
                acquired = False
            yield
        finally:
            if acquired:
                lock.release()
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._locks.pop(key, None)
