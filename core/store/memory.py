"""In-memory Store for tests and the demo; forgets everything when the process ends."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from core.store.base import JSON
from core.store.expiry import unwrap, wrap
from core.store.locks import KeyedLocks


class MemoryStore:
    """A dict behind the Store contract; values are JSON round-tripped like a real backend."""

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._data: dict[str, str] = {}
        self._now = now
        self._locks = KeyedLocks()

    async def get(self, key: str) -> JSON:
        raw = self._data.get(key)
        if raw is None:
            return None
        alive, value = unwrap(json.loads(raw), now=self._now)
        return value if alive else None

    async def set(self, key: str, value: JSON, *, ttl: float | None = None) -> None:
        self._data[key] = json.dumps(wrap(value, ttl=ttl, now=self._now))

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def add_if_absent(self, key: str, value: JSON, *, ttl: float | None = None) -> bool:
        # No await between the check and the write: atomic on the event loop.
        raw = self._data.get(key)
        if raw is not None and unwrap(json.loads(raw), now=self._now)[0]:
            return False
        self._data[key] = json.dumps(wrap(value, ttl=ttl, now=self._now))
        return True

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        for key in [k for k in self._data if k.startswith(prefix)]:
            raw = self._data.get(key)
            if raw is None:
                continue
            alive, value = unwrap(json.loads(raw), now=self._now)
            if alive:
                yield key, value

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, ttl=ttl)

    async def purge_expired(self) -> int:
        expired = [
            k for k, raw in self._data.items() if not unwrap(json.loads(raw), now=self._now)[0]
        ]
        for key in expired:
            del self._data[key]
        return len(expired)

    async def close(self) -> None:
        return None
