"""The Store contract every backend satisfies, checked by one shared contract test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeAlias, runtime_checkable

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None


@runtime_checkable
class Store(Protocol):
    """Async key-value store of JSON values with optional expiry.

    Keys are strings whose first segment names their kind (``thread:``, ``msg:``, ``lead:``,
    ``event:``). Values must be JSON-encodable; backends store JSON, never pickles.
    ``ttl`` is in seconds; an expired key behaves exactly like an absent one.
    ``add_if_absent`` and ``lock`` must be atomic in the backend itself (not read-then-write
    in the caller), so that a shared backend such as Redis can serve several processes.
    Methods raise ``core.errors.StoreError`` when the backend fails; a failed write leaves
    the previous value in place.

    A record the backend cannot read (another program's or version's: a pickle, JSON it did
    not wrap) reads as absent, with a warning naming the key, and is never destroyed: ``set``,
    ``add_if_absent`` and ``delete`` first move it, in the same atomic step, to an unused
    ``quarantine:<key>`` key (``quarantine:<key>#2`` and so on), with a warning. ``scan`` skips
    such records and ``purge_expired`` keeps them.
    """

    async def get(self, key: str) -> JSON:
        """The value under ``key``, or None."""
        ...

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are fine."""
        ...

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent (or expired); True when it was stored."""
        ...

    def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        """Every live (key, value) whose key starts with ``prefix``, in no particular order."""
        ...

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        """Hold an exclusive lock on ``key``; a holder that dies frees it after ``ttl``."""
        ...

    async def quarantine(self, key: str) -> str | None:
        """Move the record under ``key`` (readable or not) to an unused ``quarantine:`` key,
        atomically and as stored; the new key, or None when ``key`` was absent or expired.

        For callers that find a value they cannot use, so that writing anew loses nothing.
        """
        ...

    async def purge_expired(self) -> int:
        """Delete expired keys for good (backends with native expiry may do nothing); the count."""
        ...

    async def close(self) -> None:
        """Flush and release resources; idempotent."""
        ...
