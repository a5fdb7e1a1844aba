"""In-memory Store for tests and the demo; forgets everything when the process ends."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from knowrithm_bots.core.store.base import JSON
from knowrithm_bots.core.store.expiry import (
    State,
    parse,
    quarantine_keys,
    unwrap,
    warn_moved,
    warn_unreadable,
    wrap,
)
from knowrithm_bots.core.store.locks import KeyedLocks


def _kind(key: str) -> str:
    """The key's first segment with its colon (``thread:``); empty for a key without one."""
    head, colon, _ = key.partition(":")
    return head + colon if colon else ""


class MemoryStore:
    """A dict behind the Store contract; values are JSON round-tripped like a real backend.

    No method awaits between reading and writing ``_data``, so each is atomic on the loop.
    """

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._data: dict[str, str] = {}
        # The keys of each kind (``thread:``, ``msg:`` ...) in the order of ``_data``, so a
        # scan of one kind does not walk the others: the idle sweep's cost stays with the
        # threads, however many message links and event marks pile up.
        self._kinds: dict[str, dict[str, None]] = {}
        self._now = now
        self._locks = KeyedLocks()

    def _put(self, key: str, raw: str) -> None:
        self._data[key] = raw
        self._kinds.setdefault(_kind(key), {})[key] = None

    def _pop(self, key: str) -> str | None:
        raw = self._data.pop(key, None)
        kind = _kind(key)
        keys = self._kinds.get(kind)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._kinds[kind]
        return raw

    def _read(self, key: str) -> tuple[State, JSON]:
        raw = self._data.get(key)
        return unwrap(None if raw is None else parse(raw), now=self._now)

    def _move(self, key: str) -> str:
        target = next(k for k in quarantine_keys(key) if k not in self._data)
        raw = self._pop(key)
        assert raw is not None
        self._put(target, raw)
        return target

    def _keep_unreadable(self, key: str) -> None:
        if self._read(key)[0] == "unreadable":
            warn_moved(key, target=self._move(key))

    async def get(self, key: str) -> JSON:
        state, value = self._read(key)
        if state == "unreadable":
            warn_unreadable(key)
        return value

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        raw = json.dumps(wrap(value, ttl=ttl, now=self._now))
        self._keep_unreadable(key)
        self._put(key, raw)

    async def delete(self, key: str) -> None:
        self._keep_unreadable(key)
        self._pop(key)

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        raw = json.dumps(wrap(value, ttl=ttl, now=self._now))
        if self._read(key)[0] == "live":
            return False
        self._keep_unreadable(key)
        self._put(key, raw)
        return True

    async def quarantine(self, key: str) -> str | None:
        if self._read(key)[0] in ("absent", "expired"):
            return None
        return self._move(key)

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        kind = _kind(prefix)
        # A prefix that ends within the first segment ("thr", ""): every key may match.
        candidates = list(self._kinds.get(kind, ())) if kind else list(self._data)
        for key in [k for k in candidates if k.startswith(prefix)]:
            state, value = self._read(key)
            if state == "live":
                yield key, value

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, ttl=ttl)

    async def purge_expired(self) -> int:
        expired = [k for k in self._data if self._read(k)[0] == "expired"]
        for key in expired:
            self._pop(key)
        return len(expired)

    async def close(self) -> None:
        return None
